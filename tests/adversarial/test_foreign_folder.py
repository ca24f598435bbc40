"""A results folder from someone else is data, never code: no module of the folder the user
stands in is imported, no program a folder's records name is run, no edit of a raw file passes
unnoticed, no file is written through a link planted at its name, the report holds no active
link or tag, the terminal gets no control character, and MPI listens on loopback only."""
import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from support import ROOT, adopt, assert_one_line, cli, environment, leftovers, record_raw, rewrite_raw

TINY = """
[sweep]
size = "small"
workloads = ["primes"]
models = ["serial", "pool"]
workers = [1, 2]
repetitions = 3
min_time = 0.01
family_timeout = 120
primitives = []
python = ""

[check]
amdahl_models = []
efficiency_workloads = ["primes"]
efficiency_models = ["pool"]
efficiency_min = 1.9
"""


@pytest.fixture(scope="module")
def made_here(tmp_path_factory):
    """A tiny finished sweep made here, whose efficiency check always fails (threshold 1.9), so
    that check wants to re-measure a family. Tests copy it (`mine` or `theirs`)."""
    where = tmp_path_factory.mktemp("made")
    (where / "c.toml").write_text(TINY)
    result = cli("sweep", "--config", where / "c.toml", "--out", where / "run")
    assert result.returncode == 1 or result.returncode == 0, result.stderr
    assert json.loads((where / "run" / "sweep.json").read_text())["status"] == "complete"
    return where / "run"


@pytest.fixture
def mine(made_here, tmp_path):
    copy = tmp_path / "mine"
    shutil.copytree(made_here, copy)
    return adopt(copy)


@pytest.fixture
def theirs(made_here, tmp_path):
    copy = tmp_path / "theirs"
    shutil.copytree(made_here, copy)  # same host name and commit in env.json, but not started here
    return copy


def evil_program(tmp_path, name="evil") -> tuple[Path, Path]:
    """An executable that leaves a marker when run; (program, marker)."""
    marker = tmp_path / f"{name}.ran"
    program = tmp_path / name
    program.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    program.chmod(0o755)
    return program, marker


def edit_config(folder: Path, **changes) -> None:
    for name in ("sweep.json", "settings.json"):
        path = folder / name
        state = json.loads(path.read_text())
        for key, value in changes.items():
            table, _, field = key.rpartition("__")
            (state["config"][table] if table else state["config"])[field] = value
        replacement = path.with_name(".edit.tmp")
        replacement.write_text(json.dumps(state))
        replacement.replace(path)


# --- 1. no code from the current folder ----------------------------------------------------------

PLANTED_MODULES = ["numpy", "scipy", "matplotlib", "json", "re", "tomllib", "runpy", "signal", "subprocess",
                   "socket", "statistics", "hashlib", "csv", "html", "sitecustomize", "usercustomize", "launch",
                   "pytrack_info", "struct", "random"]
PLANTED_PACKAGES = ["parbench", "pytrack", "multiprocessing", "concurrent", "asyncio", "xml", "email"]


@pytest.fixture
def planted(tmp_path):
    """A folder holding modules and packages that shadow parbench's own and the ones it
    imports; importing any of them leaves a marker in markers/."""
    folder = tmp_path / "downloaded"
    markers = tmp_path / "markers"
    folder.mkdir()
    markers.mkdir()
    body = "open({marker!r}, 'w').close()\nraise ImportError('a planted module ran')\n"
    for name in PLANTED_MODULES:
        (folder / f"{name}.py").write_text(body.format(marker=str(markers / name)))
    for name in PLANTED_PACKAGES:
        (folder / name).mkdir()
        for part in ("__init__", "__main__"):
            (folder / name / f"{part}.py").write_text(body.format(marker=str(markers / f"{name}.{part}")))
    # read by matplotlib from the current folder: it would restyle the charts
    (folder / "matplotlibrc").write_text(f'figure.facecolor: "#{PLANTED_COLOUR}"\nbackend: module://numpy\n')
    return folder, markers


PLANTED_COLOUR = "123457"


