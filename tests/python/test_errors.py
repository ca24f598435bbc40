"""Every bad input gets one line naming the problem and exit status 2."""
import json

import pytest

from support import run_cli


def one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("command", ["analyze", "plot", "report", "check"])
def test_missing_directory(tmp_path, command):
    missing = tmp_path / "nope"
    one_line_error(run_cli(command, missing), str(missing), "no such directory")


def test_directory_without_json(tmp_path):
    one_line_error(run_cli("analyze", tmp_path), "no Google Benchmark JSON")


def test_empty_file(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.json").write_text("")
    one_line_error(run_cli("analyze", tmp_path), "a.json", "empty file")


def test_malformed_json(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "bad.json").write_text('{"context": {}, "benchmarks": [')
    one_line_error(run_cli("analyze", tmp_path), "bad.json", "malformed JSON")


def test_foreign_json(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "other.json").write_text(json.dumps({"hello": [1, 2, 3]}))
    one_line_error(run_cli("analyze", tmp_path), "other.json", "not Google Benchmark output")


def test_google_benchmark_json_without_parbench_benchmarks(tmp_path):
    (tmp_path / "raw").mkdir()
    data = {"context": {"num_cpus": 2}, "benchmarks": [
        {"name": "BM_memcpy/8", "run_name": "BM_memcpy/8", "run_type": "iteration", "iterations": 10,
         "real_time": 5.0, "cpu_time": 5.0, "time_unit": "ns"}]}
    (tmp_path / "raw" / "foreign.json").write_text(json.dumps(data))
    one_line_error(run_cli("analyze", tmp_path), "no parbench benchmarks")


def test_entry_without_times(tmp_path):
    (tmp_path / "raw").mkdir()
    data = {"context": {}, "benchmarks": [{"name": "fib/serial/n:3/p:1", "run_type": "iteration"}]}
    (tmp_path / "raw" / "notimes.json").write_text(json.dumps(data))
    one_line_error(run_cli("analyze", tmp_path), "notimes.json", "real_time")


def test_plot_without_analysis(tmp_path):
    (tmp_path / "analysis.json").write_text("[1, 2]")
    one_line_error(run_cli("plot", tmp_path), "analysis.json", "not a parbench analysis")


def test_compare_without_common_benchmarks(result_dir, tmp_path):
    other = tmp_path / "other"
    (other / "raw").mkdir(parents=True)
    data = json.loads((result_dir / "raw" / "gbench_small.json").read_text())
    for entry in data["benchmarks"]:
        entry["name"] = entry["name"].replace("fib/", "fibx/").replace("amdahl_s20/", "amdahlx/").replace(
            "overhead/", "overheadx/")
        entry["run_name"] = entry["name"]
    (other / "raw" / "x.json").write_text(json.dumps(data))
    one_line_error(run_cli("compare", result_dir, other), "no benchmark in common")


def test_unknown_sweep_config():
    one_line_error(run_cli("sweep", "--config", "nonexistent"), "unknown sweep config 'nonexistent'")


def test_bad_toml(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[sweep\nsize = 1")
    one_line_error(run_cli("sweep", "--config", config), "bad.toml", "malformed TOML")


def test_unknown_key_in_config(tmp_path):
    config = tmp_path / "typo.toml"
    config.write_text('[sweep]\nrepetitons = 5\n')
    one_line_error(run_cli("sweep", "--config", config), "unknown key 'repetitons'")


def test_unknown_option():
    one_line_error(run_cli("analyze", "--frobnicate", "x"), "unrecognized arguments")


def test_resume_of_a_non_sweep_directory(tmp_path):
    one_line_error(run_cli("sweep", "--resume", tmp_path), "not a sweep directory")


@pytest.mark.parametrize("value,ok", [("true", True), ("false", True), ('["primes", "fib"]', True),
                                      ("[1, 2]", False), ('"yes"', False)])
def test_weak_scaling_is_a_bool_or_a_list_of_workloads(value, ok):
    import tomllib

    from parbench import UserError, config
    data = tomllib.loads(f"[sweep]\nweak_scaling = {value}\nconcurrency = [1, 16]\n")
    if ok:
        assert config.from_dict(data, "t", "t.toml").weak_scaling == tomllib.loads(f"x = {value}")["x"]
    else:
        with pytest.raises(UserError, match="weak_scaling"):
            config.from_dict(data, "t", "t.toml")
