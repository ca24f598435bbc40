"""The fixtures every Python test suite shares (tests/python, tests/pytrack, tests/adversarial);
helpers are in support.py. pyproject.toml puts scripts/ and tests/ on the path."""
import os
import shutil
from pathlib import Path

import pytest

from support import DATA, bench_path, leftovers


@pytest.fixture(autouse=True, scope="session")
def _private_state_dir(tmp_path_factory):
    """This machine's record of its sweeps (and its key) in a folder of the test session's:
    the tests' sweeps are not added to the user's own (~/.local/state/parbench)."""
    os.environ["PARBENCH_STATE_DIR"] = str(tmp_path_factory.mktemp("parbench-state"))
    yield


@pytest.fixture(autouse=True, scope="session")
def _private_history_db(tmp_path_factory):
    """The history database the tests' sweeps and checks add themselves to, in a folder of the
    test session's: never results/history.sqlite of the checkout."""
    os.environ["PARBENCH_HISTORY_DB"] = str(tmp_path_factory.mktemp("parbench-history") / "history.sqlite")
    yield


@pytest.fixture
def result_dir(tmp_path):
    """A result directory holding the real Google Benchmark JSON fixture."""
    (tmp_path / "raw").mkdir()
    shutil.copy(DATA / "gbench_small.json", tmp_path / "raw" / "gbench_small.json")
    return tmp_path


@pytest.fixture
def bench_binary():
    """The benchmark binary (ctest passes it in PARBENCH_BENCH)."""
    path = os.environ.get("PARBENCH_BENCH")
    if not path or not Path(path).exists():
        pytest.skip("PARBENCH_BENCH not set: sweep tests run under ctest (./parbench test)")
    return Path(path)


@pytest.fixture
def bench():
    path = bench_path()
    if not path.exists():
        pytest.skip("no benchmark binary (run under ctest, or ./parbench list first)")
    return path


@pytest.fixture
def clean_machine():
    """Asserts the test left no parbench file, shared-memory object or queue behind."""
    before = leftovers()
    yield
    after = leftovers() - before
    assert not after, f"left behind: {sorted(after)}"
