"""Digests of what `analyze` derives from results/reference: every CSV and analysis.json
(without its folder path and its seal). A restructure of the driver must leave them unchanged;
a deliberate change of the analysis records new ones:
    /usr/bin/python3 tests/reference_digest.py --record"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "tests" / "python" / "data" / "reference_digests.json"


def digests(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.glob("*.csv")):
        out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    analysis = json.loads((folder / "analysis.json").read_text())
    for volatile in ("directory", "digest"):  # where it was made, and its seal
        analysis.pop(volatile, None)
    out["analysis.json"] = hashlib.sha256(json.dumps(analysis, sort_keys=True).encode()).hexdigest()
    return out


def reanalysed(scratch: Path) -> dict[str, str]:
    copy = scratch / "reference"
    shutil.copytree(ROOT / "results" / "reference", copy, ignore=shutil.ignore_patterns("plots", "*.csv",
                                                                                        "analysis.json", "report.*"))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
    subprocess.run([sys.executable, "-m", "parbench", "analyze", str(copy)], check=True, env=env,
                   capture_output=True, timeout=600)
    return digests(copy)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        now = reanalysed(Path(scratch))
    if argv[1:] == ["--record"]:
        RECORD.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(now)} digests in {RECORD}")
        return 0
    recorded = json.loads(RECORD.read_text())
    changed = sorted(name for name in recorded.keys() | now.keys() if recorded.get(name) != now.get(name))
    print("same numbers" if not changed else "changed: " + ", ".join(changed))
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
