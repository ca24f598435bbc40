"""Bad input, across every verb, config key, saved state and environment knob: each gets one
line naming the problem and exit 2 (the binary's error rows: exit 1 and the reason), never a
traceback or an "internal error", and nothing changes outside the folder it names."""
import json
import os
import shutil
from pathlib import Path

import pytest

from support import ROOT, adopt, assert_one_line, cli, record_raw, rewrite_raw, run_bench

# A config that is valid and quick: each case spoils one key.
BASE = """
[sweep]
size = "small"
workloads = ["primes"]
models = ["serial", "pool"]
workers = [1, 2]
repetitions = 1
min_time = 0.01
family_timeout = 60
primitives = []
python = ""
"""


def with_line(table: str, line: str) -> str:
    """BASE with `line` set in [table] (replacing the key when BASE has it)."""
    key = line.split("=", 1)[0].strip()
    lines = [kept for kept in BASE.strip().splitlines() if kept.split("=", 1)[0].strip() != key]
    if table == "sweep":
        return "\n".join(lines + [line]) + "\n"
    return "\n".join(lines) + f"\n[{table}]\n{line}\n"


CONFIG_CASES = [
    ("sweep", "min_time = nan", "min_time"),
    ("sweep", "min_time = inf", "min_time"),
    ("sweep", "min_time = -1", "min_time"),
    ("sweep", "min_time = 0", "min_time"),
    ("sweep", 'min_time = "fast"', "min_time has the wrong type"),
    ("sweep", "family_timeout = nan", "family_timeout"),
    ("sweep", "family_timeout = inf", "family_timeout"),
    ("sweep", "family_timeout = 0", "family_timeout"),
    ("sweep", "family_timeout = 1e12", "family_timeout"),
    ("sweep", "repetitions = 0", "repetitions"),
    ("sweep", "repetitions = -3", "repetitions"),
    ("sweep", "repetitions = 2.5", "repetitions has the wrong type"),
    ("sweep", "repetitions = 100000", "repetitions"),
    ("sweep", "disturbance_max = 2", "disturbance_max"),
    ("sweep", "disturbance_max = nan", "disturbance_max"),
    ("sweep", "disturbance_reruns = -1", "disturbance_reruns"),
    ("sweep", "disturbance_reruns = 99", "disturbance_reruns"),
    ("sweep", 'size = "huge"', "size must be default, quick or small"),
    ("sweep", "size = 5", "size has the wrong type"),
    ("sweep", "workloads = []", "workloads must be a non-empty list"),
    ("sweep", "workloads = [1, 2]", "workloads must be a non-empty list"),
    ("sweep", 'workloads = ["primes", "primes"]', "workloads names primes more than once"),
    ("sweep", 'workloads = "some"', 'workloads must be a list or "all"'),
    ("sweep", "models = []", "models must be a non-empty list"),
    ("sweep", "models = [1]", "models must be a non-empty list"),
    ("sweep", 'models = ["serial", "serial"]', "models names serial more than once"),
    ("sweep", 'models = "most"', 'models must be a list or "all"'),
    ("sweep", "workers = []", "workers must be a non-empty list"),
    ("sweep", "workers = [0]", "workers must be a whole number"),
    ("sweep", "workers = [2, 2]", "workers names a value more than once"),
    ("sweep", "workers = [5000]", "workers must be a whole number in [1, 1024]"),
    ("sweep", "workers = [1.5]", "workers must be a whole number"),
    ("sweep", 'workers = "many"', 'workers must be a list or "auto"'),
    ("sweep", "concurrency = [0]", "concurrency must be a whole number"),
    ("sweep", "concurrency = []", "concurrency must be a non-empty list"),
    ("sweep", "concurrency = [100000]", "concurrency must be a whole number in [1, 65536]"),
    ("sweep", "primitives = [1]", "primitives must be a list of primitive family names"),
    ("sweep", 'primitives = "sync"', "primitives has the wrong type"),
    ("sweep", 'primitives = [""]', "primitives must be a list of primitive family names"),
    ("sweep", "weak_scaling = []", "weak_scaling"),
    ("sweep", "weak_scaling = [3]", "weak_scaling"),
    ("sweep", 'weak_scaling = "yes"', "weak_scaling has the wrong type"),
    ("sweep", "omp_wait_policies = []", "omp_wait_policies must list some of"),
    ("sweep", 'omp_wait_policies = ["spinny"]', "omp_wait_policies must list some of"),
    ("sweep", "python = []", "[sweep] python must be an interpreter"),
    ("sweep", 'python = [""]', "[sweep] python must be an interpreter"),
    ("sweep", 'python = ["/usr/bin/python3", "/usr/bin/python3"]', "more than once"),
    ("sweep", "python = 3", "python has the wrong type"),
    ("sweep", 'python_workers = "many"', "python_workers must be"),
    ("sweep", "python_workers = [0]", "python_workers must be a whole number"),
    ("sweep", "python_workers = []", "python_workers must be a non-empty list"),
    ("sweep", 'python_weak_scaling = "no"', "python_weak_scaling has the wrong type"),
    ("sweep", "description = 5", "description has the wrong type"),
    ("sweep", "unknown_key = 1", "unknown key 'unknown_key'"),
    ("check", "efficiency_min = nan", "[check] efficiency_min"),
    ("check", "efficiency_min = -1", "[check] efficiency_min"),
    ("check", "amdahl_tolerance = inf", "[check] amdahl_tolerance"),
    ("check", "reference_tolerance = -0.5", "[check] reference_tolerance"),
    ("check", 'amdahl_models = [""]', "[check] amdahl_models"),
    ("check", 'efficiency_models = ["pool", "pool"]', "[check] efficiency_models names pool more than once"),
    ("check", "efficiency_workloads = [1]", "[check] efficiency_workloads"),
    ("check", "bogus = 1", "unknown key 'bogus' in [check]"),
    ("mpi", "ranks = [0]", "[mpi] ranks must be positive integers"),
    ("mpi", 'ranks = "some"', '[mpi] ranks must be a list or "auto"'),
    ("mpi", 'hosts = [""]', "[mpi] hosts must be a list of non-empty strings"),
    ("mpi", 'launcher = ""', "[mpi] launcher must name a program"),
    ("mpi", "sizes = []", "[mpi] sizes must be positive integers"),
    ("nope", "x = 1", "unknown table(s) nope"),
]


