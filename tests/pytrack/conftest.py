"""The Python track's tests: pytrack (and the analysis package) from scripts/."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
