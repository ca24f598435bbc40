"""parbench's analysis tools: sweep -> analyze -> plot -> report, plus compare and check.

Run through the entry script (``./parbench sweep`` ...) or as
``python3 -m parbench <command>`` with ``scripts/`` on ``PYTHONPATH``.
"""


class UserError(Exception):
    """Bad input or an unusable file: printed as one line, exit status 2."""
