"""The Python side is an ordinary package: pyproject.toml installs parbench and pytrack (with
the report's templates) and a `parbench` command; ./parbench --version names this checkout."""
import os
import shutil
import subprocess
import sys
import tomllib

import pytest

from support import ROOT, plain_build_only


def test_pyproject_names_both_packages_and_the_command():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["parbench"] == "parbench.__main__:main"
    assert {"parbench", "pytrack"} <= set(project["tool"]["setuptools"]["packages"]["find"]["include"])
    assert project["tool"]["setuptools"]["package-data"]["parbench.report"] == ["templates/*"]


def test_an_editable_install_into_a_venv_runs_from_anywhere(tmp_path):
    plain_build_only()
    if shutil.which("pip3") is None and subprocess.run([sys.executable, "-m", "pip", "--version"],
                                                       capture_output=True).returncode != 0:
        pytest.skip("pip is missing (scripts/install-deps installs python3-pip)")
    venv = tmp_path / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], capture_output=True,
                          text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    # no build isolation: Debian's setuptools builds it, nothing is fetched
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    installed = subprocess.run([venv / "bin" / "pip", "install", "--no-build-isolation", "-e", str(ROOT)],
                               capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    shown = subprocess.run([venv / "bin" / "parbench", "--help"], capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=120)
    assert shown.returncode == 0 and "compare" in shown.stdout, shown.stderr
    probe = ("import parbench, pytrack.registry, parbench.report.document as d; "
             "print(parbench.__version__, d._TEMPLATES.list_templates())")
    imported = subprocess.run([venv / "bin" / "python", "-c", probe],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert (ROOT / "VERSION").read_text().strip() in imported.stdout and "report.html.j2" in imported.stdout


def test_the_entry_point_names_its_version_and_commit():
    result = subprocess.run([str(ROOT / "parbench"), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    version = (ROOT / "VERSION").read_text().strip()
    assert result.stdout.startswith(f"parbench {version} ("), result.stdout


def test_the_binary_and_the_driver_have_one_version():
    from support import bench_path
    if not bench_path().exists():
        pytest.skip("no benchmark binary (run under ctest, or ./parbench list first)")
    shown = subprocess.run([str(bench_path()), "--version"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    version = (ROOT / "VERSION").read_text().strip()
    assert shown.stdout.startswith(f"parbench_bench {version} ("), shown.stdout