def parbench_entry(*args, cwd, env=None, timeout=600) -> subprocess.CompletedProcess:
    """./parbench ARGS (the bash entry point, as users run it) from the folder `cwd`."""
    if not (ROOT / "build" / "release" / "parbench_bench").exists():
        pytest.skip("./parbench uses the release build, which is not built")
    return subprocess.run([str(ROOT / "parbench"), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=environment(env), timeout=timeout)


TRACK_SWEEP = TINY.replace('python = ""', 'python = "/usr/bin/python3"\npython_workers = [1, 2]').replace(
    'models = ["serial", "pool"]', 'models = ["serial", "pool", "py_serial", "py_process_pool"]')


def test_no_verb_imports_code_from_the_current_folder(tmp_path, planted, bench):
    folder, markers = planted
    config = tmp_path / "t.toml"
    config.write_text(TRACK_SWEEP)
    run = tmp_path / "run"
    spawn = {"PARBENCH_PY_START_METHOD": "spawn"}  # the process models start new interpreters
    results = [parbench_entry("sweep", "--config", config, "--out", run, cwd=folder, env=spawn)]
    assert (run / "report.html").exists(), results[0].stdout[-2000:] + results[0].stderr[-2000:]
    for args in (["help"], ["list"], ["analyze", run], ["plot", run], ["report", run], ["compare", run, run],
                 ["check", run], ["pybench", "--workloads=primes", "--models=py_process_pool", "--p=2",
                                  "--size=small", "--", "--benchmark_min_time=0.01"]):
        results.append(parbench_entry(*args, cwd=folder, env=spawn))
    assert not list(markers.iterdir()), sorted(p.name for p in markers.iterdir())
    assert not [p.name for p in (run / "plots").glob("*.svg") if PLANTED_COLOUR in p.read_text()]
    for result in results:
        assert "planted" not in result.stderr and "Traceback" not in result.stderr, result.stderr[-2000:]


# --- 2. a folder's records never name a program to run -------------------------------------------

def test_check_never_runs_a_program_a_foreign_folder_names(tmp_path, theirs):
    program, marker = evil_program(tmp_path)
    edit_config(theirs, python=str(program), mpi__launcher=str(program),
                mpi__launcher_args=["--mca", "plm_rsh_agent", str(program)])
    result = cli("check", theirs)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not re-measured: not a sweep this checkout started on this machine" in result.stdout, result.stdout
    assert "it is a copy" in result.stdout
    assert not marker.exists()
    assert_one_line(cli("sweep", "--resume", theirs), "not a sweep this checkout started on this machine")
    assert not marker.exists()


def test_a_foreign_id_or_another_checkout_is_not_ownership(tmp_path, mine, theirs):
    from parbench import provenance
    # their folder claims my sweep's id: the record names my folder, not theirs
    my_id = json.loads((mine / "sweep.json").read_text())["sweep_id"]
    state = json.loads((theirs / "sweep.json").read_text())
    state["sweep_id"] = my_id
    (theirs / "sweep.json").write_text(json.dumps(state))
    assert provenance.owned(theirs, my_id)[0] is None
    assert provenance.owned(mine, my_id)[0] is not None
    for bad in ("../../etc/passwd", "", 5, None, "A" * 32):
        assert provenance.owned(mine, bad)[0] is None
    record_path = provenance.state_dir() / "sweeps" / f"{my_id}.json"
    record = json.loads(record_path.read_text())
    record["checkout"] = "/somewhere/else"
    record_path.write_text(json.dumps(record))
    assert "another checkout" in provenance.owned(mine, my_id)[1]
    assert record_path.stat().st_mode & 0o077 == 0 and record_path.parent.stat().st_mode & 0o077 == 0


def test_my_own_folder_is_re_measured_with_this_machines_record_not_its_edited_records(tmp_path, mine):
    program, marker = evil_program(tmp_path)
    edit_config(mine, python=str(program), mpi__launcher=str(program), mpi__launcher_args=[str(program)])
    result = cli("check", mine)
    assert "measuring it once more" in result.stdout or "measuring them once more" in result.stdout, result.stdout
    assert "differs from this machine's record of the sweep in mpi.launcher, mpi.launcher_args, python" in \
        result.stderr, result.stderr
    assert not marker.exists()
    rechecks = json.loads((mine / "sweep.json").read_text())["rechecks"]
    assert rechecks and all(r["status"] == "ok" for r in rechecks)
    result = cli("sweep", "--resume", mine)
    assert result.returncode in (0, 1) and not marker.exists(), result.stderr


# --- 3. every verb verifies what it reads --------------------------------------------------------

def scale_times(folder: Path, name: str, factor: float) -> None:
    """Edits raw/NAME's times without recording it (tampering)."""
    path = folder / "raw" / name
    data = json.loads(path.read_text())
    for entry in data["benchmarks"]:
        if "real_time" in entry:
            entry["real_time"] *= factor
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("name", ["primes__pool.json", "primes__serial.json"])
def test_a_raw_file_changed_after_the_sweep_fails_check_and_stops_every_verb(tmp_path, mine, name):
    scale_times(mine, name, 0.45)
    result = cli("check", mine, "--no-remeasure")
    assert result.returncode == 1
    assert re.search(rf"raw file intact\s+raw/{name}\s+changed since the sweep wrote it", result.stdout), result.stdout
    for verb in ("analyze", "plot", "report"):
        assert_one_line(cli(verb, mine), f"raw/{name}: changed since the sweep wrote it")
    other = tmp_path / "other"
    shutil.copytree(mine, other)
    assert_one_line(cli("compare", other, mine), f"raw/{name}: changed since the sweep wrote it")


@pytest.mark.parametrize("spoil", ["nan", "errors", "unverified", "negative"])
def test_a_family_with_no_valid_row_fails_check_never_vanishes(mine, spoil):
    def change(rows):
        for row in rows:
            if spoil == "nan":
                row["real_time"] = float("nan")
            elif spoil == "errors":
                row.update(error_occurred=True, error_message="bad")
            elif spoil == "unverified":
                row["verified"] = 0
            else:
                row["real_time"] = -1.0
    rewrite_raw(mine, "primes__pool.json", change)  # recorded: the sweep's own measurement came out so
    result = cli("check", mine, "--no-remeasure")
    assert result.returncode == 1, result.stdout
    assert re.search(r"valid measurements\s+primes/pool\s+0 of \d+ benchmarks", result.stdout), result.stdout


# --- 4. writes replace, never write through ------------------------------------------------------

def digests(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


def test_a_hard_linked_copy_leaves_the_original_untouched(tmp_path, mine):
    before = digests(mine)
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-al", str(mine), str(copy)], check=True)
    (copy / "analysis.json").unlink()  # made again
    for args in (["analyze", copy], ["plot", copy], ["report", copy], ["check", copy]):
        cli(*args)
    assert_one_line(cli("sweep", "--resume", copy), "not a sweep this checkout started on this machine")
    # the copy adopted as one's own (a colleague's folder continued here), with a family to run again
    adopt(copy)
    state = json.loads((copy / "sweep.json").read_text())
    state["families"] = [f for f in state["families"] if f["family"] != "primes/pool"]
    state["status"] = "interrupted"
    (copy / ".s.tmp").write_text(json.dumps(state))
    (copy / ".s.tmp").replace(copy / "sweep.json")
    result = cli("sweep", "--resume", copy)
    assert result.returncode in (0, 1), result.stderr
    assert "primes/pool" in result.stdout
    assert digests(mine) == before


WRITTEN_NAMES = [".lock", "analysis.json", "report.md", "report.html", "check.json", "points.csv",
                 "plots/figures.json", "plots/speedup_threads.png", "logs/primes__pool.log", "env.json",
                 "sweep.json", "raw/primes__pool.json"]


@pytest.mark.parametrize("verb", ["analyze", "plot", "report", "check", "resume"])
def test_a_hard_link_planted_at_any_written_name_is_replaced(tmp_path, mine, verb):
    state = json.loads((mine / "sweep.json").read_text())
    if verb == "resume":  # a family to run again: its log and raw file are written anew
        state["families"] = [f for f in state["families"] if f["family"] != "primes/pool"]
        state["status"] = "interrupted"
    victims = {}
    for name in WRITTEN_NAMES:
        path = mine / name
        victim = tmp_path / "victims" / name.replace("/", "_")
        victim.parent.mkdir(exist_ok=True)
        content = json.dumps(state).encode() if name == "sweep.json" else (
            path.read_bytes() if path.is_file() else b"victim")
        victim.write_bytes(content)
        path.parent.mkdir(exist_ok=True)
        path.unlink(missing_ok=True)
        os.link(victim, path)
        victims[name] = (victim, content)
    args = ["sweep", "--resume", mine] if verb == "resume" else [verb, mine] + (
        ["--no-remeasure"] if verb == "check" else [])
    result = cli(*args)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    for name, (victim, content) in victims.items():
        assert victim.read_bytes() == content, (name, result.stdout[-1000:], result.stderr[-1000:])


def test_files_are_0644_and_state_0600_whatever_the_umask(tmp_path, bench):
    config = tmp_path / "c.toml"
    config.write_text(TINY)
    run = tmp_path / "run"
    result = subprocess.run(["sh", "-c", 'umask 000 && exec "$@"', "sh", sys.executable, "-m", "parbench", "sweep",
                             "--config", str(config), "--out", str(run)],
                            capture_output=True, text=True, env=environment(), timeout=600)
    assert (run / "report.html").exists(), result.stderr
    for path in [run, *run.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        if path.is_dir():
            assert mode == 0o755, (path, oct(mode))
        elif path.name in ("sweep.json", "settings.json", ".lock"):
            assert mode == 0o600, (path, oct(mode))
        else:
            assert mode == 0o644, (path, oct(mode))


# --- 5. inert output -------------------------------------------------------------------------------

ACTIVE = ["[a](javascript:alert(1))", "[b](JaVaScRiPt:alert(2))", "[c]( javascript:alert(3))",
          "[d](java\tscript:alert(4))", "[e](&#106;avascript:alert(5))", "[f](data:text/html;base64,PHNjcmlwdD4=)",
          "[g](vbscript:msgbox(7))", "[h](<javascript:alert(8)>)", "<script>alert(9)</script>",
          "<img src=x onerror=alert(10)>", "[i]: javascript:alert(11)", "[ok](https://example.org/x)"]

_HREF = re.compile(r"""\b(?:href|src|action|formaction)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)


def active_targets(page: str) -> list[str]:
    """The link and source targets of an HTML page that would run or load code."""
    found = []
    for match in _HREF.finditer(page):
        target = re.sub(r"[\x00-\x20]", "", html.unescape(match.group(1).strip("\"'"))).lower()
        if target.startswith(("javascript:", "vbscript:")) or (target.startswith("data:")
                                                               and not target.startswith("data:image/png;base64,")):
            found.append(target[:60])
    return found


def test_links_and_tags_from_a_folder_are_inert_in_both_reports(mine):
    path = mine / "raw" / "primes__pool.json"
    data = json.loads(path.read_text())
    data["context"]["model_note:pool"] = " ".join(ACTIVE)
    data["context"]["model_note:serial"] = "\n".join(ACTIVE)
    path.write_text(json.dumps(data))
    record_raw(mine, "primes__pool.json")
    check = {"when": "now", "rows": [{"check": c, "subject": c, "measured": c, "threshold": "", "result": "FAIL",
                                      "note": c} for c in ACTIVE]}
    from parbench.provenance import signature
    from parbench.state import state_digest
    check["sweep_sha256"] = state_digest(mine)
    check["digest"] = signature(check)  # as check writes it: its rows are shown, and must be inert
    (mine / "check.json").write_text(json.dumps(check))
    result = cli("report", mine)
    assert result.returncode == 0, result.stderr
    page = (mine / "report.html").read_text()
    assert not active_targets(page), active_targets(page)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert 'href="https://example.org/x"' in page  # an inert link stays a link
    text = (mine / "report.md").read_text()
    assert "<script" not in text and "<img" not in text
    for label in "abcdefgh":  # each unsafe link defused: its "]" escaped, so no viewer links it
        assert re.search(rf"\[{label}\\\]", text), label
    assert "[i\\]: javascript" in text
    rendered = render_markdown(text)
    if rendered is not None:
        assert not active_targets(rendered) and "<script" not in rendered, active_targets(rendered)


def render_markdown(text: str) -> str | None:
    """report.md as a Markdown viewer renders it (cmark, raw HTML allowed), or None without cmark."""
    if shutil.which("cmark") is None:
        return None
    return subprocess.run(["cmark", "--unsafe"], input=text, capture_output=True, text=True, check=True).stdout


ESCAPING = ["[one\\](javascript:alert(1))", "[two](javascript\\:alert(2))", "[three\\\\](javascript:alert(3))",
            "[four](java&#x73;cript:alert(4))", "[five](\\javascript:alert(5))", "[six]\n(javascript:alert(6))",
            "[seven](#ok) [eight](javascript:alert(8) \"t\")", "<javascript:alert(9)>"]


@pytest.mark.parametrize("where", ["description", "model_note"])
def test_a_backslash_or_an_escape_in_the_data_cannot_rebuild_a_link(mine, where):
    text = " ".join(ESCAPING)
    if where == "description":
        for name in ("sweep.json", "settings.json"):
            state = json.loads((mine / name).read_text())
            state["config"]["description"] = text
            (mine / name).write_text(json.dumps(state))
        if (json.loads((mine / "sweep.json").read_text())).get("sweep_id"):
            adopt(mine)  # this machine's record holds the description too
    else:
        path = mine / "raw" / "primes__pool.json"
        data = json.loads(path.read_text())
        data["context"]["model_note:pool"] = text
        path.write_text(json.dumps(data))
        record_raw(mine, "primes__pool.json")
    result = cli("report", mine)
    assert result.returncode == 0, result.stderr
    markdown = (mine / "report.md").read_text()
    assert "alert(1)" in markdown  # the data is there, as text
    rendered = render_markdown(markdown)
    if rendered is None:
        pytest.skip("no cmark to render report.md with")
    assert not active_targets(rendered), active_targets(rendered)
    assert not active_targets((mine / "report.html").read_text())


def test_a_check_json_not_written_here_is_not_shown_as_checks_verdict(mine):
    from parbench.state import state_digest
    forged = {"when": "now", "sweep_sha256": state_digest(mine),
              "rows": [{"check": "all", "subject": "fine", "measured": "", "threshold": "", "result": "PASS",
                        "note": ""}]}
    body = json.dumps({k: v for k, v in forged.items()}, sort_keys=True).encode()
    forged["digest"] = hashlib.sha256(body).hexdigest()
    (mine / "check.json").write_text(json.dumps(forged))
    assert cli("report", mine).returncode == 0
    text = (mine / "report.md").read_text()
    assert "not written by ./parbench check on this machine" in text
    assert "1 PASS, 0 WARN, 0 FAIL" not in text and "FAIL" in text  # the report's own check: efficiency fails


def test_a_forged_analysis_with_its_checksum_recomputed_is_analysed_again(mine):
    path = mine / "analysis.json"
    analysis = json.loads(path.read_text())
    analysis["verdict_method"] = "<script>alert(1)</script> [x](javascript:alert(2))"
    analysis["warnings"] = ["<img src=x onerror=alert(3)>"]
    body = {k: v for k, v in analysis.items() if k != "digest"}
    analysis["digest"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    path.write_text(json.dumps(analysis))
    result = cli("report", mine)
    assert result.returncode == 0 and "analysed again" in result.stderr, result.stderr
    for name in ("report.md", "report.html"):
        text = (mine / name).read_text()
        assert "<script>alert" not in text and "onerror=alert" not in text and "javascript:alert" not in text


def test_no_control_character_reaches_the_terminal(tmp_path, mine):
    other = tmp_path / "other"
    shutil.copytree(mine, other)
    escape = "\x1b]0;pwned\x07\x1b[2J\x1b[31m"

    def rename(rows):
        for row in rows:
            for key in ("name", "run_name"):
                row[key] = row[key].replace("primes/pool", f"primes/pool{escape}")
    rewrite_raw(other, "primes__pool.json", rename)
    again = tmp_path / "again"
    shutil.copytree(other, again)
    results = [cli("compare", other, again), cli("check", other, "--no-remeasure"),
               cli("analyze", tmp_path / f"no{escape}such"), cli("compare", mine, tmp_path / f"x{escape}")]
    for result in results:
        for stream in (result.stdout, result.stderr):
            assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", stream), repr(stream[-500:])
    assert "\\x1b" in results[0].stdout + results[0].stderr


# --- 6. loopback unless asked ----------------------------------------------------------------------

def _listen_inodes(pids: set[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    return inodes


def wildcard_listeners(pids: set[int]) -> list[str]:
    """TCP listeners of `pids` bound to 0.0.0.0 or :: (from /proc/net/tcp and tcp6)."""
    inodes = _listen_inodes(pids)
    found = []
    for table, wildcard in (("tcp", "00000000"), ("tcp6", "0" * 32)):
        try:
            lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes and address.split(":")[0] == wildcard:
                found.append(f"{table} {address} inode {inode}")
    return found


def _descendants(pid: int) -> set[int]:
    from support import descendants
    return {pid, *descendants(pid)}


def watch_listeners(process: subprocess.Popen, seen: list) -> threading.Thread:
    def poll():
        while process.poll() is None:
            seen.extend(wildcard_listeners(_descendants(process.pid)))
            time.sleep(0.02)
    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    return thread


MPI_SWEEP = """
[sweep]
size = "small"
workloads = ["primes"]
models = ["serial", "mpi"]
workers = [1, 2]
repetitions = 2
min_time = 0.01
family_timeout = 180
primitives = ["mpi/latency", "mpi/tcp_latency", "mpi/allreduce"]
python = ""

[mpi]
sizes = [8]
ranks = [2]
"""


def test_mpi_listens_on_loopback_only_without_a_hostfile(tmp_path, bench):
    listing = subprocess.run([str(bench), "list", "--models=all"], capture_output=True, text=True).stdout
    if shutil.which("mpirun") is None or "mpi " not in listing:
        pytest.skip("no Open MPI in this build")
    config = tmp_path / "mpi.toml"
    config.write_text(MPI_SWEEP)
    seen: list = []
    sweep = subprocess.Popen([sys.executable, "-m", "parbench", "sweep", "--config", str(config), "--out",
                              str(tmp_path / "run")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=environment())
    watcher = watch_listeners(sweep, seen)
    out, err = sweep.communicate(timeout=900)
    watcher.join()
    assert sweep.returncode == 0, out[-2000:] + err[-2000:]
    assert not seen, sorted(set(seen))
    env = json.loads((tmp_path / "run" / "env.json").read_text())
    assert env["mpi"]["network"].startswith("loopback only")
    assert "MPI network" in (tmp_path / "run" / "report.md").read_text()
    # by hand (no launcher): the binary spawns its ranks, and Open MPI's daemon with them
    by_hand = subprocess.Popen([str(bench), "--workloads=none", "--primitives=mpi/tcp_latency,mpi/latency",
                                "--benchmark_min_time=0.01"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=environment({"PARBENCH_MPI_SIZES": "8"}))
    watcher = watch_listeners(by_hand, seen)
    out, err = by_hand.communicate(timeout=300)
    watcher.join()
    assert by_hand.returncode == 0 and "verified=1" in out, out[-2000:] + err[-2000:]
    assert not seen, sorted(set(seen))


# --- 7. the rest ---------------------------------------------------------------------------------

def test_check_after_an_interrupted_sweep_leaves_no_stale_verdict_once_resumed(mine):
    state = json.loads((mine / "sweep.json").read_text())
    state["families"] = [f for f in state["families"] if f["family"] != "primes/pool"]
    state["status"] = "interrupted"
    (mine / "sweep.json").write_text(json.dumps(state))
    result = cli("check", mine, "--no-remeasure")
    assert result.returncode == 1 and "status interrupted" in result.stdout
    assert cli("sweep", "--resume", mine).returncode in (0, 1)
    report = (mine / "report.md").read_text()
    assert "status interrupted" not in report and "FAIL complete sweep" not in report, report[:3000]


def test_check_waits_for_the_folders_lock(mine):
    from parbench.util import FolderLock
    before = (mine / "sweep.json").read_bytes()
    with FolderLock(mine):
        assert_one_line(cli("check", mine, "--no-remeasure"), f"in use by PID {os.getpid()}")
    assert (mine / "sweep.json").read_bytes() == before and not (mine / "check.json").exists()


@pytest.mark.parametrize("value", ["0.0001", "1e9", "nan", "-3"])
def test_an_absurd_spin_calibration_is_refused_before_the_folder_exists(tmp_path, bench, value):
    config = tmp_path / "c.toml"
    config.write_text(TINY)
    result = cli("sweep", "--config", config, "--out", tmp_path / "run", env={"PARBENCH_SPIN_ITERS_PER_US": value})
    assert result.returncode == 2 and "spin_iters_per_us" in result.stderr.lower(), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_hostfile_that_is_not_utf8_is_refused_before_the_folder_exists(tmp_path, bench):
    hostfile = tmp_path / "hosts"
    hostfile.write_bytes(b"node1 slots=2\n\xff\xfe\n")
    config = tmp_path / "c.toml"
    config.write_text(MPI_SWEEP + f'hostfile = "{hostfile}"\n')
    if shutil.which("mpirun") is None:
        pytest.skip("no mpirun")
    assert_one_line(cli("sweep", "--config", config, "--out", tmp_path / "run"), "not UTF-8")
    assert not (tmp_path / "run").exists()


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("spoil,needle", [
    (lambda env: env["cpu"].update(hardware_threads="two"), "cpu.hardware_threads"),
    (lambda env: env["load_average"].update(before="high"), "load_average.before"),
    (lambda env: env["load_average"].update(before=["x", 1]), "load_average.before[0]"),
    (lambda env: env.update(cpu=[1]), "cpu is [1], not an object"),
    (lambda env: env.update(mpi={"hosts": "all"}), "mpi.hosts"),
    (lambda env: env.update(hostname=5), "hostname is 5"),
    ("deep", "nested too deeply"),
    ("digits", "unreadable JSON"),
])
@pytest.mark.parametrize("verb", ["analyze", "report", "check", "compare"])
def test_a_bad_env_json_is_one_line_in_every_verb(tmp_path, mine, spoil, needle, verb):
    path = mine / "env.json"
    if spoil == "deep":
        path.write_text(deep(100000))
    elif spoil == "digits":
        path.write_text('{"hostname": "x", "cpu": {"hardware_threads": ' + "9" * 5000 + "}}")
    else:
        env = json.loads(path.read_text())
        spoil(env)
        path.write_text(json.dumps(env))
    (mine / "analysis.json").unlink()
    args = [verb, mine] + (["--no-remeasure"] if verb == "check" else []) + ([mine] if verb == "compare" else [])
    assert_one_line(cli(*args), needle)


def test_a_benchmark_binary_that_is_not_parbenchs_is_one_line(tmp_path, bench):
    config = tmp_path / "c.toml"
    config.write_text(TINY)
    for program in ("/bin/true", "/bin/echo"):
        assert_one_line(cli("sweep", "--config", config, "--out", tmp_path / "run",
                            env={"PARBENCH_BENCH": program}), f"PARBENCH_BENCH={program}")
        assert not (tmp_path / "run").exists()


def test_an_interpreter_whose_info_is_not_json_is_one_line(tmp_path, bench):
    fake = tmp_path / "python3.99"
    fake.write_text("#!/bin/sh\ncase \"$*\" in *version_info*) echo 3 99 ;; *) echo hello ;; esac\n")
    fake.chmod(0o755)
    config = tmp_path / "c.toml"
    config.write_text(TRACK_SWEEP.replace('python = "/usr/bin/python3"', f'python = "{fake}"'))
    assert_one_line(cli("sweep", "--config", config, "--out", tmp_path / "run"), "Python track")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGQUIT])
def test_sighup_and_sigquit_stop_a_sweep_cleanly(tmp_path, bench, sig):
    before = leftovers()
    io_dir = tmp_path / "io"
    io_dir.mkdir()
    config = tmp_path / "c.toml"
    config.write_text(TINY.replace('workloads = ["primes"]', 'workloads = ["primes", "file_read"]').replace(
        "min_time = 0.01", "min_time = 0.3"))
    run = tmp_path / "run"
    sweep = subprocess.Popen([sys.executable, "-m", "parbench", "sweep", "--config", str(config), "--out", str(run)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=environment({"PARBENCH_IO_DIR": str(io_dir)}))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(io_dir.glob("parbench-family-*")):
        time.sleep(0.02)
    sweep.send_signal(sig)
    out, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 128 + sig, out + err
    assert json.loads((run / "sweep.json").read_text())["status"] == "interrupted"
    assert not list(io_dir.iterdir())
    assert not (leftovers() - before)


def test_sigkill_of_check_while_it_re_measures_leaves_nothing_after_the_next_verb(mine):
    check = subprocess.Popen([sys.executable, "-m", "parbench", "check", str(mine)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=environment())
    from support import processes_running
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not processes_running(f"parbench-family-{check.pid}-"):
        time.sleep(0.01)
    assert processes_running(f"parbench-family-{check.pid}-"), "no re-measurement seen"
    check.kill()
    check.wait()
    time.sleep(0.5)  # the benchmark child dies with it (PR_SET_PDEATHSIG)
    cli("report", mine)
    assert not list(mine.rglob(".*.partial")) and not list(mine.rglob(".*.tmp"))


def test_compare_says_when_machines_or_configs_differ(tmp_path, mine):
    other = tmp_path / "other"
    shutil.copytree(mine, other)
    env = json.loads((other / "env.json").read_text())
    env["hostname"] = "elsewhere"
    env["cpu"]["model"] = "Another CPU"
    (other / "env.json").write_text(json.dumps(env))
    state = json.loads((other / "sweep.json").read_text())
    state["config"]["repetitions"] = 7
    (other / "sweep.json").write_text(json.dumps(state))
    result = cli("compare", mine, other)
    assert result.returncode == 0, result.stderr
    assert "come from different machines" in result.stdout and "elsewhere (Another CPU" in result.stdout
    assert "ran different configs (they differ in repetitions)" in result.stdout
    assert "different" not in cli("compare", mine, mine).stdout


# --- the second round: what a fresh attacker found ------------------------------------------------

def test_benchmark_output_is_never_written_inside_the_results_folder(tmp_path, mine):
    """Google Benchmark opens its output without O_NOFOLLOW: it writes it in the family's own
    private folder, never at a name in the results folder someone could put a link at."""
    from support import processes_running
    check = subprocess.Popen([sys.executable, "-m", "parbench", "check", str(mine)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=environment())
    commands = set()
    deadline = time.monotonic() + 120
    while check.poll() is None and time.monotonic() < deadline:
        for pid in processes_running("--benchmark_out="):
            try:
                commands.add(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"))
            except OSError:
                pass
        time.sleep(0.01)
    check.communicate(timeout=120)
    outs = [part for command in commands for part in command.split("\0") if part.startswith("--benchmark_out=")]
    assert outs, "no re-measurement seen"
    assert all(str(mine) not in out and ("/parbench-family-" in out or "/parbench-ceiling-" in out)
               for out in outs), outs


def test_a_folder_someone_else_owns_or_anyone_can_write_is_not_written(tmp_path, bench):
    import pwd
    config = tmp_path / "c.toml"
    config.write_text(TINY)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    if os.geteuid() == 0:
        os.chown(theirs, pwd.getpwnam("nobody").pw_uid, -1)
        assert_one_line(cli("sweep", "--config", config, "--out", theirs), "owned by another user")
        assert not list(theirs.iterdir())
    open_to_all = tmp_path / "open"
    open_to_all.mkdir()
    open_to_all.chmod(0o777)
    assert_one_line(cli("sweep", "--config", config, "--out", open_to_all), "writable by every user")
    assert not list(open_to_all.iterdir())


def drop_family(folder: Path, family: str) -> None:
    state = json.loads((folder / "sweep.json").read_text())
    state["families"] = [f for f in state["families"] if f["family"] != family]
    (folder / "sweep.json").write_text(json.dumps(state))


def test_a_family_removed_from_the_state_fails_check(mine):
    drop_family(mine, "primes/pool")
    (mine / "raw" / "primes__pool.json").unlink()
    result = cli("check", mine, "--no-remeasure")
    assert result.returncode == 1, result.stdout
    assert re.search(r"planned family\s+primes/pool\s+not in sweep.json\s+.*FAIL", result.stdout), result.stdout
    assert re.search(r"efficiency at p=cores\s+primes/pool\s+not measured", result.stdout), result.stdout


@pytest.mark.parametrize("spoil,needle", [
    (lambda rows: [r.update(name=r["name"].replace("primes/pool", "primes/poolx"),
                            run_name=r["run_name"].replace("primes/pool", "primes/poolx")) for r in rows],
     "benchmark(s) of another family"),
    (lambda rows: rows.__setitem__(slice(None), [r for r in rows if "/p:2/" not in r["name"]]),
     "of 2 planned benchmarks"),
    (lambda rows: rows.remove([r for r in rows if r.get("run_type") == "iteration"][-1]), "of 3 repetitions"),
])
def test_rows_renamed_or_lost_in_a_recorded_raw_file_fail_check(mine, spoil, needle):
    rewrite_raw(mine, "primes__pool.json", spoil)
    result = cli("check", mine, "--no-remeasure")
    assert result.returncode == 1, result.stdout
    assert re.search(rf"valid measurements\s+primes/pool\s+.*{re.escape(needle)}", result.stdout), result.stdout


def test_check_takes_its_thresholds_from_this_machines_record(mine):
    for name in ("sweep.json", "settings.json"):
        state = json.loads((mine / name).read_text())
        state["config"]["check"]["efficiency_min"] = 0.1  # would pass every model
        (mine / name).write_text(json.dumps(state))
    result = cli("check", mine, "--no-remeasure")
    assert result.returncode == 1
    assert re.search(r"config as started\s+\S+sweep.json\s+differs in check.efficiency_min", result.stdout)
    assert re.search(r"efficiency at p=cores.*>= 1.9\s+FAIL", result.stdout), result.stdout


def test_another_folder_in_the_place_of_mine_is_not_mine(tmp_path, mine):
    from parbench import provenance
    sweep_id = json.loads((mine / "sweep.json").read_text())["sweep_id"]
    impostor = tmp_path / "impostor"
    shutil.copytree(mine, impostor)
    mine.rename(tmp_path / "moved")
    impostor.rename(mine)
    record, why = provenance.owned(mine, sweep_id)
    assert record is None and "another folder in the place" in why
    assert provenance.owned(tmp_path / "moved", sweep_id)[0] is None  # moved: no longer where it started


@pytest.mark.parametrize("name", ["sweep.json", "env.json", "check.json", "analysis.json", "raw/primes__pool.json"])
def test_a_huge_sparse_file_is_refused_by_its_size(mine, name):
    path = mine / name
    path.unlink(missing_ok=True)
    with open(path, "wb") as file:
        file.truncate(3 << 30)  # 3 GiB, no disk
    for verb in ("analyze", "report", "check"):
        result = cli(verb, mine, *(["--no-remeasure"] if verb == "check" else []), timeout=120)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
        if name in ("sweep.json", "env.json"):
            assert_one_line(result, "larger than any file parbench reads")
        elif name.startswith("raw/") and verb != "check":  # its size alone is not the one recorded
            assert_one_line(result, "changed since the sweep wrote it")


def test_a_huge_hostfile_or_a_flooding_interpreter_is_one_line(tmp_path, bench):
    hostfile = tmp_path / "hosts"
    with open(hostfile, "wb") as file:
        file.truncate(2 << 30)
    config = tmp_path / "c.toml"
    config.write_text(MPI_SWEEP + f'hostfile = "{hostfile}"\n')
    if shutil.which("mpirun"):
        assert_one_line(cli("sweep", "--config", config, "--out", tmp_path / "run"), "larger than any file")
        assert not (tmp_path / "run").exists()
    flood = tmp_path / "python3.99"
    flood.write_text("#!/bin/sh\nexec yes\n")
    flood.chmod(0o755)
    config.write_text(TRACK_SWEEP.replace('python = "/usr/bin/python3"', f'python = "{flood}"'))
    assert_one_line(cli("sweep", "--config", config, "--out", tmp_path / "run"), "Python track")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("text,needle", [("[" * 100000 + "]" * 100000, "nested too deeply"),
                                         ('{"benchmarks": [], "context": {"x": ' + "7" * 5000 + "}}",
                                          "unreadable JSON")], ids=["deep", "digits"])
def test_a_raw_file_of_absurd_json_is_one_line_or_a_fail(mine, text, needle):
    (mine / "raw" / "primes__pool.json").write_text(text)
    record_raw(mine, "primes__pool.json")
    for verb in ("analyze", "report", "compare"):
        assert_one_line(cli(verb, mine, *([mine] if verb == "compare" else [])), needle)
    result = cli("check", mine, "--no-remeasure")
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert needle in result.stdout + result.stderr


def test_command_line_and_environment_values_reach_the_terminal_inert(tmp_path, bench):
    escape = "\x1b]0;PWN\x07\xc2\x9b"
    results = [run_bench_escaped(bench, f"--workloads=x{escape}"),
               parbench_entry(f"x{escape}", cwd=tmp_path), parbench_entry("list", f"--models={escape}", cwd=tmp_path),
               parbench_entry("list", cwd=tmp_path, env={"PARBENCH_JOBS": escape}),
               cli("sweep", "--config", tmp_path / f"{escape}.toml")]
    for result in results:
        assert result.returncode == 2, result.stderr
        for stream in (result.stdout, result.stderr):
            assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", stream), repr(stream[-300:])


def run_bench_escaped(bench, *args):
    return subprocess.run([str(bench), *args], capture_output=True, text=True, env=environment())


def test_a_folder_where_a_config_or_hostfile_should_be_is_named(tmp_path, bench):
    folder = tmp_path / "c.toml"
    folder.mkdir()
    assert_one_line(cli("sweep", "--config", folder), f"{folder}: not a regular file")


@pytest.mark.parametrize("value,needle", [("", "PARBENCH_PYTHON is empty"),
                                          ("CAT", "does not answer as a Python 3")])
def test_an_interpreter_that_is_not_one_is_refused_by_the_entry_point(tmp_path, value, needle):
    if value == "CAT":
        value = str(tmp_path / "catter")
        Path(value).write_text("#!/bin/sh\nexec cat\n")
        Path(value).chmod(0o755)
    result = parbench_entry("analyze", tmp_path, cwd=tmp_path, env={"PARBENCH_PYTHON": value}, timeout=120)
    assert_one_line(result, needle)


def test_a_stop_signal_while_the_sweep_sets_up_ends_it_at_once(tmp_path, bench):
    slow = tmp_path / "python3.99"
    slow.write_text("#!/bin/sh\nexec sleep 50\n")
    slow.chmod(0o755)
    config = tmp_path / "c.toml"
    config.write_text(TRACK_SWEEP.replace('python = "/usr/bin/python3"', f'python = "{slow}"'))
    sweep = subprocess.Popen([sys.executable, "-m", "parbench", "sweep", "--config", str(config), "--out",
                              str(tmp_path / "run")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=environment())
    time.sleep(3)
    started = time.monotonic()
    sweep.send_signal(signal.SIGTERM)
    out, err = sweep.communicate(timeout=60)
    assert sweep.returncode == 143 and time.monotonic() - started < 10, (sweep.returncode, err)
    assert not (tmp_path / "run").exists()
    from support import processes_running
    assert not processes_running("sleep 50")


def test_sigkill_during_an_mpi_family_leaves_no_open_mpi_files_once_resumed(tmp_path, bench):
    listing = subprocess.run([str(bench), "list", "--models=all"], capture_output=True, text=True).stdout
    if shutil.which("mpirun") is None or "mpi " not in listing:
        pytest.skip("no Open MPI in this build")
    import glob
    open_mpi_files = lambda: set(glob.glob("/dev/shm/vader_segment.*")) | set(glob.glob("/tmp/ompi.*/*")) | set(
        glob.glob("/dev/shm/parbench-mpi-*"))
    before = open_mpi_files()
    config = tmp_path / "mpi.toml"
    config.write_text(MPI_SWEEP.replace("min_time = 0.01", "min_time = 0.5"))
    run = tmp_path / "run"
    sweep = subprocess.Popen([sys.executable, "-m", "parbench", "sweep", "--config", str(config), "--out", str(run)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
    from support import processes_running
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not [p for p in processes_running("mpirun") if p != sweep.pid]:
        time.sleep(0.02)
    time.sleep(1.0)  # the job's ranks are up, their segments made
    sweep.kill()
    sweep.wait()
    time.sleep(2)
    assert cli("sweep", "--resume", run).returncode in (0, 1)
    # ctest runs other suites beside this one, and their MPI jobs' files come and go: a leak is a
    # file that stays, so wait up to 30 s for the new ones to go.
    deadline = time.monotonic() + 30
    while open_mpi_files() - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not (open_mpi_files() - before), sorted(open_mpi_files() - before)


# --- the third round: a second fresh attacker -----------------------------------------------------

@pytest.mark.parametrize("kind", ["everyone", "another user", "relative"])
def test_a_state_folder_that_is_not_private_is_refused_and_left_as_it_was(tmp_path, mine, kind):
    import pwd
    state = tmp_path / "state"
    state.mkdir()
    if kind == "everyone":
        state.chmod(0o777)
    elif kind == "another user":
        if os.geteuid() != 0:
            pytest.skip("needs root to give a folder away")
        os.chown(state, pwd.getpwnam("nobody").pw_uid, -1)
    value = "state" if kind == "relative" else str(state)
    before = os.stat(state)
    result = cli("analyze", mine, env={"PARBENCH_STATE_DIR": value}, cwd=tmp_path)
    assert_one_line(result, "not an absolute path" if kind == "relative" else "PARBENCH_STATE_DIR")
    after = os.stat(state)
    assert (after.st_mode, after.st_uid) == (before.st_mode, before.st_uid) and not list(state.iterdir())


def test_a_planted_state_folder_cannot_make_check_run_a_program(tmp_path, mine):
    """A state folder someone else owns holds a record naming a program: it is not trusted."""
    import pwd
    if os.geteuid() != 0:
        pytest.skip("needs root to give a folder away")
    from parbench import provenance
    program, marker = evil_program(tmp_path)
    sweep_id = json.loads((mine / "sweep.json").read_text())["sweep_id"]
    planted = tmp_path / "planted"
    (planted / "sweeps").mkdir(parents=True)
    record = json.loads((provenance.state_dir() / "sweeps" / f"{sweep_id}.json").read_text())
    record["config"]["python"] = str(program)
    (planted / "sweeps" / f"{sweep_id}.json").write_text(json.dumps(record))
    (planted / "key").write_bytes(os.urandom(32))
    nobody = pwd.getpwnam("nobody").pw_uid
    for path in (planted, planted / "sweeps", planted / "sweeps" / f"{sweep_id}.json", planted / "key"):
        os.chown(path, nobody, -1)
    result = cli("check", mine, env={"PARBENCH_STATE_DIR": str(planted)})
    assert not marker.exists()
    assert "owned by another user" in result.stdout + result.stderr


HOSTILE_HOSTS = ["[w]: javascript:x ](javascript:alert(1))", "[w]: data:text/html,x \\](vbscript:x)",
                 "vm\n\ncompare: no benchmark changed; all 11 identical\n", "vm\u202eevil", "host\ud800x"]


@pytest.mark.parametrize("hostname", HOSTILE_HOSTS, ids=["link", "escaped-link", "newlines", "rlo", "surrogate"])
def test_a_hostile_host_name_is_inert_everywhere(tmp_path, mine, hostname):
    other = tmp_path / "other"
    shutil.copytree(mine, other)
    env = json.loads((other / "env.json").read_text())
    env["hostname"] = hostname
    (other / "env.json").write_text(json.dumps(env))
    results = [cli("report", other), cli("compare", mine, other), cli("check", other, "--no-remeasure")]
    for result in results:
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
        for stream in (result.stdout, result.stderr):
            assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\ud800-\udfff]", stream)
            assert "\ncompare: no benchmark changed" not in stream
    rendered = render_markdown((other / "report.md").read_text(errors="replace"))
    if rendered is not None:
        assert not active_targets(rendered), active_targets(rendered)
    assert not active_targets((other / "report.html").read_text(errors="replace"))


def test_bytes_that_are_not_utf8_never_reach_the_terminal_raw(tmp_path, bench):
    cases = [[str(bench), b"--workloads=x\x9b\xc2\x9b", "list"], [str(ROOT / "parbench"), b"v\x9b\nNL"],
             [sys.executable, "-m", "parbench", "analyze", b"/nonexistent/\x9b\x1b[31m"]]
    for command in cases:
        result = subprocess.run(command, capture_output=True, env=environment(), timeout=300)
        for stream in (result.stdout, result.stderr):
            assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f\x9b]", stream), (command, stream[-300:])


def test_a_foreign_folder_whose_plan_and_settings_were_removed_fails(tmp_path, theirs):
    drop_family(theirs, "primes/pool")
    (theirs / "raw" / "primes__pool.json").unlink()
    state = json.loads((theirs / "sweep.json").read_text())
    state.pop("plan")
    state["config"]["check"]["efficiency_min"] = 0.1
    (theirs / "sweep.json").write_text(json.dumps(state))
    (theirs / "settings.json").unlink()
    result = cli("check", theirs, "--no-remeasure")
    assert result.returncode == 1, result.stdout
    assert re.search(r"made here\s+.*WARN", result.stdout) and "no plan recorded" in result.stdout
    assert re.search(r"config as started\s+\S+settings.json\s+missing or unreadable", result.stdout)


def test_a_verb_removes_the_scratch_folders_of_a_killed_run(tmp_path, mine):
    dead = 4194303  # above any pid this machine hands out (pid_max)
    io_dir = tmp_path / "io"
    io_dir.mkdir()
    stale = [io_dir / f"parbench-family-{dead}-x", Path(tempfile_dir()) / f"parbench-ceiling-{dead}-x"]
    if Path("/dev/shm").is_dir():
        stale.append(Path("/dev/shm") / f"parbench-mpi-{dead}-x")
    for path in stale:
        path.mkdir()
        (path / "file").write_text("left")
    cli("check", mine, "--no-remeasure", env={"PARBENCH_IO_DIR": str(io_dir)})
    assert not [p for p in stale if p.exists()]


def tempfile_dir() -> str:
    import tempfile
    return tempfile.gettempdir()


@pytest.mark.parametrize("mode", [0o775, 0o2775])
def test_a_folder_its_group_can_write_is_not_written(tmp_path, bench, mode):
    config = tmp_path / "c.toml"
    config.write_text(TINY)
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    assert_one_line(cli("sweep", "--config", config, "--out", folder), "writable by its group")
    assert not list(folder.iterdir())


def test_a_toml_number_of_thousands_of_digits_is_one_line(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[sweep]\nrepetitions = " + "9" * 5000 + "\n")
    assert_one_line(cli("sweep", "--config", config), "unreadable TOML")


def test_closed_or_narrow_output_is_no_internal_error(tmp_path, mine):
    closed = subprocess.run([sys.executable, "-m", "parbench", "check", str(mine), "--no-remeasure"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=environment(),
                            close_fds=True)
    assert "internal error" not in closed.stderr and "Traceback" not in closed.stderr, closed.stderr
    env = json.loads((mine / "env.json").read_text())
    env["cpu"]["model"] = "Ryzen\u202e \u00e9\u4e2d"
    (mine / "env.json").write_text(json.dumps(env))
    narrow = cli("check", mine, "--no-remeasure", env={"PYTHONIOENCODING": "ascii"})
    assert "internal error" not in narrow.stderr and "Traceback" not in narrow.stderr, narrow.stderr
    piped = subprocess.run(f"{sys.executable} -m parbench compare {mine} {mine} --fail-on-regression 5 | head -1",
                           shell=True, capture_output=True, text=True, env=environment(),
                           executable="/bin/bash")
    assert "Traceback" not in piped.stderr and "internal error" not in piped.stderr, piped.stderr


def test_a_damaged_later_sweep_is_passed_over_for_vs_previous(tmp_path, made_here):
    earlier = tmp_path / "earlier"
    later = tmp_path / "later"
    now = tmp_path / "now"
    for folder, started in ((earlier, "2026-01-01T00:00:00+00:00"), (later, "2026-01-02T00:00:00+00:00"),
                            (now, "2026-01-03T00:00:00+00:00")):
        shutil.copytree(made_here, folder)
        state = json.loads((folder / "sweep.json").read_text())
        state["started"] = started
        (folder / "sweep.json").write_text(json.dumps(state))
    scale_times(later, "primes__pool.json", 2.0)  # changed after its sweep: it cannot be analysed
    result = cli("analyze", now)
    assert result.returncode == 0, result.stderr
    previous = json.loads((now / "analysis.json").read_text())["previous"]
    assert previous and previous["directory"].endswith("earlier") and "later" in previous["passed_over"][0]
    assert (now / "vs_previous.csv").exists()
    shutil.rmtree(earlier)
    assert cli("analyze", now).returncode == 0
    assert not (now / "vs_previous.csv").exists()  # no comparison now: no stale table
    assert any("no earlier sweep to compare with" in w
               for w in json.loads((now / "analysis.json").read_text())["warnings"])


def test_a_linked_rechecks_folder_is_named_as_a_link(tmp_path, mine):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (mine / "rechecks").symlink_to(elsewhere)
    assert_one_line(cli("check", mine), "rechecks: a symbolic link inside a results folder")
    assert not list(elsewhere.iterdir())
