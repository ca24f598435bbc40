"""A failed performance row measured again: its families re-run into rechecks/, and an efficiency
that fails twice set against the machine's own ceiling."""
from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from .. import Stopped, UserError, provenance
from ..analysis import analyze
from ..scratch import CEILING_PREFIX, private_folder
from ..state import STATE_FILE, family_environment, read_env, read_state
from .rules import Row, _thresholds, efficiency_verdict, run_checks
from ..catalogue import current
from ..modelnames import placement_of


def _git_sha(root: Path) -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _why_not_remeasure(directory: Path) -> str | None:
    """Why this sweep's families cannot be re-measured here and now (None: they can): only a
    sweep this checkout started on this machine (provenance's record, kept outside the
    folder), at the commit that made it, with this checkout's binary."""
    from ..runner.paths import ROOT, binary_path
    try:
        binary_path()
    except UserError as error:
        return str(error)
    state = read_state(directory)
    if not state:
        return "no sweep.json: not a sweep directory"
    record, why_not = provenance.owned(directory, state.get(provenance.ID_FIELD))
    if record is None:
        return f"not a sweep this checkout started on this machine: {why_not}"
    sha = (read_env(directory).get("git") or {}).get("sha")
    current = _git_sha(ROOT)
    if sha and current and sha != current:
        return f"the sweep was made by commit {sha[:10]}, this checkout is {current[:10]}"
    return None


def remeasure(directory: Path, families: list[str]) -> dict[str, dict]:
    """Runs each family once more into DIR/rechecks/ (strong scaling, the sweep's own
    selection and spin calibration, this machine's record of its config) and records it in
    sweep.json's "rechecks". The caller holds the folder's lock."""
    from ..runner.family import StopRequest
    stop = StopRequest()  # a stop signal ends the family cleanly (no half-written file), then the check
    try:
        records = _remeasure(directory, families, stop)
    finally:
        stop.restore()
    if stop.signal is not None:
        raise Stopped(stop.signal) if stop.signal != signal.SIGINT else KeyboardInterrupt
    return records


