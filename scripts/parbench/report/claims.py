"""The one place that words a claim (analysis/claims.py): "faster", "slower" or "holds" only
when the claim's own test passed, otherwise "tie" or "inconclusive", always with its interval,
every figure rounded to what its interval supports."""
from __future__ import annotations

import math

from .. import stats, units

FLAG_MARK = "‡"  # a value of high-severity suspicion: see "Suspicious values"


def rounded(value: float | None, low: float | None = None, high: float | None = None) -> str:
    """A figure at 2 significant digits, or more while its interval is narrower than that."""
    if value is None or not math.isfinite(value):
        return "–"
    digits = stats.significant_digits(value, low, high)
    return _fixed(value, value, digits)


def interval_text(low: float, high: float, confidence: float | None = None, digits_from: float | None = None) -> str:
    """"[1.03, 1.20]": one digit more than its figure shows (a bound rounded to the figure's
    digits could seem to reach 1), with its confidence when it is not 95% ("... at 98.3%")."""
    ref = digits_from if digits_from is not None else (low + high) / 2
    digits = stats.significant_digits(ref, low, high) + 1
    text = f"[{_fixed(low, ref, digits)}, {_fixed(high, ref, digits)}]"
    if confidence is not None and abs(confidence - 0.95) > 1e-9:
        text += f" at {100 * confidence:.3g}%"
    return text


def _fixed(value: float, ref: float, digits: int) -> str:
    """value rounded where `ref` at `digits` significant digits ends: 18, 1.1, 460,000, 0.0021."""
    if ref == 0 or not math.isfinite(ref) or not math.isfinite(value):
        return f"{value:.{digits}g}"
    place = digits - 1 - math.floor(math.log10(abs(ref)))
    rounded_value = round(value, place)
    return f"{rounded_value:,.{max(0, place)}f}"


def marked(text: str, flags) -> str:
    return f"{text} {FLAG_MARK}" if flags else text


def say(claim: dict) -> str:
    """The sentence of one claim."""
    kind = claim["kind"]
    if kind == "ratio":
        return marked(_say_ratio(claim), claim.get("flags"))
    if kind == "order":
        steps = "; ".join(_say_ratio(step, with_context=False) for step in claim["steps"])
        return f"expected order, cheapest first, {', '.join(claim['subjects'])}: {claim['outcome']} ({steps})"
    return marked(_say_figure(claim), claim.get("flags"))


def _say_ratio(claim: dict, with_context: bool = True) -> str:
    a, b = claim["subjects"]
    figure, (low, high) = claim["figure"], claim["interval"]
    context = f" ({claim['context']})" if with_context and claim.get("context") else ""
    confidence = claim.get("confidence")
    if claim["outcome"] == "faster":
        return (f"{a} {rounded(figure, low, high)}x faster than {b} "
                f"{interval_text(low, high, confidence, figure)}{context}")
    if claim["outcome"] == "slower":
        inverse = 1.0 / figure
        return (f"{a} {rounded(inverse, 1 / high, 1 / low)}x slower than {b} "
                f"{interval_text(1 / high, 1 / low, confidence, inverse)}{context}")
    noise = f" (±{100 * claim['noise']:.1f}%)" if claim.get("noise") is not None else ""
    return (f"{a} and {b} tie: time ratio {b}/{a} {rounded(figure, low, high)}x "
            f"{interval_text(low, high, confidence, figure)}, within the noise{noise}{context}")


def _say_figure(claim: dict) -> str:
    subject, figure, interval = claim["subjects"][0], claim["figure"], claim.get("interval")
    unit = claim.get("unit", "")
    if unit == "us":
        low, high = interval if interval else (None, None)
        if low is None and high is not None:
            return f"{subject} ≤ {units.microseconds(high)} (efficient at the shortest task measured)"
        if low is not None:  # 2 significant digits: the brackets are a factor of 3 or more apart
            digits = 2 if low <= float(f"{figure:.2g}") <= high else 3  # never outside its own bracket
            value = figure if figure >= 1 else 1000 * figure
            shown = _fixed(value, value, digits) + (" us" if figure >= 1 else " ns")
            return f"{subject} {shown} (between {units.microseconds(low)} and {units.microseconds(high)})"
        return f"{subject} {units.microseconds(figure)}"
    if interval:
        return f"{subject} {rounded(figure, *interval)} {interval_text(*interval, 0.95, figure)}"
    return f"{subject} {rounded(figure)}"


def verdict_cell(claim: dict | None, tied: list[str] | None = None) -> str:
    """The verdict table's cell: the win, or the tie with every model it holds."""
    if claim is None:
        return "–"
    if claim["outcome"] == "faster":
        return marked(_say_ratio(claim, with_context=False), claim.get("flags"))
    a, b = claim["subjects"]
    low, high = claim["interval"]
    return marked(f"tie: {', '.join(tied or [a, b])} (runner-up {b}'s time / {a}'s "
                  f"{rounded(claim['figure'], low, high)}x "
                  f"{interval_text(low, high, claim.get('confidence'), claim['figure'])})", claim.get("flags"))


def speedup_cell(claim: dict | None) -> str:
    if claim is None:
        return "– (is the baseline)"
    low, high = claim["interval"]
    figure = claim["figure"]
    text = f"{rounded(figure, low, high)}x {interval_text(low, high, claim.get('confidence'), figure)}"
    noise = f", noise {100 * claim['noise']:.1f}%" if claim.get("noise") is not None else ""
    return marked(text + ("" if claim["outcome"] == "faster" else f" (no gain beyond the noise{noise})"
                          if claim["outcome"] == "tie" else " (slower)"), claim.get("flags"))
