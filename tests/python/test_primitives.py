"""The Primitives section's figures from synthetic Google Benchmark rows with
known answers: SPSC vs FIFO ratio, spinlock vs std::mutex per thread count,
and whether the spawn ladder is monotone."""
import json
import re

from parbench.report.claims import say
from support import run_cli


def _row(name, counter, value, repetition):
    return {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 3,
            "repetition_index": repetition, "threads": 1, "iterations": 10, "real_time": 1.0,
            "cpu_time": 1.0, "time_unit": "ms", counter: value, "verified": 1.0}


def _write(tmp_path, spawn):
    rows = []
    table = [("queue/spsc/throughput/producers:1/consumers:1/real_time", "ns_per_item", 4.0),
             ("queue/fifo/throughput/producers:1/consumers:1/real_time", "ns_per_item", 50.0),
             ("sync/atomic_increment_baseline/nthreads:1/real_time", "ns_per_op", 4.0),
             ("sync/mutex/std/nthreads:1/real_time", "ns_per_op", 10.0),
             ("sync/mutex/spinlock/nthreads:1/real_time", "ns_per_op", 5.0),
             ("sync/mutex/std/nthreads:4/real_time", "ns_per_op", 30.0),
             ("sync/mutex/spinlock/nthreads:4/real_time", "ns_per_op", 300.0),
             ("timer/sleep/timerfd/us:100/iterations:1/real_time", "median_late_us", 40.0)]
    table += [(f"spawn/{name}/real_time", "ns_per_spawn", value) for name, value in spawn.items()]
    for name, counter, value in table:
        rows += [_row(name, counter, value * (1 + 0.01 * k), k) for k in range(3)]
    for row in rows:
        if row["name"].startswith("timer/"):
            row.update(p99_late_us=60.0, max_late_us=90.0)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "primitives.json").write_text(json.dumps({"context": {"num_cpus": 2}, "benchmarks": rows}))


def test_primitive_figures_charts_and_report(tmp_path):
    _write(tmp_path, {"coroutine": 12, "pool_task": 900, "thread": 30000, "fork": 180000})
    assert run_cli("analyze", tmp_path).returncode == 0
    analysis = json.loads((tmp_path / "analysis.json").read_text())
    claims = [c for c in analysis["claims"] if c["section"] == "primitives"]
    findings = " | ".join(say(c) for c in claims)
    assert "SPSC ring 12.5x faster than mutex + deque [" in findings  # 50 / 4, 3 digits: a narrow interval
    spin = {c["context"]: c for c in claims if c["topic"] == "spinlock"}
    assert spin["per lock, 1 thread"]["outcome"] == "faster"
    assert re.search(r"own spinlock 2\.0+x faster than std::mutex \[", findings)
    assert spin["per lock, 4 threads (oversubscribed)"]["outcome"] == "slower"
    assert re.search(r"own spinlock 10(\.0*)?x slower than std::mutex \[", findings), findings
    order = next(c for c in claims if c["kind"] == "order")
    assert order["outcome"] == "holds" and order["subjects"] == ["coroutine", "pool task", "thread", "fork"]
    assert findings.count("[") >= 6  # every ratio with its interval
    baselines = [r for r in analysis["primitive_tables"]["sync"] if r["baseline"]]
    assert [r["family"] for r in baselines] == ["sync/atomic_increment_baseline"]
    assert run_cli("plot", tmp_path).returncode == 0
    for prefix in ("sync", "queue", "spawn", "timer"):
        assert (tmp_path / "plots" / f"primitives_{prefix}.png").exists()
    assert run_cli("report", tmp_path).returncode == 0
    report = (tmp_path / "report.md").read_text()
    assert "## Primitives" in report and "plots/primitives_spawn.png" in report


def test_spawn_ladder_inversion_is_named(tmp_path):
    _write(tmp_path, {"coroutine": 12, "pool_task": 50000, "thread": 30000, "fork": 180000})
    assert run_cli("analyze", tmp_path).returncode == 0
    claims = json.loads((tmp_path / "analysis.json").read_text())["claims"]
    order = next(c for c in claims if c["kind"] == "order")
    assert order["outcome"] == "does not hold"
    assert "pool task 1.67x slower than thread [" in say(order)


def test_idle_cost_is_a_share_of_a_core_not_an_overhead_in_ns(tmp_path):
    rows = []
    for name, share in (("overhead/idle/pool/p:2/iterations:3/real_time", 0.002),
                        ("overhead/idle/openmp/wait:default/p:2/iterations:3/real_time", 0.40)):
        rows += [_row(name, "idle_cpu_share", share * (1 + 0.01 * k), k) for k in range(3)]
    rows += [_row("overhead/parallel_for/pool/p:2/real_time", "ns_per_region", 200.0 + k, k) for k in range(3)]
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "overhead.json").write_text(json.dumps({"context": {"num_cpus": 2}, "benchmarks": rows}))
    assert run_cli("analyze", tmp_path).returncode == 0
    analysis = json.loads((tmp_path / "analysis.json").read_text())
    idle = {(r["model"], r["p"]): r for r in analysis["idle"]}
    assert abs(idle[("pool", 2)]["cpu_share"] - 0.00202) < 1e-6
    assert abs(idle[("openmp wait:default", 2)]["cpu_share"] - 0.404) < 1e-6
    # The overhead table keeps nanosecond figures only.
    assert [o["kind"] for o in analysis["overhead"]] == ["parallel_for"]
    assert (tmp_path / "idle.csv").read_text().splitlines()[0].startswith("model,wait,p,cpu_share")
