"""Re-analysing results/reference gives the numbers recorded in data/reference_digests.json:
a change of the driver's structure changes no figure (tests/reference_digest.py)."""
import subprocess
import sys

from support import ROOT


def test_reanalysing_the_reference_gives_the_same_numbers():
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "reference_digest.py")], capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "same numbers"
