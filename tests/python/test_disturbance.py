"""The sweep re-runs a disturbed family: quiet attempts are kept, a reproducible disturbance
stops the re-runs, a failed re-run is the result. run_family is replaced by a stand-in that
writes a raw file and reports a chosen disturbance; no binary runs."""
import json
from types import SimpleNamespace

import pytest

from parbench.runner import disturbance as measure, family as sweep
from parbench.runner.family import Family, StopRequest


def fake_runs(monkeypatch, tmp_path, outcomes):
    """Each call of run_family takes the next (status, total disturbance) and writes raw/<stem>.json
    holding the attempt number."""
    calls = []

    def run_family(binary, selection, family, config, directory, env, stop, out_path=None):
        status, total = outcomes[len(calls)]
        calls.append(total)
        path = directory / "raw" / f"{family.stem}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"attempt": len(calls)}))
        return {"family": family.name, "status": status, "message": "" if status == "ok" else "boom",
                "seconds": 1.0, "cpu_seconds": 1.0, "file": f"raw/{family.stem}.json",
                "disturbance": {"total": total, "cpu_seconds": total * 2, "steal": total, "other": 0.0}}

    monkeypatch.setattr(sweep, "run_family", run_family)
    return calls


CONFIG = SimpleNamespace(disturbance_max=0.10, disturbance_reruns=2)
FAMILY = Family("primes/pool", False, 3)


def run(tmp_path):
    return sweep.run_with_reruns("bench", [], FAMILY, CONFIG, tmp_path, {}, StopRequest())


def kept_attempt(tmp_path):
    return json.loads((tmp_path / "raw" / "primes__pool.json").read_text())["attempt"]


def test_a_quiet_family_runs_once(monkeypatch, tmp_path):
    calls = fake_runs(monkeypatch, tmp_path, [("ok", 0.02)])
    record = run(tmp_path)
    assert len(calls) == 1 and record["status"] == "ok" and len(record["attempts"]) == 1
    assert not (tmp_path / "rejected").exists()


def test_a_disturbed_family_runs_again_and_the_quiet_attempt_is_kept(monkeypatch, tmp_path):
    calls = fake_runs(monkeypatch, tmp_path, [("ok", 0.40), ("ok", 0.03)])
    record = run(tmp_path)
    assert calls == [0.40, 0.03] and record["kept_attempt"] == 2 and kept_attempt(tmp_path) == 2
    assert json.loads((tmp_path / "rejected" / "primes__pool.attempt1.json").read_text())["attempt"] == 1
    assert not record["disturbance_reproduced"]


def test_a_quieter_first_attempt_stays(monkeypatch, tmp_path):
    calls = fake_runs(monkeypatch, tmp_path, [("ok", 0.20), ("ok", 0.90), ("ok", 0.50)])
    record = run(tmp_path)
    assert record["kept_attempt"] == 1 and kept_attempt(tmp_path) == 1
    assert (tmp_path / "rejected" / "primes__pool.attempt2.json").exists()
    assert len(calls) == 2 and record["disturbance_reproduced"]  # 0.90 >= 0.75 x 0.20: stop


def test_a_reproducible_disturbance_stops_the_re_runs(monkeypatch, tmp_path):
    calls = fake_runs(monkeypatch, tmp_path, [("ok", 0.30), ("ok", 0.28), ("ok", 0.01)])
    record = run(tmp_path)
    assert calls == [0.30, 0.28] and record["disturbance_reproduced"] and record["kept_attempt"] == 2


def test_re_runs_are_bounded(monkeypatch, tmp_path):
    calls = fake_runs(monkeypatch, tmp_path, [("ok", 0.90), ("ok", 0.50), ("ok", 0.30), ("ok", 0.01)])
    record = run(tmp_path)
    assert calls == [0.90, 0.50, 0.30] and record["kept_attempt"] == 3 and kept_attempt(tmp_path) == 3
    assert sorted(p.name for p in (tmp_path / "rejected").iterdir()) == [
        "primes__pool.attempt1.json", "primes__pool.attempt2.json"]


@pytest.mark.parametrize("status", ["failed", "errors", "timeout"])
def test_a_failed_re_run_is_the_result(monkeypatch, tmp_path, status):
    fake_runs(monkeypatch, tmp_path, [("ok", 0.50), (status, 0.0)])
    record = run(tmp_path)
    assert record["status"] == status and [a["status"] for a in record["attempts"]] == ["ok", status]


def test_short_families_are_not_re_run_for_counting_noise(monkeypatch, tmp_path):
    # 30% of a 0.1 s family is 0.06 CPU-seconds: below /proc/stat's resolution, not re-run.
    calls = []

    def run_family(binary, selection, family, config, directory, env, stop, out_path=None):
        calls.append(1)
        (directory / "raw").mkdir(parents=True, exist_ok=True)
        (directory / "raw" / f"{family.stem}.json").write_text("{}")
        return {"family": family.name, "status": "ok", "seconds": 0.1, "file": "raw/x.json",
                "disturbance": {"total": 0.3, "cpu_seconds": 0.06, "steal": 0.3, "other": 0.0}}

    monkeypatch.setattr(sweep, "run_family", run_family)
    assert run(tmp_path)["status"] == "ok" and len(calls) == 1


def test_disturbance_takes_out_the_family_the_sweep_and_kernel_threads():
    before = measure.CpuSample(busy=100.0, steal=10.0, kernel_threads=5.0, own=1.0)
    after = measure.CpuSample(busy=104.0, steal=10.4, kernel_threads=5.5, own=1.1)
    figures = measure.disturbance(before, after, seconds=2.0, family_cpu=2.4)
    # capacity = 2 s x CPUs; other = 4 - 2.4 - 0.1 - 0.5 = 1.0 CPU-seconds; steal 0.4
    cpus = len(__import__("os").sched_getaffinity(0))
    assert figures["other"] == pytest.approx(1.0 / (2.0 * cpus), abs=1e-3)
    assert figures["steal"] == pytest.approx(0.4 / (2.0 * cpus), abs=1e-3)
    assert figures["cpu_seconds"] == pytest.approx(1.4)