@pytest.mark.parametrize("table,line,needle", CONFIG_CASES, ids=[f"{t}:{l}" for t, l, _ in CONFIG_CASES])
def test_a_bad_config_value_is_one_line(tmp_path, table, line, needle):
    config = tmp_path / "bad.toml"
    config.write_text(with_line(table, line))
    result = cli("sweep", "--config", config, "--out", tmp_path / "run")
    assert_one_line(result, needle)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("text,needle", [
    ("[sweep\nsize = 1", "malformed TOML"),
    ("sweep = 5\n", "[sweep]"),
    ("[mpi]\nhosts = [\"a:1\"]\nhostfile = \"f\"\n", "give hosts or hostfile, not both"),
])
def test_a_malformed_config_is_one_line(tmp_path, text, needle):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    assert_one_line(cli("sweep", "--config", config, "--out", tmp_path / "run"), needle)


def test_a_config_that_is_not_utf8_is_one_line(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_bytes(b"[sweep]\ndescription = \"\xff\xfe\"\n")
    assert_one_line(cli("sweep", "--config", config, "--out", tmp_path / "run"), str(config))


@pytest.mark.parametrize("name,needle", [("nope", "unknown sweep config 'nope'"),
                                         ("/no/such/config.toml", "no such file")])
def test_a_missing_config_is_one_line(tmp_path, name, needle):
    assert_one_line(cli("sweep", "--config", name, "--out", tmp_path / "run"), needle)


# Names the sweep resolves by listing what the binary and the Python track have.
@pytest.mark.parametrize("line,needle", [
    ('workloads = ["nope"]', "unknown workload 'nope'"),
    ('models = ["nope"]', "unknown model 'nope'"),
    ('primitives = ["nope"]', "unknown primitive family 'nope'"),
    ('weak_scaling = ["nope"]', "weak_scaling names nope"),
])
def test_an_unknown_name_is_one_line_with_the_valid_ones(tmp_path, bench, line, needle):
    config = tmp_path / "bad.toml"
    config.write_text(with_line("sweep", line))
    assert_one_line(cli("sweep", "--config", config, "--out", tmp_path / "run"), needle)


def test_an_unknown_python_primitive_is_one_line(tmp_path, bench):
    config = tmp_path / "bad.toml"
    text = with_line("sweep", 'primitives = ["py/nope"]')
    config.write_text(text.replace('python = ""', 'python = "/usr/bin/python3"'))
    assert_one_line(cli("sweep", "--config", config, "--out", tmp_path / "run"), "'py/nope' names no Python primitive")


# --- the sweep's command line -------------------------------------------------------------

def saved_sweep(directory: Path, **changes) -> Path:
    """A resumable folder as a sweep leaves it (no family run yet), with `changes` applied to
    its sweep.json."""
    from parbench import config as config_module
    config = config_module.from_dict({"sweep": {"size": "small", "workloads": ["primes"], "models": ["serial"],
                                                "workers": [1], "repetitions": 1, "min_time": 0.01,
                                                "primitives": [], "python": ""}}, "t", "t.toml")
    state = {"parbench_sweep": 1, "config": config.to_dict(), "binary_info": {"spin_iters_per_us": 100.0},
             "started": "2026-01-01T00:00:00+00:00", "status": "interrupted", "families": []}
    for key, value in changes.items():
        if key.startswith("config_"):
            state["config"][key[len("config_"):]] = value
        else:
            state[key] = value
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "raw").mkdir(exist_ok=True)
    from parbench import provenance  # started here: this machine's record of it
    state.setdefault("sweep_id", provenance.register(directory, config.to_dict()))
    (directory / "sweep.json").write_text(json.dumps(state))
    return directory


def test_out_a_file_is_one_line(tmp_path):
    target = tmp_path / "afile"
    target.write_text("mine")
    assert_one_line(cli("sweep", "--config", "quick", "--out", target), "not a folder")
    assert target.read_text() == "mine"


def test_out_a_folder_of_someone_elses_files_is_refused(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "analysis.json").write_text("my own analysis")
    (folder / "raw").mkdir()
    (folder / "raw" / "other.json").write_text("{}")
    assert_one_line(cli("sweep", "--config", "quick", "--out", folder), "not empty and not a parbench sweep")
    assert (folder / "analysis.json").read_text() == "my own analysis"
    assert sorted(p.name for p in folder.iterdir()) == ["analysis.json", "raw"]


def test_out_a_sweep_says_resume(tmp_path):
    folder = saved_sweep(tmp_path / "run")
    assert_one_line(cli("sweep", "--config", "quick", "--out", folder), f"use --resume {folder}")


@pytest.mark.parametrize("extra,needle", [
    (["--config", "quick"], "drop --config"),
    (["--out", "/tmp/elsewhere-parbench-test"], "drop --out"),
    (["--python", "/usr/bin/python3"], "drop --python"),
])
def test_resume_refuses_conflicting_options(tmp_path, extra, needle):
    folder = saved_sweep(tmp_path / "run")
    assert_one_line(cli("sweep", "--resume", folder, *extra), needle)


@pytest.mark.parametrize("make,needle", [
    (lambda d: d, "not a sweep directory"),
    (lambda d: (d.mkdir(), d)[1], "not a sweep directory"),
])
def test_resume_of_a_non_sweep_is_one_line(tmp_path, make, needle):
    folder = make(tmp_path / "nothing")
    assert_one_line(cli("sweep", "--resume", folder), needle)


@pytest.mark.parametrize("python,needle", [
    ("/nonexistent/python3", "interpreter '/nonexistent/python3' not found"),
    ("/usr/bin/python3,,/usr/bin/python3", "--python must be an interpreter"),
    ("/usr/bin/python3,/usr/bin/python3", "--python lists /usr/bin/python3 more than once"),
])
def test_a_bad_python_option_is_one_line(tmp_path, bench, python, needle):
    config = tmp_path / "c.toml"
    config.write_text(with_line("sweep", 'models = ["serial", "py_serial"]'))
    assert_one_line(cli("sweep", "--config", config, "--out", tmp_path / "run", "--python", python), needle)


# --- saved state ----------------------------------------------------------------------------

STATE_CASES = [
    ("malformed", lambda d: (d / "sweep.json").write_text("{\"config\": "), "unreadable sweep state"),
    ("truncated", lambda d: (d / "sweep.json").write_text((d / "sweep.json").read_text()[:40]),
     "unreadable sweep state"),
    ("a list", lambda d: (d / "sweep.json").write_text("[1, 2]"), "unreadable sweep state"),
    ("not utf-8", lambda d: (d / "sweep.json").write_bytes(b"\xff\xfe{}"), "unreadable sweep state"),
    ("min_time text", lambda d: saved_sweep(d, config_min_time="abc"), "min_time must be a number"),
    ("repetitions 0", lambda d: saved_sweep(d, config_repetitions=0), "repetitions must be a whole number"),
    ("min_time nan", lambda d: saved_sweep(d, config_min_time=float("nan")), "min_time must be a number"),
    ("check not a table", lambda d: saved_sweep(d, config_check=5), "[check] is not a table"),
    ("config not a table", lambda d: saved_sweep(d, config=5), "not a parbench sweep state"),
    ("families not a list", lambda d: saved_sweep(d, families=5), "families is 5, not a list"),
    ("a file outside raw", lambda d: saved_sweep(d, families=[{"family": "primes/serial", "status": "ok",
                                                               "file": "../../etc/passwd"}]),
     "not a file raw/<name>.json"),
    ("a record without a family", lambda d: saved_sweep(d, families=[{"status": "ok", "file": "raw/x.json"}]),
     "has no 'family'"),
    ("no binary info", lambda d: (d / "sweep.json").write_text(json.dumps(
        {k: v for k, v in json.loads((d / "sweep.json").read_text()).items() if k != "binary_info"})),
     "no binary_info.spin_iters_per_us"),
    ("env.json malformed", lambda d: (d / "env.json").write_text("{"), "env.json: malformed JSON"),
    ("env.json a list", lambda d: (d / "env.json").write_text("[]"), "not a parbench environment record"),
]


@pytest.mark.parametrize("name,spoil,needle", STATE_CASES, ids=[c[0] for c in STATE_CASES])
def test_damaged_saved_state_is_one_line(tmp_path, bench, name, spoil, needle):
    folder = saved_sweep(tmp_path / "run")
    spoil(folder)
    assert_one_line(cli("sweep", "--resume", folder), needle)


# --- compare, analyze, plot, report, check ----------------------------------------------------

DATA = ROOT / "tests" / "python" / "data" / "gbench_small.json"


def result_folder(path: Path) -> Path:
    (path / "raw").mkdir(parents=True)
    shutil.copy(DATA, path / "raw" / "gbench_small.json")
    return path


