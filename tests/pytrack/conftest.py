"""The Python track's tests: pytrack (and the analysis package) from scripts/."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))


@pytest.fixture(autouse=True, scope="session")
def _private_state_dir(tmp_path_factory):
    """This machine's record of its sweeps (and its key) in a folder of the test session's:
    the tests' sweeps are not added to the user's own (~/.local/state/parbench)."""
    os.environ["PARBENCH_STATE_DIR"] = str(tmp_path_factory.mktemp("parbench-state"))
    yield
