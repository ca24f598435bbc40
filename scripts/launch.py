"""Runs one of parbench's Python packages (parbench, pytrack) as `python -m` would, but with
no code from the current folder: `python3 [-P | -I] scripts/launch.py MODULE ARGS...`.

`python -m` and `python -c` put the current folder first on sys.path, so a `numpy.py` or a
`parbench/` in a results folder someone else made would run. Here sys.path starts with this
file's folder (scripts/), then the absolute entries of PYTHONPATH (-I ignores the variable;
an empty or relative entry would mean the current folder again), then the interpreter's own.
-P (Python 3.11+) or -I keeps the current folder out of the interpreter's start-up too, and
Python passes the flag on to the processes multiprocessing starts.
"""
import os
import sys

_SCRIPTS = os.path.dirname(os.path.abspath(__file__))
_EXTRA = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if os.path.isabs(p)]
sys.path[:] = [_SCRIPTS, *[p for p in _EXTRA if p != _SCRIPTS],
               *[p for p in sys.path if os.path.isabs(p) and p != _SCRIPTS and p not in _EXTRA]]


def _main() -> None:
    import signal
    if len(sys.argv) < 2:
        sys.exit("usage: launch.py MODULE [ARGS...]")
    module = sys.argv.pop(1)
    # Ctrl-C while the interpreter is still starting ends it quietly (the default action)
    # instead of a KeyboardInterrupt traceback; the module takes Ctrl-C over once it runs.
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    import runpy
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    _main()