@pytest.mark.parametrize("flags,needle", [
    (["--alpha", "nan"], "--alpha: nan is not a significance level"),
    (["--alpha", "inf"], "--alpha: inf is not a significance level"),
    (["--alpha", "2"], "--alpha: 2 is not a significance level"),
    (["--alpha", "-1"], "--alpha: -1 is not a significance level"),
    (["--alpha", "0"], "--alpha: 0 is not a significance level"),
    (["--alpha", "abc"], "invalid float value: 'abc'"),
    (["--fail-on-regression", "nan"], "--fail-on-regression: nan is not a percentage"),
    (["--fail-on-regression", "inf"], "--fail-on-regression: inf is not a percentage"),
    (["--fail-on-regression", "-5"], "--fail-on-regression: -5 is not a percentage"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_compare_flags_are_validated(tmp_path, flags, needle):
    folder = result_folder(tmp_path / "a")
    assert_one_line(cli("compare", folder, folder, *flags), needle)


def spoil_raw(text: bytes | str):
    def spoil(folder: Path):
        path = folder / "raw" / "gbench_small.json"
        path.unlink()
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return spoil


def link_raw(folder: Path):
    secret = folder.parent / "secret.json"
    shutil.copy(DATA, secret)
    (folder / "raw" / "gbench_small.json").unlink()
    (folder / "raw" / "gbench_small.json").symlink_to(secret)


RESULT_CASES = [
    ("missing folder", lambda f: shutil.rmtree(f), "no such"),
    ("no raw", lambda f: shutil.rmtree(f / "raw"), "raw"),
    ("malformed json", spoil_raw("{\"context\": "), "malformed JSON"),
    ("empty file", spoil_raw(""), "empty file"),
    ("a list", spoil_raw("[]"), "not Google Benchmark output"),
    ("foreign json", spoil_raw("{\"name\": \"not a benchmark\"}"), "not Google Benchmark output"),
    ("not utf-8", spoil_raw(b"\xff\xfe\x00{"), "not UTF-8"),
    ("a symbolic link", link_raw, "a symbolic link inside a results folder"),
]


@pytest.mark.parametrize("verb", ["analyze", "compare", "check"])
@pytest.mark.parametrize("name,spoil,needle", RESULT_CASES, ids=[c[0] for c in RESULT_CASES])
def test_damaged_results_are_one_line(tmp_path, verb, name, spoil, needle):
    folder = result_folder(tmp_path / "a")
    spoil(folder)
    args = [verb, folder] + ([folder] if verb == "compare" else [])
    result = cli(*args)
    assert_one_line(result, needle)
    if name == "a symbolic link":
        assert not (folder / "analysis.json").exists()


def test_a_folder_given_as_a_file_is_one_line(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for verb in ("analyze", "plot", "report", "check"):
        result = cli(verb, afile)
        assert result.returncode == 2 and "internal error" not in result.stderr, (verb, result.stderr)


def test_report_refuses_a_linked_figure(tmp_path):
    folder = result_folder(tmp_path / "a")
    assert cli("analyze", folder).returncode == 0
    assert cli("plot", folder).returncode == 0
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG secret")
    figure = next((folder / "plots").glob("*.png"))
    figure.unlink()
    figure.symlink_to(secret)
    result = cli("report", folder)
    assert_one_line(result, "a symbolic link inside a results folder")
    assert not (folder / "report.html").exists() or b"secret" not in (folder / "report.html").read_bytes()


def test_plot_replaces_a_linked_figure_without_writing_through_it(tmp_path):
    folder = result_folder(tmp_path / "a")
    assert cli("analyze", folder).returncode == 0
    assert cli("plot", folder).returncode == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    figure = next((folder / "plots").glob("*.png"))
    figure.unlink()
    figure.symlink_to(victim)
    assert cli("plot", folder).returncode == 0
    assert victim.read_text() == "do not touch" and not figure.is_symlink()


def test_check_reference_missing_is_one_line(tmp_path):
    folder = result_folder(tmp_path / "a")
    assert_one_line(cli("check", folder, "--reference", tmp_path / "nope"), "no such")


# --- the benchmark binary ----------------------------------------------------------------------

BINARY_CASES = [
    (["--p=0"], "worker count p must be a positive integer, got '0'"),
    (["--p=abc"], "worker count p must be a positive integer, got 'abc'"),
    (["--p=2,2"], "worker count p names 2 twice"),
    (["--p=2000"], "worker count p = 2000 is above 1024"),
    (["--p="], "worker count p must be a positive integer, got ''"),
    (["--concurrency=0"], "concurrency p must be a positive integer"),
    (["--concurrency=70000"], "concurrency p = 70000 is above 65536"),
    (["--concurrency=6148914691236517206", "--size=3"], "is above 65536"),
    (["--concurrency=4,4"], "concurrency p names 4 twice"),
    (["--size=0"], "size n must be a positive integer"),
    (["--size=3,3"], "size n names 3 twice"),
    (["--size=abc"], "size n must be a positive integer"),
    (["--size=99999999999999999999"], "size n must be a positive integer"),
    (["--workloads=tcp_echo", "--size=200000"], "size 200000 is out of range for workload 'tcp_echo'"),
    (["--benchmark_min_time=nan"], "--benchmark_min_time: 'nan' is not a number of seconds"),
    (["--benchmark_min_time=inf"], "--benchmark_min_time: 'inf'"),
    (["--benchmark_min_time=-1"], "--benchmark_min_time: '-1'"),
    (["--benchmark_min_time=0"], "--benchmark_min_time: '0'"),
    (["--benchmark_min_time=abc"], "--benchmark_min_time: 'abc'"),
    (["--benchmark_min_time=1e400"], "--benchmark_min_time: '1e400'"),
    (["--benchmark_repetitions=0"], "--benchmark_repetitions must be a positive integer"),
    (["--benchmark_repetitions=5000"], "--benchmark_repetitions: 5000 is above 1000"),
    (["--benchmark_repetitions=x"], "--benchmark_repetitions must be a positive integer"),
    (["--workloads=nope"], "unknown workload 'nope'"),
    (["--workloads="], "unknown workload ''"),
    (["--models=nope"], "unknown model 'nope'"),
    (["--skip-models=nope"], "unknown model 'nope'"),
    (["--primitives=nope"], "unknown primitive family 'nope'"),
    (["--scaling=sideways"], "--scaling must be strong or weak"),
    (["--frobnicate"], "unknown option '--frobnicate'"),
    (["stray"], "unknown option 'stray'"),
]


@pytest.mark.parametrize("args,needle", BINARY_CASES, ids=[" ".join(a) for a, _ in BINARY_CASES])
def test_the_binary_says_one_line(bench, args, needle):
    assert_one_line(run_bench(*args), needle)


def test_a_bad_io_dir_fails_the_run_with_its_reason(bench):
    result = run_bench("--workloads=file_read", "--models=serial", "--size=small", "--benchmark_min_time=0.01",
                       env={"PARBENCH_IO_DIR": "/nonexistent"})
    assert result.returncode == 1, result.stdout[-1500:]
    assert "I/O directory /nonexistent" in result.stdout + result.stderr
    assert "reported an error" in result.stderr and "terminate called" not in result.stderr


@pytest.mark.parametrize("variable,value,needle", [
    ("PARBENCH_TCP_PAYLOAD", "abc", "PARBENCH_TCP_PAYLOAD=abc"),
    ("PARBENCH_TCP_PAYLOAD", "99999", "PARBENCH_TCP_PAYLOAD=99999"),
    ("PARBENCH_TCP_DELAY_US", "-1", "PARBENCH_TCP_DELAY_US=-1"),
    ("PARBENCH_WRITE_KIB", "0", "PARBENCH_WRITE_KIB=0"),
    ("PARBENCH_FILE_DIRECT", "2", "PARBENCH_FILE_DIRECT=2"),
])
def test_a_bad_workload_knob_is_one_line_before_anything_runs(bench, variable, value, needle):
    workload = {"PARBENCH_WRITE_KIB": "file_write", "PARBENCH_FILE_DIRECT": "file_read"}.get(variable, "tcp_echo")
    result = run_bench(f"--workloads={workload}", "--models=serial", "--size=small",
                       "--benchmark_min_time=0.01", env={variable: value})
    assert_one_line(result, needle)
    assert not result.stdout.strip()  # refused before the first benchmark
    # a workload not selected does not care
    assert run_bench("list", "--workloads=primes", env={variable: value}).returncode == 0


@pytest.mark.parametrize("variable,value,needle", [
    ("PARBENCH_IO_BACKEND", "foo", "PARBENCH_IO_BACKEND=foo"),
    ("PARBENCH_SPIN_ITERS_PER_US", "abc", "PARBENCH_SPIN_ITERS_PER_US"),
    ("PARBENCH_SPIN_ITERS_PER_US", "nan", "PARBENCH_SPIN_ITERS_PER_US"),
    ("PARBENCH_SPIN_ITERS_PER_US", "-1", "PARBENCH_SPIN_ITERS_PER_US"),
])
def test_a_bad_binary_knob_is_one_line(bench, variable, value, needle):
    result = run_bench("--workloads=amdahl_s20,sleep_io", "--models=serial,coroutines", "--size=small",
                       "--benchmark_min_time=0.01", env={variable: value})
    assert result.returncode != 0 and needle in result.stderr, result.stderr
    assert "terminate called" not in result.stderr and result.returncode > 0


# --- the entry point's environment --------------------------------------------------------------

@pytest.mark.parametrize("variable,value,needle", [
    ("PARBENCH_JOBS", "abc", "PARBENCH_JOBS=abc: not a positive whole number"),
    ("PARBENCH_JOBS", "0", "PARBENCH_JOBS=0: not a positive whole number"),
    ("PARBENCH_JOBS", "-2", "PARBENCH_JOBS=-2: not a positive whole number"),
    ("PARBENCH_PYTHON", "/nonexistent/python3", "PARBENCH_PYTHON=/nonexistent/python3: no such interpreter"),
])
def test_the_entry_points_knobs_are_one_line(tmp_path, variable, value, needle):
    import subprocess
    verb = ["list"] if variable == "PARBENCH_JOBS" else ["analyze", str(tmp_path)]
    result = subprocess.run([str(ROOT / "parbench"), *verb], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, **{variable: value}))
    assert_one_line(result, needle)


def test_check_ignores_thresholds_on_what_the_folder_never_ran(tmp_path):
    folder = result_folder(tmp_path / "a")  # fib, stream_triad, amdahl_s20...: no primes, no mandelbrot
    result = cli("check", folder, "--no-remeasure")
    efficiency_rows = [line for line in result.stdout.splitlines() if "efficiency at p=cores" in line]
    assert not any(w in line for line in efficiency_rows for w in ("primes", "mandelbrot", "monte_carlo_pi"))
    assert "not measured" not in result.stdout


def test_a_concurrency_above_a_models_cap_is_said(bench):
    result = run_bench("--workloads=sleep_io", "--models=threads", "--concurrency=2000", "--size=small",
                       "--benchmark_list_tests=true")
    assert "threads runs the I/O workloads at concurrency up to 1024; p = 2000 is left out there" in result.stderr


def test_info_is_json(bench):
    info = json.loads(run_bench("info").stdout)
    assert info["spin_iters_per_us"] > 0 and isinstance(info["cxx_flags"], str)


def test_a_build_made_for_another_checkout_is_configured_again(tmp_path):
    """A copied checkout whose build/<preset>/CMakeCache.txt names the original's sources is
    configured afresh (cmake replaced by a recorder: nothing is built)."""
    import subprocess
    checkout = tmp_path / "copy"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "parbench", checkout / "parbench")
    (checkout / "scripts" / "install-deps").write_text("#!/bin/sh\nexit 0\n")
    (checkout / "scripts" / "install-deps").chmod(0o755)
    cache = checkout / "build" / "release" / "CMakeCache.txt"
    cache.parent.mkdir(parents=True)
    cache.write_text(f"CMAKE_HOME_DIRECTORY:INTERNAL={ROOT}\n")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "cmake").write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'cmake.log'}\nexit 0\n")
    (tools / "cmake").chmod(0o755)
    result = subprocess.run([str(checkout / "parbench"), "list"], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PATH=f"{tools}:{os.environ['PATH']}"))
    assert f"was configured for {ROOT}; configuring it again for {checkout}" in result.stderr, result.stderr
    assert "--preset release" in (tmp_path / "cmake.log").read_text()
    assert not cache.exists() or str(ROOT) not in cache.read_text()


