"""Affinity through the binary and the sweep: names carry the policy, every model's workers stay
on the CPUs it binds them to (cpus_used), OpenMP bound by OMP_PLACES, a sweep runs the bound
families as model variants and check judges the placement."""
import json
import os
import shutil
import subprocess

import pytest

from support import assert_one_line, run_bench, run_cli

BOUND_MODELS = ["threads", "pool", "tbb", "openmp", "processes", "process_pool", "coroutines_mt"]


def runs(result):
    assert result.returncode == 0, result.stderr[-2000:]
    return [b for b in json.loads(result.stdout)["benchmarks"] if b.get("run_type") != "aggregate"]


@pytest.mark.parametrize("policy", ["compact", "spread"])
def test_bench_records_where_workers_ran(policy):
    result = run_bench("--workloads=primes", "--models=threads", "--p=1,2", f"--affinity={policy}",
                       "--benchmark_min_time=0.05", "--benchmark_format=json")
    found = runs(result)
    assert len(found) == 2
    for run in found:
        assert f"/affinity:{policy}/" in run["name"]
        assert 1 <= run["cpus_used"] <= run["p"]
        assert run["cpus_bound"] == min(run["p"], len(os.sched_getaffinity(0)))


def test_every_model_keeps_its_workers_on_the_one_cpu_it_is_given():
    # The placement of one CPU (PARBENCH_ALLOWED_CPUS): three workers of every model, OpenMP
    # through OMP_PLACES, may be seen on that CPU only.
    cpu = min(os.sched_getaffinity(0))
    result = run_bench(f"--models={','.join(BOUND_MODELS)}", "--workloads=mandelbrot", "--p=3", "--size=small",
                       "--affinity=compact", "--benchmark_min_time=0.05", "--benchmark_format=json",
                       env={"PARBENCH_ALLOWED_CPUS": str(cpu)})
    found = {run["name"].split("/")[1]: run for run in runs(result)}
    assert sorted(found) == sorted(BOUND_MODELS)
    for model, run in found.items():
        assert (run["cpus_used"], run["cpus_bound"]) == (1, 1), model


def test_unbound_runs_carry_no_policy_and_a_bad_policy_is_refused():
    found = runs(run_bench("--workloads=primes", "--models=pool", "--p=2", "--size=small",
                           "--benchmark_min_time=0.01", "--benchmark_format=json"))
    assert "affinity" not in found[0]["name"] and "cpus_bound" not in found[0] and found[0]["cpus_used"] >= 1
    assert_one_line(run_bench("--workloads=primes", "--affinity=scatter"), "--affinity must be none, compact or spread")


AFFINITY_SWEEP = """
[sweep]
size = "small"
workloads = ["primes", "sleep_io"]
models = ["serial", "threads", "openmp", "py_serial", "py_threads", "py_process_pool", "py_asyncio", "mpi"]
workers = [1, 2]
affinity = ["none", "compact"]
repetitions = 3
min_time = 0.01
weak_scaling = false
primitives = []
python = "/usr/bin/python3"
python_workers = [1, 2]
"""


def test_a_sweep_runs_bound_families_as_model_variants(tmp_path, bench_binary):
    listed = subprocess.run([str(bench_binary), "list", "--models=all"], capture_output=True, text=True).stdout
    with_mpi = "mpi " in listed and shutil.which("mpirun") is not None  # not in the asan preset's build
    config = tmp_path / "affinity.toml"
    config.write_text(AFFINITY_SWEEP if with_mpi else AFFINITY_SWEEP.replace(', "mpi"]', "]"))
    out = tmp_path / "run"
    result = run_cli("sweep", "--config", config, "--out", out, env={"PARBENCH_BENCH": str(bench_binary)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    state = json.loads((out / "sweep.json").read_text())
    bound = sorted((f["family"], f.get("ranks", 0)) for f in state["families"] if f.get("affinity") == "compact")
    # the CPU-bound workload's parallel models of both tracks, MPI's job of 2 ranks; not the baselines, not
    # the I/O workload, not asyncio's one loop
    assert bound == [*([("primes/mpi", 2)] if with_mpi else []), ("primes/openmp", 0), ("primes/py_process_pool", 0),
                     ("primes/py_threads", 0), ("primes/threads", 0)]
    analysis = json.loads((out / "analysis.json").read_text())
    variants = {p["model"]: p for p in analysis["points"] if p["workload"] == "primes" and p["p"] == 2}
    assert {"threads", "threads@compact", "openmp", "openmp@compact"} <= set(variants)
    assert variants["threads@compact"]["cpus_bound"] == 2 and variants["threads@compact"]["cpus_used"] <= 2
    assert "cpus_bound" not in variants["threads"]
    for model in ("py_threads", "py_process_pool"):  # bound in their workers, by the binary's CPU order
        assert variants[f"{model}@compact"]["cpus_bound"] == 2 and variants[f"{model}@compact"]["cpus_used"] <= 2
        assert "cpus_bound" not in variants[model] and variants[f"{model}@compact"].get("speedup")
    run_cli("check", out, "--no-remeasure", env={"PARBENCH_BENCH": str(bench_binary)})
    check = json.loads((out / "check.json").read_text())
    honoured = [row for row in check["rows"] if row["check"] == "affinity honoured"]
    assert honoured and all(row["result"] == "PASS" for row in honoured)
    assert "threads@compact" in (out / "points.csv").read_text()
