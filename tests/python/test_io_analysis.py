"""I/O workloads: throughput, speedup against serial throughput, concurrency
efficiency and 'concurrency reached' from synthetic timings with known answers;
no Amdahl fit for them."""
import json

from support import run_cli


def _entry(name, real_ms, repetition, n, p):
    return {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 3,
            "repetition_index": repetition, "threads": 1, "iterations": 10, "real_time": real_ms,
            "cpu_time": 0.1, "time_unit": "ms", "n": float(n), "p": float(p), "verified": 1.0,
            "requests_per_slot": 1.0}


def _write(tmp_path):
    benchmarks = []
    # serial: one 10 ms request at a time -> 100 requests/s.
    # coroutines: p requests in flight, each round 10 ms -> 100 p requests/s (efficiency 1);
    # threads: the same up to p = 16, then 20 ms per round at p = 64 (efficiency 0.5).
    cases = [("serial", 1, 10.0)] + [("coroutines", p, 10.0) for p in (1, 16, 64)] + \
            [("threads", 1, 10.0), ("threads", 16, 10.0), ("threads", 64, 20.0)]
    for model, p, ms in cases:
        name = f"sleep_io/{model}/n:{p}/p:{p}/process_time/real_time"
        benchmarks += [_entry(name, ms * (1 + 0.001 * k), k, p, p) for k in range(3)]
    data = {"context": {"num_cpus": 2, "category:sleep_io": "io"}, "benchmarks": benchmarks}
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "io.json").write_text(json.dumps(data))


def test_io_throughput_speedup_and_concurrency_reached(tmp_path):
    _write(tmp_path)
    assert run_cli("analyze", tmp_path).returncode == 0
    analysis = json.loads((tmp_path / "analysis.json").read_text())
    points = {(p["model"], p["p"]): p for p in analysis["points"]}
    coroutines = points[("coroutines", 64)]
    assert abs(coroutines["throughput"] - 6400 / 1.001) < 10
    assert abs(coroutines["speedup"] - 64) < 0.2 and abs(coroutines["efficiency"] - 1) < 0.01
    threads = points[("threads", 64)]
    assert abs(threads["speedup"] - 32) < 0.1 and abs(threads["efficiency"] - 0.5) < 0.01
    assert not threads["oversubscribed"]  # p is concurrency for I/O workloads
    assert analysis["fits"] == []  # no Amdahl fit for I/O
    reached = {(r["model"]): r for r in analysis["io"]}
    assert reached["coroutines"]["best_p"] == 64 and abs(reached["coroutines"]["concurrency_reached"] - 64) < 0.2
    assert reached["threads"]["best_p"] == 64 and abs(reached["threads"]["concurrency_reached"] - 32) < 0.1
    assert analysis["io"][0]["model"] == "coroutines"  # best first
    verdict = next(v for v in analysis["verdicts"] if v["workload"] == "sleep_io")
    assert verdict["best"] == "coroutines" and verdict["best_p"] == 64  # per request, at its best p
    assert run_cli("plot", tmp_path).returncode == 0
    for group in ("threads", "others"):
        assert (tmp_path / "plots" / f"io_throughput_{group}.png").exists()
    assert run_cli("report", tmp_path).returncode == 0
    assert "## I/O workloads" in (tmp_path / "report.md").read_text()
