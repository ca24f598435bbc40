"""The Python track in the analysis: the cross-language table (C++ serial vs py_serial at the
same n), the rules of thumb Python programmers are told, each with its measured figure and
what the data can decide, and every py/ primitive beside its C++ counterpart.

A rule's figure carries its 95% interval; it "holds" only when the whole interval is on the
rule's side of its threshold, "does not hold" when the whole interval is on the other side,
and is "inconclusive" otherwise.
"""
from __future__ import annotations

from .. import stats
from ..modelnames import is_python
from .common import choose_p
from ..catalogue import current


CPU_WORKLOADS = ("primes", "mandelbrot", "monte_carlo_pi")
IO_LEVELS = (100, 1000)


def _decide(low: float, high: float, threshold: float, above: bool) -> str:
    """'holds' when the interval is on the rule's side of threshold, 'does not hold' when it is
    wholly on the other side, else 'inconclusive'."""
    if (low >= threshold) if above else (high <= threshold):
        return "holds"
    if (high < threshold) if above else (low > threshold):
        return "does not hold"
    return "inconclusive"


def build_cross_language(points: list[dict], left_out: set[str] = frozenset()) -> list[dict]:
    """Per workload and n where both ran: py_serial's time / C++ serial's time at p = 1, and
    whether the two gave the same answer (their `answer` counters). left_out: workloads whose
    time is the same in both languages by construction (the track's context says which)."""
    cpp_serial, py_serial = current().baseline("cpp"), current().baseline("python")
    p1 = {(q["workload"], q["model"], q["n"]): q for q in points
          if q["scaling"] == "strong" and q["p"] == 1 and q["model"] in (cpp_serial, py_serial)}
    rows = []
    for (workload, model, n), python in sorted(p1.items()):
        cpp = p1.get((workload, cpp_serial, n))
        if model != py_serial or cpp is None or workload in left_out:
            continue
        ratio, low, high = stats.ratio_of_medians(python["times_s"], cpp["times_s"])
        answers = (python.get("answer"), cpp.get("answer"))
        rows.append({"workload": workload, "n": n, "category": python["category"],
                     "cpp_s": cpp["median_s"], "python_s": python["median_s"],
                     "ratio": ratio, "ratio_ci": [low, high],
                     "same_answer": None if None in answers else answers[0] == answers[1]})
    return rows


def _point(points, workload, model, p):
    matches = [q for q in points if q["workload"] == workload and q["model"] == model and q["p"] == p
               and q["scaling"] == "strong"]
    return max(matches, key=lambda q: q["n"]) if matches else None