def test_report_redraws_a_missing_figure(tmp_path):
    folder = result_folder(tmp_path / "a")
    assert cli("analyze", folder).returncode == 0 and cli("plot", folder).returncode == 0
    figure = next((folder / "plots").glob("*.png"))
    figure.unlink()  # as a plot that died on a full disk leaves it
    result = cli("report", folder)
    assert result.returncode == 0, result.stderr
    assert figure.exists()


def test_an_undecidable_slowdown_does_not_pass_the_gate_silently(tmp_path):
    a = result_folder(tmp_path / "a")
    b = result_folder(tmp_path / "b")
    path = b / "raw" / "gbench_small.json"
    data = json.loads(path.read_text())
    factors = iter([1.0, 3.0, 1.3] * 1000)  # slower on the median, far too noisy to decide
    for entry in data["benchmarks"]:
        if entry["name"].startswith("fib/serial") and entry.get("run_type") == "iteration":
            entry["real_time"] *= next(factors)
    path.write_text(json.dumps(data))
    result = cli("compare", a, b, "--fail-on-regression", "10")
    assert result.returncode == 3, result.stdout[-1500:]
    assert "cannot decide" in result.stdout and "fib/serial" in result.stdout
    assert cli("compare", a, b, "--fail-on-regression", "10", "--allow-undecided").returncode == 0


@pytest.mark.parametrize("link", ["symbolic", "hard"])
def test_a_log_planted_as_a_link_is_replaced_not_written_through(tmp_path, bench, link):
    folder = saved_sweep(tmp_path / "run")
    (folder / "logs").mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    log = folder / "logs" / "primes__serial.log"
    log.symlink_to(victim) if link == "symbolic" else os.link(victim, log)
    result = cli("sweep", "--resume", folder)
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "do not touch"
    assert not log.is_symlink() and log.stat().st_ino != victim.stat().st_ino and "primes" in log.read_text()


def test_markdown_and_csv_cells_are_escaped():
    from parbench.analysis.outputs import csv_cell
    from parbench.report.document import md_inline
    assert md_inline("AMD EPYC\n# injected heading | extra") == "AMD EPYC # injected heading \\| extra"
    assert [csv_cell(v) for v in ("=1+1", "+x", "-cmd", "@sum", "plain", -5, 2.5)] == \
        ["'=1+1", "'+x", "'-cmd", "'@sum", "plain", -5, 2.5]


@pytest.mark.parametrize("sub", ["raw", "logs", "plots"])
def test_a_linked_subfolder_is_refused(tmp_path, bench, sub):
    folder = saved_sweep(tmp_path / "run")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if (folder / sub).exists():
        (folder / sub).rmdir()
    (folder / sub).symlink_to(elsewhere)
    assert_one_line(cli("sweep", "--resume", folder), f"{sub}: a symbolic link inside a results folder")
    assert not list(elsewhere.iterdir())


# --- a real (tiny) sweep, damaged in the ways the fresh-eyes review found ----------------------

TINY = BASE.replace("repetitions = 1", "repetitions = 3")


@pytest.fixture(scope="module")
def tiny_sweep_once(tmp_path_factory):
    """One tiny finished sweep (primes on serial and pool, p = 1, 2): each test copies it."""
    if not Path(os.environ.get("PARBENCH_BENCH", ROOT / "build" / "release" / "parbench_bench")).exists():
        pytest.skip("no benchmark binary")
    where = tmp_path_factory.mktemp("tiny")
    (where / "c.toml").write_text(TINY)
    result = cli("sweep", "--config", where / "c.toml", "--out", where / "run")
    assert result.returncode == 0, result.stderr
    return where / "run"


