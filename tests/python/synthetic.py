"""Synthetic sweeps with known answers: Google Benchmark JSON written from chosen timings."""
import json
from pathlib import Path

CONTEXT = {
    "date": "2026-11-29T00:00:00+00:00", "host_name": "testhost", "executable": "parbench_bench",
    "num_cpus": 2, "mhz_per_cpu": 2000, "cpu_scaling_enabled": False, "caches": [],
    "library_build_type": "release", "hardware_threads": "2",
    "category:primes": "cpu", "category:fib": "cpu", "category:amdahl_s20": "cpu", "category:stream_triad": "memory",
    "fork_join:fib": "yes",
    "limit_fork_join:processes": "fork_join runs its halves one after the other",
    "limit_cpu:coroutines": "one event-loop thread",
}


def entry(name: str, seconds: float, index: int, **counters) -> dict:
    return {"name": name + "/process_time/real_time", "run_name": name + "/process_time/real_time",
            "run_type": "iteration", "repetitions": 5, "repetition_index": index, "threads": 1,
            "iterations": 1, "real_time": seconds * 1e3, "cpu_time": seconds * 1e3, "time_unit": "ms",
            "verified": 1, **counters}


def write_sweep(directory: Path, runs: dict, started: str = "2026-11-29T10:00:00+00:00", config: str = "tiny",
                hostname: str = "testhost", counters: dict | None = None, machine_id: str | None = None) -> Path:
    """runs: {(workload, model, n, p): [seconds, ...]} -> a complete sweep directory."""
    benchmarks = []
    for (workload, model, n, p), times in runs.items():
        extra = (counters or {}).get((workload, model, n, p), {})
        for index, seconds in enumerate(times):
            benchmarks.append(entry(f"{workload}/{model}/n:{n}/p:{p}", seconds, index, n=n, p=p, **extra))
    (directory / "raw").mkdir(parents=True, exist_ok=True)
    (directory / "raw" / "all.json").write_text(json.dumps({"context": CONTEXT, "benchmarks": benchmarks}))
    (directory / "env.json").write_text(json.dumps({
        "hostname": hostname, "cpu": {"model": "Test CPU", "physical_cores": 2, "hardware_threads": 2,
                                      "caches": [{"level": "3", "type": "Unified", "size": "32768K"}]},
        "machine": {"cpu_model": "Test CPU", "physical_cores": 2, "hardware_threads": 2, "memory_kib": 8388608,
                    "kernel": "6.1.0", "machine_id_sha256": machine_id or hostname},
        "load_average": {"before": [0.1, 0.2, 0.3]}}))
    (directory / "sweep.json").write_text(json.dumps({
        "parbench_sweep": 1, "config": {"name": config, "repetitions": 5, "min_time": 0.1},
        "started": started, "finished": started, "status": "complete",
        "families": [{"family": "all", "status": "ok", "file": "raw/all.json"}]}))
    return directory
