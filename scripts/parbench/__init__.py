"""parbench's analysis tools: sweep -> analyze -> plot -> report, plus compare and check.

Run through the entry script (``./parbench sweep`` ...) or as
``python3 -m parbench <command>`` with ``scripts/`` on ``PYTHONPATH`` (or installed:
pyproject.toml).
"""


def _version() -> str:
    """The checkout's VERSION file (the one source, CMake reads it too); installed without the
    checkout, the package's own metadata."""
    from pathlib import Path
    try:
        return (Path(__file__).resolve().parents[2] / "VERSION").read_text().strip()
    except OSError:
        from importlib.metadata import PackageNotFoundError, version
        try:
            return version("parbench")
        except PackageNotFoundError:
            return "unknown"


__version__ = _version()


class UserError(Exception):
    """Bad input or an unusable file: printed as one line, exit status 2."""


class Stopped(KeyboardInterrupt):
    """SIGTERM, SIGHUP or SIGQUIT, raised where nothing polls for a stop (as Ctrl-C raises
    KeyboardInterrupt), so that every `finally` and clean-up runs: no temporary file is left."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def stop_signals() -> tuple:
    """The signals that stop a run cleanly (its finished results kept, nothing left behind)."""
    import signal
    return signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT
