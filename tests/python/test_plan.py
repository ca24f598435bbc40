"""The sweep's plan from recorded topologies: worker counts at the machine's boundaries, affinity
policies where placements differ, the size rule, a budget's thinning, and `sweep --plan`."""
import re
import shutil
import subprocess

import pytest

from parbench.config import SweepConfig
from parbench.runner import plan
from parbench.topology import read_topology
from sysfs_trees import SHAPES, write_tree
from support import assert_one_line, run_cli


def needs_mpi_build(binary):
    """The default config names the mpi model and family: a build without Open MPI (the asan
    preset's) cannot plan it."""
    listed = subprocess.run([str(binary), "list", "--models=all"], capture_output=True, text=True).stdout
    if "mpi " not in listed or shutil.which("mpirun") is None:
        pytest.skip("the default config needs a binary built with Open MPI")


def topology_of(tmp_path, shape):
    folder = tmp_path / shape
    return read_topology(folder if folder.exists() else write_tree(folder, **SHAPES[shape]))


@pytest.mark.parametrize("shape, workers, policies", [
    ("1x8", [1, 2, 4, 8, 16], ["none"]),
    ("1x16-smt2", [1, 2, 4, 8, 16, 32, 64], ["none", "compact"]),
    ("2x32-smt2-2numa", [1, 2, 4, 8, 16, 32, 64, 128, 256], ["none", "compact", "spread"]),
    ("hybrid-8p16e", [1, 2, 4, 8, 16, 24, 32, 64], ["none", "compact"]),
    ("container-6-of-64", [1, 2, 4, 6, 12], ["none"]),
    ("container-quota-4", [1, 2, 4, 8], ["none", "compact"]),
])
def test_worker_counts_and_policies_follow_the_topology(tmp_path, shape, workers, policies):
    topology = topology_of(tmp_path, shape)
    roles = plan.auto_workers(topology, 256)
    assert list(roles) == workers
    assert plan.affinity_policies(topology)[0] == policies
    assert max(roles) <= 2 * topology.usable_cpus  # within the CPUs the process may use


@pytest.mark.parametrize("shape, policies", [
    ("1x8", ["first_touch"]), ("1x16-smt2", ["first_touch"]), ("2x32-smt2-2numa", ["first_touch", "interleave"]),
    ("container-6-of-64", ["first_touch"]),
])
def test_interleave_is_planned_across_numa_nodes_only(tmp_path, shape, policies):
    topology = topology_of(tmp_path, shape)
    assert plan.numa_policies(topology)[0] == policies
    config, _, notes = plan.resolved(SweepConfig(), topology)
    assert plan.planned_numa(config) == policies and config.auto_numa == policies
    assert ("interleave left out" in " ".join(notes)) == (policies == ["first_touch"])


def test_roles_name_the_boundaries(tmp_path):
    roles = plan.auto_workers(topology_of(tmp_path, "2x32-smt2-2numa"), 256)
    assert roles[32] == "socket and NUMA boundary"
    assert (roles[64], roles[128], roles[256]) == ("physical cores", "hardware threads", "oversubscribed")
    assert plan.auto_workers(topology_of(tmp_path, "hybrid-8p16e"), 256)[8] == "performance cores"
    capped = plan.auto_workers(topology_of(tmp_path, "2x32-smt2-2numa"), 160)
    assert max(capped) == 160 and capped[160] == "oversubscribed"
    assert max(plan.auto_workers(topology_of(tmp_path, "1x8"), 8)) == 8  # a cap at the CPUs: no point


def test_size_rule(tmp_path):
    assert plan.size_scale(topology_of(tmp_path, "2x32-smt2-2numa"), 1.0) == 1.0  # 100 ms / 64 >= 1 ms
    assert plan.size_scale(topology_of(tmp_path, "2x32-smt2-2numa"), 4.0) == 2.56  # 64 x 4 ms / 100 ms


def test_resolved_config_is_explicit_and_keeps_the_users_counts(tmp_path):
    topology = topology_of(tmp_path, "container-6-of-64")
    config, roles, _ = plan.resolved(SweepConfig(), topology)
    assert config.workers is None and config.auto_workers == [1, 2, 4, 6, 12]
    assert config.auto_python_workers == [1, 2, 4, 6]  # "cores": up to the usable CPUs
    assert config.affinity == "auto" and config.auto_affinity == ["none"] and config.size_scale == 1.0
    again, _, _ = plan.resolved(config, topology)  # a resumed sweep: the same plan
    assert again.auto_workers == config.auto_workers
    mine, roles, _ = plan.resolved(SweepConfig(workers=[1, 3]), topology)
    assert mine.workers == [1, 3] and set(roles.values()) == {"configured"}


def test_thinning_steps_drop_what_the_budget_may(tmp_path):
    topology = topology_of(tmp_path, "2x32-smt2-2numa")
    config, roles, _ = plan.resolved(SweepConfig(repetitions=9, weak_scaling=True), topology)
    steps = dict(plan.thinning_steps(config, roles))
    assert steps["repetitions 9 -> 5"].repetitions == 5
    between = next(c for what, c in steps.items() if "between boundaries" in what)
    kept = between.auto_workers
    assert {1, 32, 64, 128, 256} <= set(kept) and len(kept) < len(config.auto_workers)
    assert steps["the weak-scaling forms"].weak_scaling is False
    assert 256 not in steps["the oversubscribed point p = 256"].auto_workers


def test_plan_of_the_two_socket_machine_fits_45_minutes(tmp_path, bench_binary):
    needs_mpi_build(bench_binary)
    tree = write_tree(tmp_path / "big", **SHAPES["2x32-smt2-2numa"])
    result = run_cli("sweep", "--plan", "--budget", "45",
                     env={"PARBENCH_BENCH": str(bench_binary), "PARBENCH_SYSFS_ROOT": str(tree)})
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "2 sockets, 64 cores, 128 hardware threads" in text
    workers = re.search(r"^worker counts: (.*)$", text, re.M).group(1)
    assert "64 (physical cores)" in workers and "128 (hardware threads)" in workers
    assert re.search(r"^affinity: none, compact, spread; memory \(NUMA\): first_touch, interleave$", text, re.M)
    minutes = float(re.search(r"^estimated: ([0-9.]+) min", text, re.M).group(1))
    assert 0 < minutes <= 45
    assert "dropped to fit 45 min:" in text


def test_plan_of_this_machine_and_a_budget_too_small(tmp_path, bench_binary):
    needs_mpi_build(bench_binary)
    env = {"PARBENCH_BENCH": str(bench_binary)}
    result = run_cli("sweep", "--plan", env=env)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^estimated: [0-9.]+ min of benchmarks", result.stdout, re.M)
    tiny = run_cli("sweep", "--plan", "--budget", "0.5", env=env)
    assert tiny.returncode == 1 and "does not fit 0.5 min" in tiny.stderr


@pytest.mark.parametrize("args, needle", [
    (["--plan", "--budget", "soon"], "'soon' is not a number of minutes"),
    (["--plan", "--budget", "-3"], "is not a number of minutes"),
    (["--plan", "--out", "x"], "--out: --plan runs nothing"),
])
def test_bad_plan_options_get_one_line(args, needle):
    assert_one_line(run_cli("sweep", *args), needle)


def test_a_sweep_refuses_a_recorded_tree(tmp_path):
    tree = write_tree(tmp_path / "big", **SHAPES["1x8"])
    assert_one_line(run_cli("sweep", "--config", "quick", env={"PARBENCH_SYSFS_ROOT": str(tree)}),
                    "PARBENCH_SYSFS_ROOT describes a recorded machine")