def build_rules(points: list[dict], primitives: list[dict], cores: int, noise: float = 0.0,
                notes: dict | None = None) -> list[dict]:
    """The rules of thumb with their figures. A rule about a ratio against 1 holds only beyond
    the sweep's noise as well as its interval (the verdicts' standard)."""
    rules = []
    python_ps = {q["p"] for q in points if q["model"].startswith("py_") and q["category"] == "cpu"}
    p = choose_p(python_ps, cores) if python_ps else cores
    # 1. Threads do not speed up CPU work (the GIL): the speedup, and, from inside the one
    #    process, its CPU time over its wall time (one core's worth with the GIL, whatever
    #    speed the vCPUs ran at).
    threads, pool, loop = (current().with_role(role) for role in ("gil_threads", "process_workers", "event_loop"))
    for workload in CPU_WORKLOADS:
        point = _point(points, workload, threads, p)
        if point and point.get("speedup_ci"):
            low, high = point["speedup_ci"]
            rules.append({"rule": "threads do not speed up CPU-bound Python (the GIL)", "workload": workload,
                          "figure": f"{threads} speedup at p = {p}", "value": point["speedup"],
                          "ci": [low, high], "n": point["n"],
                          "verdict": _decide(low, high, 1.25, above=False), "threshold": "< 1.25"})
        if point and point.get("cpu_median_s") and point.get("median_s"):
            busy = point["cpu_median_s"] / point["median_s"]
            rules.append({"rule": "threads do not speed up CPU-bound Python (the GIL)", "workload": workload,
                          "figure": f"{threads} CPU time / wall time at p = {p} (cores busy)", "value": busy,
                          "ci": None, "n": point["n"],
                          "verdict": "holds" if busy < 1.25 else "does not hold", "threshold": "< 1.25"})
    # 2. Processes do (a process pool near p-fold).
    for workload in CPU_WORKLOADS:
        point = _point(points, workload, pool, p)
        if point and point.get("efficiency_ci"):
            low, high = point["efficiency_ci"]
            rules.append({"rule": "processes speed up CPU-bound Python", "workload": workload,
                          "figure": f"{pool} efficiency at p = {p}", "value": point["efficiency"],
                          "ci": [low, high], "n": point["n"],
                          "verdict": _decide(low, high, 0.85, above=True), "threshold": ">= 0.85"})
    # 3. Threads for I/O; asyncio for many connections: sleep_io at 100 and 1,000 in flight.
    for level in IO_LEVELS:
        by_threads = _point(points, "sleep_io", threads, level)
        by_loop = _point(points, "sleep_io", loop, level)
        if by_threads and by_loop and by_threads["n"] == by_loop["n"]:
            # throughput ratio asyncio / threads = time(threads) / time(asyncio)
            ratio, low, high = stats.ratio_of_medians(by_threads["times_s"], by_loop["times_s"])
            rules.append({"rule": "asyncio beats threads with many requests in flight", "workload": "sleep_io",
                          "figure": f"{loop} / {threads} throughput at {level:,} in flight", "value": ratio,
                          "ci": [low, high], "n": by_loop["n"],
                          "verdict": _decide(low, high, 1.0 + noise, above=True)
                          if low > 1.0 + noise or high < 1.0 - noise else "inconclusive (a tie)",
                          "threshold": f"> 1 beyond the noise ({noise:.0%})"})
    # 4.-6. The primitives the issue names, as figures (Python / C++), not rules to hold.
    for pair in build_primitive_pairs(primitives, notes):
        if pair["rule"] and pair["ratio"] is not None:
            rules.append({"rule": pair["rule"], "workload": "", "figure": f"{pair['python']} / {pair['cpp']}",
                          "value": pair["ratio"], "ci": pair["ratio_ci"], "n": None,
                          "verdict": "a figure", "threshold": "–"})
    return rules


# The primitive comparisons the Python section states (python family prefix -> what it measures).
PRIMITIVE_RULES = {
    "py/sync/lock": "threading.Lock beside std::mutex (acquire + release)",
    "py/queue/fifo/handoff": "queue.Queue beside the C++ fifo queue (a hand-off between threads)",
    "py/spawn/thread": "starting and joining a Python thread beside a C++ std::thread",
    "py/spawn/process": "starting and joining a multiprocessing.Process beside fork / posix_spawn in C++",
}


def build_primitive_pairs(primitives: list[dict], notes: dict | None = None) -> list[dict]:
    """Each py/ primitive with its C++ counterpart (named in the Python track's context,
    `notes`: {"counterpart:<name>": ..., "summary:<name>": ...}), both medians of their
    per-operation cost and the ratio Python / C++ with its interval."""
    notes = notes or {}
    by_name = {r["benchmark"]: r for r in primitives if "values" in r}
    rows = []
    for row in primitives:
        if not row["family"].startswith("py/") or "values" not in row:
            continue
        counterpart = notes.get(f"counterpart:{row['benchmark']}", "")
        cpp = by_name.get(counterpart) or next(
            (r for name, r in by_name.items() if counterpart and name.startswith(counterpart + "/")), None)
        entry = {"python": row["benchmark"], "python_value": row["value"], "metric": row["metric"],
                 "summary": notes.get(f"summary:{row['benchmark']}", ""), "cpp": counterpart, "cpp_value": None,
                 "ratio": None,
                 "ratio_ci": None, "rule": ""}
        # the same metric, or both a time per operation (the C++ families name theirs ns_per_op,
        # ns_per_handoff, ...)
        comparable = cpp is not None and cpp.get("value") and (cpp.get("metric") == row["metric"] or (
            cpp.get("metric", "").startswith("ns_per") and row["metric"].startswith("ns_per")))
        if comparable:
            ratio, low, high = stats.ratio_of_medians(row["values"], cpp["values"])
            entry.update(cpp=cpp["benchmark"], cpp_value=cpp["value"], ratio=ratio, ratio_ci=[low, high])
            entry["rule"] = next((rule for prefix, rule in PRIMITIVE_RULES.items()
                                  if row["family"] == prefix or row["family"].startswith(prefix + "/")), "")
        rows.append(entry)
    return rows