@pytest.fixture
def tiny(tiny_sweep_once, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(tiny_sweep_once, copy)
    return adopt(copy)  # a sweep of this machine's, as the tests' edits and resumes need


def edit_state(folder: Path, change) -> None:
    state = json.loads((folder / "sweep.json").read_text())
    change(state)
    (folder / "sweep.json").write_text(json.dumps(state))


def test_the_gate_fails_when_b_lost_a_family(tmp_path, tiny):
    b = tmp_path / "b"
    shutil.copytree(tiny, b)
    (b / "raw" / "primes__pool.json").unlink()  # the family crashed in B
    result = cli("compare", tiny, b, "--fail-on-regression", "10")
    assert result.returncode == 3, result.stdout
    assert "missing in B" in result.stdout and "primes/pool/n:20000/p:2" in result.stdout
    assert cli("compare", tiny, b, "--fail-on-regression", "10", "--allow-undecided").returncode == 0


def test_the_gate_fails_when_b_reports_errors(tmp_path, tiny):
    b = tmp_path / "b"
    shutil.copytree(tiny, b)
    path = b / "raw" / "primes__pool.json"
    data = json.loads(path.read_text())
    for entry in data["benchmarks"]:
        entry.update(error_occurred=True, error_message="verification failed")
    path.write_text(json.dumps(data))
    record_raw(b, path.name)  # B's own run reported the errors
    result = cli("compare", tiny, b, "--fail-on-regression", "10")
    assert result.returncode == 1, result.stdout
    assert "failed in B" in result.stdout and "verification failed" in result.stdout


def test_check_fails_an_interrupted_sweep(tiny):
    edit_state(tiny, lambda s: s.update(status="interrupted"))
    result = cli("check", tiny, "--no-remeasure")
    assert result.returncode == 1 and "complete sweep" in result.stdout and "status interrupted" in result.stdout


def test_check_fails_a_folder_that_is_not_a_sweep_and_writes_nothing_there(tmp_path, tiny):
    bare = tmp_path / "bare"
    (bare / "raw").mkdir(parents=True)
    shutil.copy(tiny / "raw" / "primes__serial.json", bare / "raw")
    result = cli("check", bare, "--no-remeasure")
    assert result.returncode == 1 and "no sweep.json" in result.stdout, result.stdout
    assert sorted(p.name for p in bare.iterdir()) == ["raw"]


def test_check_fails_a_missing_raw_file(tiny):
    (tiny / "raw" / "primes__pool.json").unlink()
    result = cli("check", tiny, "--no-remeasure")
    assert result.returncode == 1 and "raw/primes__pool.json" in result.stdout and "missing" in result.stdout


def test_check_says_how_much_of_the_reference_it_compared(tmp_path, tiny):
    result = cli("check", tiny, "--no-remeasure", "--reference", tiny)
    assert "reference coverage" in result.stdout and "1 of its 1 points" in result.stdout, result.stdout


@pytest.mark.parametrize("args,needle", [
    (["sweep", "--resume", ""], "sweep --resume: empty"),
    (["sweep", "--config", ""], "sweep --config: empty"),
    (["sweep", "--out", ""], "sweep --out: empty"),
    (["sweep", "--baseline", " "], "sweep --baseline: empty"),
    (["analyze", ""], "analyze DIRECTORY: empty"),
    (["plot", ""], "plot DIRECTORY: empty"),
    (["report", ""], "report DIRECTORY: empty"),
    (["check", ""], "check DIRECTORY: empty"),
    (["compare", "", "x"], "compare A: empty"),
])
def test_an_empty_argument_is_one_line_not_the_default(tmp_path, args, needle):
    before = set((ROOT / "results").iterdir()) if (ROOT / "results").is_dir() else set()
    assert_one_line(cli(*args, cwd=tmp_path), needle)
    assert not list(tmp_path.iterdir())
    assert (set((ROOT / "results").iterdir()) if (ROOT / "results").is_dir() else set()) == before


def test_a_stray_json_in_raw_is_not_merged(tiny):
    shutil.copy(tiny / "raw" / "primes__pool.json", tiny / "raw" / "zzz.json")
    result = cli("analyze", tiny)
    assert result.returncode == 0 and "zzz.json" in result.stderr and "not read" in result.stderr
    points = json.loads((tiny / "analysis.json").read_text())["points"]
    assert {p["repetitions"] for p in points if p["model"] == "pool"} == {3}


@pytest.mark.parametrize("change,needle", [
    (lambda s: s["families"][0].update(family=["x"]), "families[0].family is [\"x\"], not a string"),
    (lambda s: s["families"][0].update(seconds="x"), "families[0].seconds is \"x\""),
    (lambda s: s["families"][0].update(disturbance={"total": "lots"}), "families[0].disturbance.total"),
    (lambda s: s["families"].append(5), "families[2] is not a family record"),
    (lambda s: s["binary_info"].update(spin_iters_per_us="nan"), "spin_iters_per_us is \"nan\", not a number"),
    (lambda s: s["binary_info"].update(spin_iters_per_us=1e300), "spin_iters_per_us is 1e+300"),
    (lambda s: s["binary_info"].update(spin_iters_per_us=0), "spin_iters_per_us is 0"),
    (lambda s: s.update(status=["complete"]), "status is [\"complete\"]"),
    (lambda s: s["config"]["mpi"].update(ranks=[-1]), "[mpi] ranks must be positive integers"),
    (lambda s: s["config"]["mpi"].update(launcher=""), "[mpi] launcher must name a program"),
])
@pytest.mark.parametrize("verb", ["analyze", "report", "check"])
def test_a_tampered_state_is_one_line_in_every_verb(tiny, verb, change, needle):
    edit_state(tiny, change)
    assert_one_line(cli(verb, tiny), needle)


def test_resume_rebuilds_over_a_tampered_state(tiny):
    edit_state(tiny, lambda s: s["families"][0].update(family=["x"]))
    result = cli("sweep", "--resume", tiny)
    assert result.returncode == 0, result.stderr
    assert "rebuilt from settings.json" in result.stdout and "(2 already done)" in result.stdout


def test_infinite_times_are_no_valid_time(tiny):
    path = tiny / "raw" / "primes__pool.json"
    text = path.read_text()
    data = json.loads(text)
    first = next(e for e in data["benchmarks"] if e.get("run_type") == "iteration")
    # 1e400 is infinity to a JSON reader; size and checksum are updated as a sweep would
    path.write_text(text.replace(json.dumps(first["real_time"]), "1e400", 1))
    from parbench.runner.sweep import file_digest
    edit_state(tiny, lambda s: [f.update(bytes=path.stat().st_size, sha256=file_digest(path))
                                for f in s["families"] if f["file"].endswith("primes__pool.json")])
    result = cli("analyze", tiny)
    assert result.returncode == 0 and "Warning" not in result.stderr, result.stderr
    errors = json.loads((tiny / "analysis.json").read_text())["errors"]
    assert any("no valid time" in e["errors"] for e in errors)


@pytest.mark.parametrize("plant,verb", [
    ("sweep.json", "resume"), ("raw/primes__serial.json", "analyze"), ("env.json", "check"),
    ("sibling/sweep.json", "analyze"),
])
def test_a_fifo_in_a_results_folder_does_not_hang(tmp_path, tiny, plant, verb):
    path = tiny / plant if not plant.startswith("sibling/") else tmp_path / plant
    path.parent.mkdir(exist_ok=True)
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    args = ["sweep", "--resume", tiny] if verb == "resume" else [verb, tiny] + (
        ["--no-remeasure"] if verb == "check" else [])
    result = cli(*args, timeout=120)  # a hang fails here (TimeoutExpired)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    if plant == "raw/primes__serial.json":
        assert_one_line(result, "not a regular file")


# --- refused before the results folder exists ---------------------------------------------------

@pytest.mark.parametrize("line,env,needle", [
    ('workloads = ["nope"]', {}, "unknown workload 'nope'"),
    ('weak_scaling = ["fib"]', {}, "weak_scaling names fib, which this sweep does not run"),
    ("workers = [4096]", {}, "workers must be a whole number in [1, 1024]"),
    ('omp_wait_policies = ["passive", "passive"]', {}, "omp_wait_policies names passive more than once"),
    ('workloads = ["tcp_echo"]', {"PARBENCH_TCP_PAYLOAD": "abc"}, "PARBENCH_TCP_PAYLOAD=abc: not an integer"),
    ('workloads = ["tcp_echo"]', {"PARBENCH_TCP_DELAY_US": "1e20"}, "PARBENCH_TCP_DELAY_US=1e20"),
    ('workloads = ["sleep_io"]', {"PARBENCH_SLEEP_US": "-5"}, "PARBENCH_SLEEP_US=-5"),
    ('workloads = ["file_read"]', {"PARBENCH_FILE_KIB": "0"}, "PARBENCH_FILE_KIB=0"),
    ('workloads = ["primes"]', {"PARBENCH_IO_DIR": "/nonexistent"}, "PARBENCH_IO_DIR=/nonexistent: no such folder"),
    ('workloads = ["primes"]', {"TMPDIR": "/nonexistent"}, "TMPDIR=/nonexistent: no such folder"),
])
def test_a_late_found_mistake_leaves_no_folder(tmp_path, bench, line, env, needle):
    config = tmp_path / "c.toml"
    config.write_text(with_line("sweep", line))
    out = tmp_path / "run"
    result = cli("sweep", "--config", config, "--out", out, env=env)
    assert_one_line(result, needle)
    assert "parbench: parbench:" not in result.stderr
    assert not out.exists()


def test_a_missing_baseline_is_said_before_any_family(tmp_path, bench):
    config = tmp_path / "c.toml"
    config.write_text(BASE)
    out = tmp_path / "run"
    assert_one_line(cli("sweep", "--config", config, "--out", out, "--baseline", tmp_path / "none"), "no such")
    assert not out.exists()


def test_a_config_file_gets_default_toml_for_what_it_leaves_out():
    import tomllib
    from parbench import config as config_module
    documented = tomllib.loads((ROOT / "benchmarks" / "sweeps" / "default.toml").read_text())["sweep"]
    built_in = config_module.SweepConfig()
    # left out on purpose, and said in default.toml: weak_scaling (off) and what "all"/"auto" mean
    for key, value in documented.items():
        if key in ("description", "weak_scaling") or value in ("all", "auto"):
            continue
        assert getattr(built_in, key) == value, key
    assert "left out of a config file: false" in (ROOT / "benchmarks" / "sweeps" / "default.toml").read_text()


def test_an_inherited_spin_calibration_is_said_and_reported(tmp_path, bench):
    config = tmp_path / "c.toml"
    config.write_text(BASE.replace('models = ["serial", "pool"]', 'models = ["serial"]').replace(
        "workers = [1, 2]", "workers = [1]"))
    out = tmp_path / "run"
    result = cli("sweep", "--config", config, "--out", out, env={"PARBENCH_SPIN_ITERS_PER_US": "100"})
    assert result.returncode == 0, result.stderr
    assert "PARBENCH_SPIN_ITERS_PER_US=100 from the environment replaces" in result.stdout
    assert "given by PARBENCH_SPIN_ITERS_PER_US in the environment" in (out / "report.md").read_text()


def test_a_config_description_is_text_in_the_markdown_report(tmp_path, bench):
    config = tmp_path / "c.toml"
    config.write_text(with_line("sweep", 'description = "<script>alert(1)</script>"').replace(
        'models = ["serial", "pool"]', 'models = ["serial"]').replace("workers = [1, 2]", "workers = [1]"))
    out = tmp_path / "run"
    assert cli("sweep", "--config", config, "--out", out).returncode == 0
    text = (out / "report.md").read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text


# --- the second review's findings -----------------------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("points", "x"), ("points", [1]), ("cores", None), ("verdicts", [None]), ("warnings", [1, 2]),
    ("previous", 5), ("primitive_tables", []),
])
@pytest.mark.parametrize("verb", ["plot", "report"])
def test_a_damaged_analysis_is_made_again_not_half_drawn(tiny, verb, field, value):
    path = tiny / "analysis.json"
    data = json.loads(path.read_text())
    data[field] = value
    path.write_text(json.dumps(data))
    result = cli(verb, tiny)
    assert result.returncode == 0, result.stderr
    assert "changed since analyze wrote it, or written on another machine: analysed again" in result.stderr
    from parbench.state import load_analysis
    assert load_analysis(tiny)[field] != value  # the analysis written again, and intact


