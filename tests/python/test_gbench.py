"""Parsing real Google Benchmark JSON: aggregates, error rows, NaN, any order."""
import json
import math
import random

from parbench.gbench import load_results, parse_run_name


def test_parse_run_name():
    assert parse_run_name("primes/pool/n:3000000/p:2/process_time/real_time") == (
        "primes/pool", {"n": 3000000.0, "p": 2.0})
    assert parse_run_name("overhead/tasks/tbb/p:4/process_time/real_time") == (
        "overhead/tasks/tbb", {"p": 4.0})
    assert parse_run_name("BM_foo/threads:8") == ("BM_foo", {})


def test_real_json_with_aggregates_errors_and_nan(result_dir):
    results = load_results(sorted((result_dir / "raw").glob("*.json")))
    fib_serial = results.runs["fib/serial/n:22/p:1/process_time/real_time"]
    assert len(fib_serial.real_times) == 3          # aggregates are not samples
    assert all(t > 0 for t in fib_serial.real_times)
    assert fib_serial.counter("verified") == 1
    assert fib_serial.counter("spin_iters_per_us") is None or not math.isnan(
        fib_serial.counter("spin_iters_per_us"))  # NaN values are ignored
    errored = results.runs["fib/pool/n:23/p:2/process_time/real_time"]
    assert errored.errors and "verification failed" in errored.errors[0]
    assert not errored.real_times
    assert results.categories["fib"] == "cpu"
    names = {r.family for r in results.workload_runs()}
    assert {"fib/serial", "fib/pool", "amdahl_s20/serial", "amdahl_s20/pool"} <= names
    assert results.primitive_runs("overhead")


def test_order_of_entries_does_not_matter(result_dir, tmp_path):
    data = json.loads((result_dir / "raw" / "gbench_small.json").read_text())
    random.Random(3).shuffle(data["benchmarks"])
    shuffled = tmp_path / "shuffled.json"
    shuffled.write_text(json.dumps(data))
    a = load_results(sorted((result_dir / "raw").glob("*.json")))
    b = load_results([shuffled])
    assert a.runs.keys() == b.runs.keys()
    for key in a.runs:
        assert sorted(a.runs[key].real_times) == sorted(b.runs[key].real_times)