def interpreter_models() -> list[str]:
    """The models whose speedups the interpreters' table sets side by side: the track's thread
    model (the GIL rule's) and its process pool (the catalogue's roles)."""
    return [current().with_role("gil_threads"), current().with_role("process_workers")]


INTERPRETER_KEYS = ("python_version", "python_implementation", "python_executable", "python_gil_enabled",
                    "python_free_threaded", "python_gil_setting")


def build_interpreters(points: list[dict], contexts: dict, cores: int) -> list[dict]:
    """With more than one interpreter (or GIL setting) in the sweep: per interpreter and CPU
    workload, its py_serial time over the first interpreter's (same n), and its py_threads
    and py_process_pool speedups at p = cores against its own py_serial, each with its 95%
    interval; the GIL rule decided per interpreter. [] with one interpreter."""
    by_track = {}
    for context in contexts.values():
        track = context.get("parbench_track", "")
        if track.startswith("python") and track not in by_track:
            by_track[track] = context
    if len(by_track) < 2:
        return []
    python_ps = {q["p"] for q in points if q["model"].startswith("py_") and q["category"] == "cpu"}
    p = choose_p(python_ps, cores) if python_ps else cores
    rows = []
    py_serial, models = current().baseline("python"), interpreter_models()
    for track in sorted(by_track, key=lambda t: (t != "python", t)):
        context = by_track[track]
        tag = track.partition("@")[2]
        suffix = f"@{tag}" if tag else ""
        interpreter = {key: context.get(key, "") for key in INTERPRETER_KEYS}
        for workload in CPU_WORKLOADS:
            serial = _point(points, workload, py_serial + suffix, 1)
            if serial is None:
                continue
            row = {"track": track, "tag": tag, **interpreter, "workload": workload, "n": serial["n"], "p": p,
                   "serial_s": serial["median_s"], "serial_ratio": None, "serial_ratio_ci": None}
            first = _point(points, workload, py_serial, 1)
            if tag and first is not None and first["n"] == serial["n"]:
                ratio, low, high = stats.ratio_of_medians(serial["times_s"], first["times_s"])
                row.update(serial_ratio=ratio, serial_ratio_ci=[low, high])
            for model in models:
                point = _point(points, workload, model + suffix, p)
                ok = point is not None and point["n"] == serial["n"] and point.get("speedup_ci")
                row[model] = point["speedup"] if ok else None
                row[model + "_ci"] = point["speedup_ci"] if ok else None
            if row[models[0] + "_ci"]:
                # the GIL rule on this interpreter: threads give no speedup on CPU work
                row["gil_rule"] = _decide(*row[models[0] + "_ci"], 1.25, above=False)
            else:
                row["gil_rule"] = None
            rows.append(row)
    return rows


def build(points: list[dict], primitives: list[dict], contexts: dict, cores: int, noise: float = 0.0) -> dict | None:
    """The analysis's "python" section, or None when the sweep has no Python track."""
    if not any(is_python(q["model"]) for q in points) and not any(
            r["family"].startswith("py/") for r in primitives):
        return None
    context = next((c for c in contexts.values() if c.get("parbench_track") == "python"), {})
    interpreter = {key: context.get(key) for key in (
        "python_version", "python_implementation", "python_executable", "python_gil_enabled",
        "py_start_method", "py_start_method_set_by")}
    notes = {k: v for k, v in context.items() if k.startswith(("counterpart:", "summary:"))}
    return {"interpreter": interpreter,
            "cross_language": build_cross_language(
                points, {k.split(":", 1)[1] for k in context if k.startswith("cross_language:")}),
            "rules": build_rules(points, primitives, cores, noise, notes),
            "primitive_pairs": build_primitive_pairs(primitives, notes),
            "interpreters": build_interpreters(points, contexts, cores)}
