"""Where this checkout's programs are: the repository and the benchmark binary (never a path a
results folder names)."""
from __future__ import annotations

import os
from pathlib import Path

from .. import UserError
from ..util import REPO_ROOT

ROOT = REPO_ROOT


def binary_path() -> Path:
    binary = Path(os.environ.get("PARBENCH_BENCH", ROOT / "build" / "release" / "parbench_bench"))
    if not binary.exists():
        raise UserError(f"{binary}: benchmark binary not found (run ./parbench sweep, which builds it)")
    return binary