@pytest.mark.parametrize("change,needle", [
    (lambda s: s.update(binary_info="x"), "settings.json: binary_info is \"x\", not an object"),
    (lambda s: s["binary_info"].update(spin_iters_per_us=-5), "settings.json: binary_info.spin_iters_per_us is -5"),
    (lambda s: s["config"].update(workers="x"), "settings.json: [sweep] workers must be a non-empty list"),
    (lambda s: s.update(parbench_sweep=99), "settings.json: sweep state format 99"),
])
def test_a_damaged_settings_file_is_named_when_the_state_is_rebuilt(tiny, change, needle):
    (tiny / "sweep.json").write_text("garbage")
    settings = json.loads((tiny / "settings.json").read_text())
    change(settings)
    (tiny / "settings.json").write_text(json.dumps(settings))
    assert_one_line(cli("sweep", "--resume", tiny), needle)


def test_one_unverified_repetition_fails_check_and_the_gate(tmp_path, tiny):
    a = tmp_path / "a"
    shutil.copytree(tiny, a)
    rewrite_raw(tiny, "primes__pool.json", lambda rows: next(
        r for r in rows if r.get("run_type") == "iteration" and "/p:2/" in r["name"]).update(verified=0))
    result = cli("check", tiny, "--no-remeasure")
    assert result.returncode == 1 and "primes/pool (strong)" in result.stdout, result.stdout
    gate = cli("compare", a, tiny, "--fail-on-regression", "5")
    assert gate.returncode == 1 and "not verified" in gate.stdout, gate.stdout


