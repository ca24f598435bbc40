"""NUMA: the binary's --numa=interleave (libnuma) names and records its runs, the memory-bound
workloads write their arrays through their model (first touch by the workers), a sweep with both
policies sets interleaved beside first-touch bandwidth with a test, and the node counts come from
the topology and the policy's CPU order."""
import json

import pytest

from support import assert_one_line, run_bench, run_cli
from parbench.analysis.claims import numa_claims


def test_interleave_names_and_records_its_runs():
    result = run_bench("--workloads=stream_triad", "--models=serial,threads", "--p=1,2", "--size=small",
                       "--numa=interleave", "--benchmark_min_time=0.01", "--benchmark_format=json")
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout)
    names = [b["name"] for b in data["benchmarks"]]
    assert names and all("/numa:interleave/" in name for name in names), names
    assert data["context"]["numa_policy"] == "interleave"
    assert int(data["context"]["numa_interleave_nodes"]) >= 1  # every node this process may use
    plain = json.loads(run_bench("--workloads=stream_triad", "--models=threads", "--p=2", "--size=small",
                                 "--benchmark_min_time=0.01", "--benchmark_format=json").stdout)
    assert plain["context"]["numa_policy"] == "first_touch" and "numa_interleave_nodes" not in plain["context"]
    assert all("numa:" not in b["name"] for b in plain["benchmarks"])


def test_a_bad_policy_is_one_line():
    assert_one_line(run_bench("--workloads=stream_triad", "--numa=local"), "--numa must be first_touch or interleave")


def test_every_model_initialises_and_verifies_the_memory_workloads():
    # The arrays are written through the model now (first touch by its workers): every model's
    # result must still verify, the process and MPI models' included.
    result = run_bench("--workloads=stream_triad,histogram", "--models=all", "--p=2", "--size=small",
                       "--benchmark_min_time=0.01", "--benchmark_format=json")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(result.stdout)["benchmarks"]
    assert rows and all(row.get("verified") == 1 and not row.get("error_occurred") for row in rows)


def _point(model, p, seconds):
    return {"workload": "stream_triad", "model": model, "n": 1000, "p": p, "category": "memory",
            "scaling": "strong", "times_s": seconds}


def test_claims_set_interleaved_beside_first_touch_with_node_counts():
    topology = {"nodes": [{"id": 0, "cpus": [0, 1]}, {"id": 1, "cpus": [2, 3]}], "allowed": [0, 1, 2, 3]}
    placements = {"compact": [0, 1, 2, 3], "spread": [0, 2, 1, 3]}
    slow, fast = [2.0, 2.02, 1.98, 2.01, 2.0], [1.0, 1.01, 0.99, 1.0, 1.02]
    points = [_point("threads@compact", 2, fast), _point("threads@compact+interleave", 2, slow),
              _point("threads@spread", 2, fast), _point("threads@spread+interleave", 2, fast),
              _point("threads", 4, fast), _point("threads@interleave", 4, slow),
              _point("pool@interleave", 4, slow)]  # no first-touch run of pool: nothing to compare
    claims = numa_claims(points, topology, placements, 0.02)
    by_subjects = {tuple(c["subjects"]): c for c in claims}
    assert set(by_subjects) == {("threads@compact", "threads@compact+interleave"),
                                ("threads@spread", "threads@spread+interleave"), ("threads", "threads@interleave")}
    compact = by_subjects[("threads@compact", "threads@compact+interleave")]
    assert compact["outcome"] == "faster" and compact["numa"]["workers_span"] == 1  # both on node 0
    assert by_subjects[("threads@spread", "threads@spread+interleave")]["numa"]["workers_span"] == 2
    assert by_subjects[("threads@spread", "threads@spread+interleave")]["outcome"] == "tie"
    unbound = by_subjects[("threads", "threads@interleave")]["numa"]
    assert unbound["workers_span"] is None and unbound["interleaved_over"] == 2
    assert all("Holm over 3" in c["test"] for c in claims)


@pytest.fixture
def numa_sweep(tmp_path, bench_binary):
    config = tmp_path / "numa.toml"
    config.write_text("""
[sweep]
size = "small"
workloads = ["stream_triad", "primes"]
models = ["serial", "threads", "pool"]
workers = [1, 2]
numa = ["first_touch", "interleave"]
affinity = ["none"]
repetitions = 3
min_time = 0.01
weak_scaling = false
primitives = []
python = ""
""")
    out = tmp_path / "run"
    result = run_cli("sweep", "--config", config, "--out", out, env={"PARBENCH_BENCH": str(bench_binary)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def test_a_sweep_runs_the_memory_families_both_ways(numa_sweep):
    state = json.loads((numa_sweep / "sweep.json").read_text())
    interleaved = sorted(f["family"] for f in state["families"] if f.get("numa") == "interleave")
    # the memory-bound workload's parallel models only: not serial, not the CPU-bound workload
    assert interleaved == ["stream_triad/pool", "stream_triad/threads"]
    analysis = json.loads((numa_sweep / "analysis.json").read_text())
    claims = [c for c in analysis["claims"] if c["topic"] == "numa"]
    compared = sorted((c["subjects"][0], c["numa"]["p"]) for c in claims)
    assert compared == [("pool", 1), ("pool", 2), ("threads", 1), ("threads", 2)]
    assert all(c["interval"][0] <= c["figure"] <= c["interval"][1] for c in claims)
    report = (numa_sweep / "report.md").read_text()
    assert "Page placement: model+interleave" in report and "threads@interleave" in report