def _remeasure(directory: Path, families: list[str], stop) -> dict[str, dict]:
    from ..runner.family import Family
    from ..runner.paths import binary_path
    from ..runner.tracks import Tracks
    from ..runner.sweep import own_config, write_state
    state_path = directory / STATE_FILE
    state = read_state(directory)
    config = own_config(directory, state, "check: re-measuring")
    env = dict(os.environ, **family_environment(state, state_path))
    # the strong-scaling run of each family (not the C++ serial at the Python sizes, whose name it shares)
    known = {f["family"]: f for f in state.get("families", [])
             if not f.get("weak") and not f.get("omp_wait") and not f.get("sizes")}
    tracks = Tracks.make(binary_path(), config, env, state)
    stop.install()  # set up: from here a stop signal is polled for, between and during families
    records = {}
    for name in families:
        family = Family(name, False, int(known.get(name, {}).get("instances", 1)),
                        track=known.get(name, {}).get("track", ""))
        if stop.signal is not None:
            break
        record = tracks.run(family, config, directory, stop,
                            out_path=directory / "rechecks" / f"{family.stem}.json", reruns=False)
        if record is None:
            continue
        record["when"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        record["reason"] = "a performance check failed on the sweep's measurement"
        state.setdefault("rechecks", []).append(record)
        write_state(directory, state)
        records[name] = record
    return records


def _with_remeasurements(directory: Path, reference: Path | None, rows: list[Row],
                         records: dict[str, dict]) -> list[Row]:
    """The rows again, each failed performance row replaced by its verdict after re-measuring."""
    replacements = {}
    for name, record in records.items():
        if record["status"] == "ok":
            replacements[Path(record["file"]).name] = directory / record["file"]
    again = {}
    if replacements:
        changed: list = []
        analysis = analyze(directory, replacements=replacements, with_previous=False, changed=changed)
        again = {(r.check, r.subject): r for r in run_checks(directory, reference, analysis, changed)}
    result = []
    for row in rows:
        if row.passed is not False or not row.family:
            result.append(row)
            continue
        record = records.get(row.family)
        if record is None or record["status"] != "ok":
            why = "the re-measurement did not run" if record is None else \
                f"the re-measurement {record['status']}: {record.get('message', '')}"
            result.append(row._replace(note=why))
            continue
        second = again.get((row.check, row.subject))
        if second is None:
            result.append(row._replace(note="re-measured, but the row could not be computed again"))
        elif second.passed is False and row.check == "efficiency at p=cores":
            result.append(_against_machine_ceiling(directory, row, second))
        elif second.passed is False:
            result.append(row._replace(measured=f"{row.measured}; re-measured: {second.measured}",
                                       note="reproduced on re-measurement"))
        else:
            result.append(row._replace(measured=f"{row.measured}; re-measured: {second.measured}",
                                       passed=None, note="not reproduced on re-measurement"))
    return result


def _median_times(command: list[str], on: list[int | None]) -> list[float] | None:
    """Median real time of one copy of `command` per entry of `on`, all started at once: each
    pinned to that CPU, or placed by the OS for None."""
    import statistics
    import tempfile
    with private_folder(Path(tempfile.gettempdir()), CEILING_PREFIX) as scratch:
        outputs = [scratch / f"copy{index}.json" for index in range(len(on))]

        def pin(cpu):
            return None if cpu is None else lambda: os.sched_setaffinity(0, {cpu})
        processes = [subprocess.Popen([*command, f"--benchmark_out={out}"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, preexec_fn=pin(cpu))
                     for cpu, out in zip(on, outputs)]
        try:
            codes = [process.wait(timeout=120) for process in processes]
        except subprocess.TimeoutExpired:
            codes = [1]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        if any(codes):
            return None
        medians = []
        for out in outputs:
            entries = json.loads(out.read_text())["benchmarks"]
            times = [e["real_time"] for e in entries if e.get("run_type") == "iteration"]
            if not times:
                return None
            medians.append(statistics.median(times))
        return medians


def _command(workload: str, model: str, n: int, p: int, min_time: float) -> list[str]:
    """The binary run for one benchmark: `model` may carry its placement (model@compact+interleave)."""
    from ..runner.paths import binary_path
    name, affinity, memory = placement_of(model)
    placement = [(key, value) for key, value in (("affinity", affinity), ("numa", memory)) if value]
    return [str(binary_path()), f"--workloads={workload}", f"--models={name}", f"--p={p}", f"--size={n}",
            "--primitives=none", *[f"--{key}={value}" for key, value in placement],
            f"--benchmark_filter=^{workload}/{name}/{''.join(f'{k}:{v}/' for k, v in placement)}n:{n}/p:{p}/",
            "--benchmark_repetitions=3", f"--benchmark_min_time={min_time:g}", "--benchmark_out_format=json"]


def machine_ceiling(workload: str, n: int, p: int, min_time: float = 0.2, rounds: int = 3,
                    model: str | None = None) -> float | tuple[float, float] | None:
    """The efficiency at p that no execution model can pass on this machine at this moment:
    the throughput of p independent serial copies run at once, each pinned to its own CPU,
    relative to p times the fastest single copy (each CPU measured alone, in turn). Median
    over `rounds`. With `model`, each round also runs that model at p, and the result is the
    pair (the model's efficiency against the round's fastest copy, the ceiling), each the
    median over rounds: a vCPU's speed swings within seconds, so only figures measured in the
    same round can be set against each other.

    Below 1 when the vCPUs are not equal (on this VM one vCPU ran monte_carlo_pi 1.6x slower
    than the other, steadily, while primes differed by 5%: a host-side SMT sibling busy with
    the same execution units), when the p copies contend (shared caches, memory bandwidth),
    or when a neighbour holds a vCPU."""
    import statistics
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < p:
        return None
    cpus = cpus[:p]
    serial = _command(workload, current().baseline("cpp"), n, 1, min_time)
    ceilings, efficiencies = [], []
    for _ in range(rounds):
        alone = [_median_times(serial, [cpu]) for cpu in cpus]
        together = _median_times(serial, list(cpus))
        modelled = _median_times(_command(workload, model, n, p, min_time), [None]) if model else [1.0]
        if together is None or modelled is None or any(a is None for a in alone):
            return None
        fastest = min(a[0] for a in alone)
        ceilings.append(sum(1 / t for t in together) / (p / fastest))
        efficiencies.append(fastest / (p * modelled[0]))
    if model is None:
        return statistics.median(ceilings)
    return statistics.median(efficiencies), statistics.median(ceilings)


def _against_machine_ceiling(directory: Path, row: Row, second: Row) -> Row:
    """A reproduced efficiency failure, measured a third time in rounds beside the machine's
    ceiling (the model at p, then p serial copies at once and each alone, in every round)."""
    measured = f"{row.measured}; re-measured: {second.measured}"
    workload, model = row.family.split("/", 1)
    p = int(row.subject.rsplit("p=", 1)[1])
    points = [pt for pt in analyze(directory, with_previous=False, changed=[])["points"]
              if pt["workload"] == workload and pt["model"] == current().baseline("cpp")
              and pt["scaling"] == "strong"]
    paired = None
    if points:
        n = max(pt["n"] for pt in points)
        print(f"check: {row.subject} stays below its threshold; measuring it beside this machine's ceiling "
              f"({p} serial copies at once, one per CPU, against the fastest alone; 5 rounds)", flush=True)
        try:
            paired = machine_ceiling(workload, n, p, rounds=5, model=model)
        except (OSError, UserError, ValueError, KeyError, json.JSONDecodeError):
            paired = None
    if paired is None:
        passed, note = efficiency_verdict(float(second.measured), None, _thresholds(directory).efficiency_min)
        return row._replace(measured=measured, passed=passed, note=note)
    efficiency, ceiling = paired
    passed, note = efficiency_verdict(efficiency, ceiling, _thresholds(directory).efficiency_min)
    measured += f"; beside the machine ceiling {ceiling:.3f}: {efficiency:.3f}"
    return row._replace(measured=measured, passed=passed, note=note)
