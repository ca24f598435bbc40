"""Adding a model is one file in models/: a fresh copy of this checkout with one new C++
model file (a copy of the threads model under another name, label and order) builds, sweeps,
and the new model reaches analysis.json, the scaling charts of its group (with a colour of its
own), the verdicts and the report, with no other edit."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from support import ROOT, plain_build_only

NEW_MODEL = "threads_again"
CONFIG = f"""
[sweep]
size = "small"
workloads = ["primes", "monte_carlo_pi"]
models = ["serial", "threads", "{NEW_MODEL}"]
workers = [1, 2]
repetitions = 3
min_time = 0.01
family_timeout = 120
primitives = []
python = ""
"""


def _new_model_file(copy):
    source = (copy / "models" / "threads.cpp").read_text()
    registration = source[source.index("const bool registered = register_model({"):]
    changed = registration.replace('.name = "threads"', f'.name = "{NEW_MODEL}"', 1)
    changed = changed.replace('.label = "threads"', '.label = "threads, again"', 1)
    changed = changed.replace(".order = 10,", ".order = 15,", 1)
    assert changed != registration
    (copy / "models" / f"{NEW_MODEL}.cpp").write_text(source.replace(registration, changed))


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    plain_build_only()
    if shutil.which("cmake") is None:
        pytest.fail("cmake is missing (scripts/install-deps installs it)")
    copy = tmp_path_factory.mktemp("fresh") / "parbench"
    left_out = shutil.ignore_patterns(".git", "build", "results", "__pycache__", ".pytest_cache")
    shutil.copytree(ROOT, copy, ignore=left_out)
    _new_model_file(copy)
    build = copy / "build" / "new-model"
    # Debug (-O0) and the binary alone: the fastest build that runs every workload verified
    for step in (["cmake", "-S", copy, "-B", build, "-DCMAKE_BUILD_TYPE=Debug", "-DPARBENCH_BUILD_TESTS=OFF"],
                 ["cmake", "--build", build, "-j", str(os.cpu_count() or 2), "--target", "parbench_bench"]):
        made = subprocess.run([str(s) for s in step], capture_output=True, text=True, timeout=1800)
        assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    (copy / "new.toml").write_text(CONFIG)
    out = copy / "results" / "run"
    env = dict(os.environ, PYTHONPATH=str(copy / "scripts"), PARBENCH_BENCH=str(build / "parbench_bench"))
    result = subprocess.run([sys.executable, "-m", "parbench", "sweep", "--config", copy / "new.toml", "--out", out],
                            capture_output=True, text=True, env=env, timeout=1800, cwd=copy)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def test_the_new_model_is_in_the_catalogue_and_the_analysis(swept):
    catalogue = json.loads((swept / "catalogue.json").read_text())
    entry = next(m for m in catalogue["models"] if m["name"] == NEW_MODEL)
    assert entry["group"] == "threads" and entry["label"] == "threads, again"
    analysis = json.loads((swept / "analysis.json").read_text())
    points = [p for p in analysis["points"] if p["model"] == NEW_MODEL]
    assert {p["p"] for p in points} == {1, 2} and all(p["verified"] and p["speedup"] > 0 for p in points)
    verdicts = analysis["verdicts"]
    assert verdicts and all(NEW_MODEL in [v["best"], v.get("runner_up"), *(v.get("tied") or [])]
                            or any(o["model"] == NEW_MODEL for o in v.get("others", [])) for v in verdicts)


def test_the_new_model_is_drawn_in_its_groups_charts_with_a_colour_of_its_own(swept):
    for chart in ("speedup_threads", "efficiency_threads"):
        svg = (swept / "plots" / f"{chart}.svg").read_text()
        assert svg.count(f"<!-- {NEW_MODEL}") >= 1  # its legend entry
    from parbench import catalogue
    from parbench.plot.style import model_color
    with catalogue.using(catalogue.of_folder(swept)):
        colours = {model_color(m.name) for m in catalogue.current().models}
        assert len(colours) == len(catalogue.current().models)  # every model, the new one too, its own


def test_the_new_model_is_in_the_reports_verdicts(swept):
    report = (swept / "report.md").read_text()
    verdicts = report[report.index("## Verdicts"):report.index("## Scaling")]
    assert NEW_MODEL in verdicts
