"""Shared fixtures for the analysis package's tests."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))
from folder_tools import adopt, record_raw  # noqa: E402,F401  (for the tests)


@pytest.fixture
def result_dir(tmp_path):
    """A result directory holding the real Google Benchmark JSON fixture."""
    (tmp_path / "raw").mkdir()
    shutil.copy(DATA / "gbench_small.json", tmp_path / "raw" / "gbench_small.json")
    return tmp_path


def run_cli(*args, env=None):
    """Runs `python -m parbench ARGS` and returns the CompletedProcess."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), **(env or {}))
    return subprocess.run([sys.executable, "-m", "parbench", *map(str, args)], capture_output=True,
                          text=True, env=environment, timeout=600)


@pytest.fixture
def bench_binary():
    """The benchmark binary (ctest passes it in PARBENCH_BENCH)."""
    path = os.environ.get("PARBENCH_BENCH")
    if not path or not Path(path).exists():
        pytest.skip("PARBENCH_BENCH not set: sweep tests run under ctest (./parbench test)")
    return Path(path)


@pytest.fixture(autouse=True, scope="session")
def _private_state_dir(tmp_path_factory):
    """This machine's record of its sweeps (and its key) in a folder of the test session's:
    the tests' sweeps are not added to the user's own (~/.local/state/parbench)."""
    os.environ["PARBENCH_STATE_DIR"] = str(tmp_path_factory.mktemp("parbench-state"))
    yield

