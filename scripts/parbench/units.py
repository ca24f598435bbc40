"""One way to write each quantity, for the report, the charts and compare: times with
three significant digits in ns, us, ms or s; rates in GB/s or MB/s; ratios as 1.04x."""
from __future__ import annotations

import math


def _three(value: float) -> str:
    """Three significant digits, no exponent: 1.23, 12.3, 123, 1,234 (4+ digits kept whole)."""
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 3:
        return f"{value:,.0f}"
    return f"{value:.{max(0, 2 - magnitude)}f}"


def seconds(value: float | None) -> str:
    """A duration given in seconds, in the unit that keeps it between 1 and 1000 once rounded to
    three digits (999.9 ns is 1.00 us)."""
    if value is None or not math.isfinite(value):
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if abs(value) >= 0.9995 * scale:
            return f"{_three(value / scale)} {unit}"
    return f"{_three(value / 1e-9)} ns"


def nanoseconds(value: float | None) -> str:
    return "–" if value is None else seconds(value * 1e-9)


def compact_seconds(value: float) -> str:
    """A tick label: '10 ns', '1 us', '2.5 ms' (no trailing zeros)."""
    text = seconds(value)
    number_part, _, unit = text.partition(" ")
    if "." in number_part:
        number_part = number_part.rstrip("0").rstrip(".")
    return f"{number_part} {unit}"


def microseconds(value: float | None) -> str:
    return "–" if value is None else seconds(value * 1e-6)


def number(value, digits: int = 3) -> str:
    """A plain quantity (speedup, efficiency, count) with `digits` significant digits."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= digits:
        return f"{value:,.0f}"
    return f"{value:.{max(0, digits - 1 - magnitude)}f}"


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}x"


def interval(low: float | None, high: float | None, formatter=None) -> str:
    if low is None or high is None:
        return "–"
    formatter = formatter or (lambda v: f"{v:.2f}")
    return f"[{formatter(low)}, {formatter(high)}]"


def bytes_per_second(value: float | None) -> str:
    """Always GB/s (decimal, as STREAM reports), so that a column compares at a glance."""
    if value is None:
        return "–"
    return f"{number(value / 1e9)} GB/s"


def byte_size(value: float | None) -> str:
    """Binary units (KiB, MiB, GiB), as caches are sized."""
    if value is None:
        return "–"
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if value >= scale:
            return f"{_three(value / scale)} {unit}"
    return f"{value:.0f} B"


def parse_cache_size(text: str | None) -> int | None:
    """'32768K' or '32M' (sysfs) in bytes."""
    if not text:
        return None
    text = text.strip().upper()
    scale = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}.get(text[-1:], 1)
    digits = text[:-1] if text[-1:] in "KMG" else text
    try:
        return int(float(digits) * scale)
    except ValueError:
        return None
