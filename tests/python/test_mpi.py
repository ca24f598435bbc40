"""The mpi model and the mpi/ family through the sweep: the [mpi] table, launching jobs of
ranks, bad input (no launcher, no hostfile), and a rank killed mid-run."""
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from parbench import UserError, config as config_module
from parbench.runner.family import Family
from parbench.runner.mpi import check_mpi_setup, launcher_command
from support import run_cli

BENCH = os.environ.get("PARBENCH_BENCH", "")
needs_mpi = pytest.mark.skipif(
    not BENCH or shutil.which("mpirun") is None
    or "mpi " not in subprocess.run([BENCH, "list", "--models=all"], capture_output=True, text=True).stdout,
    reason="needs the benchmark binary built with Open MPI and mpirun")


def load(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return config_module.load(str(path))


def test_mpi_table_is_read_and_checked(tmp_path):
    config = load(tmp_path, '[mpi]\nranks = [2, 4]\nsizes = [8, 1024]\nhosts = ["a:2", "b:2"]\n')
    assert config.mpi.ranks == [2, 4] and config.mpi.hosts == ["a:2", "b:2"]
    assert launcher_command(config, 4)[:4] == ["mpirun", "-np", "4", "--oversubscribe"]
    assert "--host" in launcher_command(config, 4)
    for bad, words in (('[mpi]\nlauncer = "x"\n', "unknown key 'launcer'"),
                       ('[mpi]\nranks = [0]\n', "ranks must be positive"),
                       ('[mpi]\nhosts = ["a"]\nhostfile = "h"\n', "not both"),
                       ('[mpi]\nsizes = "big"\n', "wrong type")):
        with pytest.raises(UserError, match=words):
            load(tmp_path, bad)
    # Saved with the sweep and read back.
    assert config_module.from_saved(config.to_dict()).mpi == config.mpi


def test_a_job_runs_only_its_rank_count():
    family = Family("primes/mpi", False, 3, ranks=4)
    assert family.benchmark_filter == r"^primes/mpi/(.*/)?(p|ranks):4(/|$)"
    assert family.key != Family("primes/mpi", False, 3, ranks=2).key
    assert Family("mpi/latency", False, 1, ranks=2).benchmark_filter == "^mpi/latency(/|$)"
    # One rank is no job: that family runs p:1 alone, never the jobs' rank counts again.
    assert Family("primes/mpi", False, 1).benchmark_filter == r"^primes/mpi/(.*/)?p:1(/|$)"
    assert Family("overhead/parallel_for/mpi", False, 1).benchmark_filter == (
        r"^overhead/parallel_for/mpi/(.*/)?p:1(/|$)")
    assert Family("primes/pool", False, 3).benchmark_filter == r"^primes/pool(/|$)"


def test_env_json_and_the_report_say_how_the_jobs_ran(tmp_path):
    from parbench import envinfo
    from parbench.report import common as report
    config = load(tmp_path, '[mpi]\nlauncher = "no-such-mpirun"\nlauncher_args = ["--bind-to", "none"]\n')
    info = envinfo.mpi_info(config.mpi, launcher_command(config, "<p>"))
    assert info["launch"] == "no-such-mpirun -np <p> --oversubscribe --bind-to none"
    assert "oversubscribed" in info["binding"] and "dynamic" in info["schedule"]
    rows = report._mpi_rows({"mpi": info})
    assert rows[0][1].endswith("jobs: no-such-mpirun -np <p> --oversubscribe --bind-to none")
    assert "schedule dynamic" in rows[2][1]
    assert report._mpi_rows({}) == [] and report._mpi_rows({"mpi": "foreign"}) == []


def test_missing_launcher_and_hostfile_are_one_clear_line(tmp_path):
    families = [Family("primes/mpi", False, 1, ranks=2)]
    config = load(tmp_path, '[mpi]\nlauncher = "no-such-mpirun"\n')
    with pytest.raises(UserError, match="launcher 'no-such-mpirun' not found"):
        check_mpi_setup(config, families)
    config = load(tmp_path, f'[mpi]\nhostfile = "{tmp_path}/missing"\n')
    if shutil.which("mpirun"):
        with pytest.raises(UserError, match="missing: no such file"):
            check_mpi_setup(config, families)
    check_mpi_setup(load(tmp_path, '[mpi]\nlauncher = "no-such-mpirun"\n'), [Family("primes/pool", False, 1)])


def mpi_environment():
    return dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


@needs_mpi
def test_a_launched_job_is_one_job_and_verifies(tmp_path):
    out = tmp_path / "out.json"
    result = subprocess.run(
        ["mpirun", "-np", "2", "--oversubscribe", BENCH, "--models=mpi", "--workloads=primes,histogram",
         "--p=2", "--size=small", "--primitives=mpi/latency,mpi/tcp_latency", "--benchmark_min_time=0.01",
         f"--benchmark_out={out}", "--benchmark_out_format=json"],
        capture_output=True, text=True, env=dict(mpi_environment(), PARBENCH_MPI_SIZES="8"), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    runs = json.loads(out.read_text())["benchmarks"]
    assert {r["name"].split("/")[0] for r in runs} == {"primes", "histogram", "mpi"}
    for run in runs:
        assert not run.get("error_occurred"), run
        assert run["verified"] == 1 and run["mpi_launched"] == 1, run


def worker_pids(tag):
    """Ranks spawned by the run tagged `tag` (ranks get rank 0's PARBENCH_* settings as arguments),
    so that other tests' ranks running at the same time do not count."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"--parbench-worker=mpi" in line and f"PARBENCH_TEST_TAG={tag}".encode() in line:
                found.append(int(entry.name))
    return found


def mapped_anywhere(name):
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if name in (entry / "maps").read_text():
                    return True
            except OSError:
                continue
    return False


@needs_mpi
def test_a_killed_rank_fails_the_run_within_seconds_and_leaves_nothing():
    shm_before = set(os.listdir("/dev/shm"))
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    process = subprocess.Popen(
        [BENCH, "--models=mpi", "--workloads=primes", "--p=2", "--size=20000000", "--benchmark_min_time=30"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(mpi_environment(), PARBENCH_TEST_TAG=tag))
    try:
        deadline = time.monotonic() + 30
        while not worker_pids(tag) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        victims = worker_pids(tag)
        assert victims, "no rank started"
        os.kill(victims[0], signal.SIGKILL)
        killed = time.monotonic()
        output, _ = process.communicate(timeout=60)
        assert time.monotonic() - killed < 20
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "killed or crashed" in output, output[-2000:]
    deadline = time.monotonic() + 10

    def leftovers():
        new = set(os.listdir("/dev/shm")) - shm_before
        # Another test's live job maps its own files; a file nobody maps is left behind.
        return {name for name in new if name.startswith("vader") and not mapped_anywhere(name)}
    while (worker_pids(tag) or leftovers()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not worker_pids(tag), "ranks left behind"
    assert not leftovers(), f"shared-memory files left behind: {sorted(leftovers())}"


def test_the_ipc_chart_draws_mpi_beside_the_mechanisms(tmp_path, monkeypatch):
    from parbench.plot import primitives as plot
    figures = {}
    monkeypatch.setattr(plot, "save", lambda fig, out, name: figures.update({name: fig}) or [])
    analysis = {"ipc": [{"mechanism": "pipe", "mode": "pingpong", "size": 64, "us_per_message": 18.0},
                        {"mechanism": "pipe", "mode": "stream", "size": 65536, "bytes_per_second": 3e9}],
                "mpi": [{"benchmark": "latency", "size": 8, "us_per_iteration": 1.2},
                        {"benchmark": "latency_raw", "size": 8, "us_per_iteration": 1.1},
                        {"benchmark": "bandwidth", "size": 65536, "bytes_per_second": 9e9}]}
    plot.plot_ipc(analysis, tmp_path)
    lines = {(ax.get_title(), line.get_label()): list(line.get_ydata())
             for ax in figures["ipc"].axes for line in ax.get_lines()}
    assert lines[("Ping-pong latency", "MPI, 2 ranks (Open MPI)")] == [1.2]  # the round trip
    assert lines[("Streaming bandwidth", "MPI, 2 ranks (Open MPI)")] == [9.0]  # GB/s
    assert lines[("Ping-pong latency", "pipe")] == [18.0]


def test_the_report_sets_mpi_beside_raw_mpi_tcp_and_ipc():
    from parbench.report import document, primitives
    row = {"ranks": 2, "one_way_p99_us": None, "bytes_per_second": None, "launched": True}
    analysis = {"mpi": [dict(row, benchmark="latency", size=8, us_per_iteration=1.0, one_way_us=0.45),
                        dict(row, benchmark="latency_raw", size=8, us_per_iteration=0.9, one_way_us=None),
                        dict(row, benchmark="tcp_latency", size=8, us_per_iteration=30.0, one_way_us=14.0)],
                "ipc": [{"mechanism": "pipe", "mode": "pingpong", "size": 8, "us_per_message": 20.0}]}
    r = document.Report()
    primitives.mpi_section(r, analysis)
    text = r.markdown()
    assert "TCP between the ranks' hosts, one way (median)" in text
    line = next(row for row in text.splitlines() if row.startswith("| 8 B"))
    assert [cell.strip() for cell in line.strip("|").split("|")] == [
        "8 B", "500 ns", "450 ns", "–", "450 ns", "14.0 us", "10.0 us", "–", "–"]
    assert "one mpirun job" in text


@needs_mpi
def test_bench_launches_an_mpi_family_as_a_job_and_leaves_no_orted(bench_binary):
    # ./parbench bench (python -m parbench bench) runs mpi/latency as the sweep does: a job of 2
    # ranks under the launcher (mpi_launched), not a singleton spawning its ranks over TCP.
    def orteds():
        return set(subprocess.run(["pgrep", "-x", "orted"], capture_output=True, text=True).stdout.split())

    before = orteds()  # another test's singleton may still be leaving
    result = run_cli("bench", "--primitives=mpi/latency", "--benchmark_min_time=0.05", "--benchmark_format=json",
                     env={"PARBENCH_BENCH": str(bench_binary), "PARBENCH_MPI_SIZES": "8"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "as a job of 2 ranks" in result.stderr
    runs = [b for b in json.loads(result.stdout)["benchmarks"] if b.get("run_type") != "aggregate"]
    assert runs and all(run["mpi_launched"] == 1 and run["verified"] == 1 for run in runs)
    assert orteds() - before == set()  # the launcher reaped its daemon before it returned