def test_a_copied_raw_file_is_refused_not_pooled(tmp_path, tiny):
    plain = tmp_path / "plain"
    (plain / "raw").mkdir(parents=True)
    shutil.copy(tiny / "raw" / "primes__pool.json", plain / "raw" / "a.json")
    shutil.copy(tiny / "raw" / "primes__pool.json", plain / "raw" / "b.json")
    assert_one_line(cli("analyze", plain), "is also in a.json (a copied file?")


def test_a_repetition_given_twice_is_refused(tiny):
    rewrite_raw(tiny, "primes__pool.json", lambda rows: rows.append(
        dict(next(r for r in rows if r.get("run_type") == "iteration"))))
    assert_one_line(cli("analyze", tiny), "appears twice")


@pytest.mark.parametrize("change,needle", [
    (lambda s: s["families"][0].update(status="weird"), "families[0].status is 'weird'"),
    (lambda s: s["families"][0].update(file="/etc/passwd"), "families[0].file is \"/etc/passwd\""),
    (lambda s: s["families"][0].update(file="raw/../raw/primes__serial.json"), "not a file raw/<name>.json"),
    (lambda s: s["families"][0].update(instances=-4), "families[0].instances is -4"),
    (lambda s: s.update(status="weird"), "status is \"weird\""),
    (lambda s: s["binary_info"].update(hardware_threads="x"), "binary_info.hardware_threads is \"x\""),
    (lambda s: s["binary_info"].update(hardware_threads=0), "binary_info.hardware_threads is 0"),
])
def test_a_state_that_would_drop_a_family_is_one_line(tiny, change, needle):
    edit_state(tiny, change)
    assert_one_line(cli("analyze", tiny), needle)


@pytest.mark.parametrize("line,needle", [
    ('amdahl_models = ["bogus"]', "[check] unknown model 'bogus'"),
    ('efficiency_workloads = ["bogus"]', "[check] unknown workload 'bogus'"),
    ('efficiency_models = ["py_bogus"]', "[check] names unknown Python model(s) py_bogus"),
])
def test_an_unknown_check_name_is_one_line_and_no_folder(tmp_path, bench, line, needle):
    config = tmp_path / "c.toml"
    config.write_text(with_line("check", line))
    out = tmp_path / "run"
    assert_one_line(cli("sweep", "--config", config, "--out", out), needle)
    assert not out.exists()


def test_report_refuses_a_damaged_or_linked_env_json(tmp_path, tiny):
    (tiny / "env.json").write_text("garbage")
    assert_one_line(cli("report", tiny), "env.json: malformed JSON")
    other = tmp_path / "other.json"
    other.write_text("{}")
    (tiny / "env.json").unlink()
    (tiny / "env.json").symlink_to(other)
    assert_one_line(cli("report", tiny), "a symbolic link inside a results folder")


@pytest.mark.parametrize("flag,needle", [
    ("--benchmark_format=xml", "--benchmark_format: 'xml' is not one of console, json, csv"),
    ("--benchmark_out_format=xml", "--benchmark_out_format: 'xml' is not one of"),
    ("--benchmark_time_unit=parsec", "--benchmark_time_unit: 'parsec' is not one of ns, us, ms, s"),
    ("--benchmark_out=/nonexistent/dir/x.json", "--benchmark_out: no folder /nonexistent/dir"),
])
def test_a_bad_google_benchmark_flag_is_one_line(bench, flag, needle):
    assert_one_line(run_bench("--workloads=primes", "--models=serial", "--size=small", flag), needle)


def test_an_absurd_time_is_no_valid_time_without_warnings(tiny):
    rewrite_raw(tiny, "primes__pool.json", lambda rows: next(
        r for r in rows if r.get("run_type") == "iteration").update(real_time=1e308))
    result = cli("analyze", tiny)
    assert result.returncode == 0 and "Warning" not in result.stderr, result.stderr
    assert any("no valid time" in e["errors"] for e in json.loads((tiny / "analysis.json").read_text())["errors"])


@pytest.mark.parametrize("verb", ["analyze", "plot", "report"])
def test_the_writing_verbs_wait_for_a_sweeps_lock(tiny, verb):
    from parbench.util import FolderLock
    before = (tiny / "analysis.json").read_bytes()
    with FolderLock(tiny):  # a sweep (or check's re-measurement) writing the folder
        assert_one_line(cli(verb, tiny), f"in use by PID {os.getpid()}")
    assert (tiny / "analysis.json").read_bytes() == before
