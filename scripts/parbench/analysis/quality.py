"""The run's quality: disturbance per family, suspicious values and the sweep's warnings."""
from __future__ import annotations

from pathlib import Path

from .. import stats, units
from ..state import missing_raw_files
from ..modelnames import baseline_of, is_baseline
from .common import CV_WARNING, IO_CATEGORY


def build_disturbance(sweep: dict) -> list[dict]:
    """Per family run of the sweep: the CPU stolen and taken by other processes while it ran
    (fractions of the machine's CPU capacity) and how many attempts it took."""
    rows = []
    for family in sweep.get("families", []):
        figures = family.get("disturbance") or {}
        rows.append({"family": family.get("family") + (f" ({family['ranks']} ranks)" if family.get("ranks") else ""),
                     "weak": bool(family.get("weak")),
                     "omp_wait": family.get("omp_wait", ""), "status": family.get("status"),
                     "steal": figures.get("steal"), "other": figures.get("other"),
                     "total": figures.get("total"), "attempts": len(family.get("attempts", [])) or 1,
                     "reproduced": bool(family.get("disturbance_reproduced")),
                     "attempt_totals": [(a.get("disturbance") or {}).get("total")
                                        for a in family.get("attempts", [])]})
    return rows


def build_suspicious(points: list[dict], noise: float, spawning: set[str] = frozenset()) -> list[dict]:
    """Values that should not happen if the measurement is sound, each with its likely cause:
    efficiency above 1 (beyond its interval), a negative Karp-Flatt, a serial baseline slower
    than a model at p = 1, and self-speedup that disagrees with speedup (not on the workloads
    that spawn a task per item, `spawning`: there a model's p = 1 pays its spawn cost by design,
    and the METG table is their figure). The cause is a class shared by many flags; each
    flag's own figures are in its detail."""
    flags = []
    slow_baselines = set()
    p1 = {(q["workload"], q["model"], q["n"]): q for q in points
          if q["scaling"] == "strong" and q["p"] == 1 and q["category"] != IO_CATEGORY}
    for (workload, model, n), point in sorted(p1.items()):
        serial = p1.get((workload, baseline_of(model), n))
        if is_baseline(model) or serial is None:
            continue
        ratio, low, high = stats.ratio_of_medians(point["times_s"], serial["times_s"])
        if high < 1.0 and 1.0 - ratio > max(noise, point["cv"], serial["cv"]):
            slow_baselines.add((workload, model, n))
            flags.append({"kind": "baseline slower than p = 1", "workload": workload, "model": model, "n": n,
                          "p": 1, "value": ratio, "ci": [low, high], "severity": 1.0 - ratio,
                          "detail": f"{model} at p = 1 takes {ratio:.3g}x the {baseline_of(model)} model's time",
                          "cause": "the same kernel ran faster on the model than on the serial baseline: "
                                   "placement or cache state differ between the two processes, and every "
                                   "speedup of this workload on this model is inflated by it"})
    for point in points:
        if point["scaling"] != "strong" or point["category"] == IO_CATEGORY or point["p"] <= 1:
            continue
        base = {"workload": point["workload"], "model": point["model"], "n": point["n"], "p": point["p"]}
        key = (point["workload"], point["model"], point["n"])
        own = p1.get(key)
        self_superlinear = (point.get("self_speedup") is not None
                            and point["self_speedup"] / point["p"] > 1.0 + max(noise, point["cv"]))
        why = ""
        if key in slow_baselines:
            serial = p1[(point["workload"], baseline_of(point["model"]), point["n"])]
            cause = "the serial baseline is slower than this model at p = 1"
            why = f"; serial {units.seconds(serial['median_s'])} vs {units.seconds(own['median_s'])} at p = 1"
        elif self_superlinear:
            cause = ("superlinear against the model's own p = 1 too: each worker's share fits a cache level the "
                     "one-worker run's data did not, or the CPUs ran at unequal speeds (on a VM, one vCPU "
                     "slowed by a busy host sibling while the p = 1 run used it; ./parbench check measures this "
                     "as the machine ceiling)")
            why = f"; self-efficiency {point['self_speedup'] / point['p']:.3g}"
        else:
            cause = ("superlinear against the serial baseline only: the serial run was slower than the model's "
                     "own p = 1 (disturbed, or on a slower CPU)")
        efficiency_ci = point.get("efficiency_ci")
        if efficiency_ci and efficiency_ci[0] > 1.0:
            flags.append({**base, "kind": "efficiency above 1", "value": point["efficiency"], "ci": efficiency_ci,
                          "severity": point["efficiency"] - 1.0,
                          "detail": f"efficiency {point['efficiency']:.3g} at p = {point['p']}{why}",
                          "cause": cause})
        if point.get("karp_flatt") is not None and efficiency_ci and efficiency_ci[0] > 1.0:
            flags.append({**base, "kind": "negative Karp-Flatt", "value": point["karp_flatt"], "ci": None,
                          "severity": -point["karp_flatt"],
                          "detail": f"e = {point['karp_flatt']:.3g} at p = {point['p']}{why}", "cause": cause})
        if (point.get("speedup") and point.get("self_speedup") and not point.get("limit")
                and key not in slow_baselines and point["workload"] not in spawning):
            disagreement = point["self_speedup"] / point["speedup"] - 1.0
            if abs(disagreement) > max(0.05, noise):
                flags.append({**base, "kind": "self-speedup disagrees", "value": point["self_speedup"],
                              "ci": point.get("self_speedup_ci"), "severity": abs(disagreement),
                              "detail": f"speedup vs serial {point['speedup']:.3g}, vs itself at p = 1 "
                                        f"{point['self_speedup']:.3g}",
                              "cause": "the model's p = 1 differs from the serial baseline (its own cost at "
                                       "p = 1, or a baseline measured under other conditions)"})
    for flag in flags:
        flag["high"] = _high_severity(flag)
    return flags


def _high_severity(flag: dict) -> bool:
    """A flag is of high severity when the value it marks misleads where it is used: a speedup
    inflated by a slow baseline, a superlinear efficiency, a negative Karp-Flatt. A self-speedup
    that disagrees is the model's own cost at p = 1 (real, shown as such: memory's "n/a")."""
    return flag["kind"] != "self-speedup disagrees"


def mark_flags(points: list[dict], verdicts: list[dict], suspicious: list[dict]) -> None:
    """Every high-severity flag where its value is used: the point (heatmap, tables) and the
    verdicts whose fastest or runner-up it concerns (at the verdict's p or at p = 1)."""
    high: dict[tuple, list[str]] = {}
    for flag in suspicious:
        if flag.get("high"):
            key = (flag["workload"], flag["model"], flag["n"])
            high.setdefault(key, []).append(f"{flag['kind']} at p = {flag['p']}")
    for point in points:
        kinds = high.get((point["workload"], point["model"], point["n"]))
        if kinds:
            point["flags"] = sorted(set(kinds))
    for verdict in verdicts:
        verdict["flags"] = sorted({f"{model}: {kind}" for model in (verdict["best"], verdict.get("runner_up"))
                                   for (workload, m, _), kinds in high.items()
                                   if workload == verdict["workload"] and m == model for kind in kinds})


# The run's quality: what makes it "use with care" and what makes it "not trustworthy".
QUALITY_LIMITS = {"disturbed_share": (0.05, 0.25), "load_per_cpu": (0.5, 1.0), "noisy_share": (0.2, 0.5),
                  "failed_share": (0.0, 0.1), "high_flag_share": (0.02, 0.1)}


# Below this many CPU-seconds taken by others, a short family's share is /proc/stat's counting
# noise (10 ms ticks), as the sweep judges it when it decides on a re-run.
MIN_DISTURBED_CPU_SECONDS = 0.1


def _disturbed_by_others(figures: dict, limit: float, reproduced: bool) -> bool:
    if (figures.get("cpu_seconds") or 0.0) < MIN_DISTURBED_CPU_SECONDS:
        return False
    return (figures.get("other") or 0.0) > limit or ((figures.get("total") or 0.0) > limit and not reproduced)


def run_quality(points: list[dict], env: dict, sweep: dict, threads: int, suspicious: list[dict]) -> dict:
    """The verdict on the run, before any result: good, use with care or not trustworthy, from
    the families' measured disturbance, the load before the sweep, the share of noisy points,
    failed families and high-severity flags; each reason with its figure."""
    families = sweep.get("families", [])
    limit = (sweep.get("config") or {}).get("disturbance_max") or 0.1
    # other programs' CPU time disturbs whatever the family does; steal that a re-run reproduces
    # is the family's own pattern (waking idle vCPUs)
    disturbed = [f for f in families
                 if _disturbed_by_others(f.get("disturbance") or {}, limit, bool(f.get("disturbance_reproduced")))]
    load = ((env.get("load_average") or {}).get("before") or [0.0])[0]
    figures = {"disturbed_share": len(disturbed) / len(families) if families else 0.0,
               "load_per_cpu": load / max(threads, 1),
               "noisy_share": (sum(1 for p in points if p["cv"] > CV_WARNING) / len(points)) if points else 0.0,
               "failed_share": (sum(1 for f in families if f.get("status") != "ok") / len(families)) if families else 0,
               "high_flag_share": (sum(1 for s in suspicious if s.get("high")) / len(points)) if points else 0.0}
    words = {"disturbed_share": lambda v: f"{units.percent(v)} of the families ran disturbed by other work "
                                          f"(above {units.percent(limit)} of the CPU capacity)",
             "load_per_cpu": lambda v: f"load {load:.2f} on {threads} CPUs before the sweep",
             "noisy_share": lambda v: f"{units.percent(v)} of the points have a CV above {CV_WARNING:.0%}",
             "failed_share": lambda v: f"{units.percent(v)} of the families failed",
             "high_flag_share": lambda v: f"{units.percent(v)} of the points carry a high-severity suspicious "
                                          "value (marked where used)"}
    reasons, level = [], 0
    for key, (care, bad) in QUALITY_LIMITS.items():
        value = figures[key]
        if value > bad:
            level = 2
            reasons.append(words[key](value))
        elif value > care:
            level = max(level, 1)
            reasons.append(words[key](value))
    verdict = ("good", "use with care", "not trustworthy")[level]
    return {"verdict": verdict, "reasons": reasons, "figures": figures, "limits": QUALITY_LIMITS,
            "disturbed": [f.get("family") for f in disturbed]}


def build_warnings(points, env, sweep, physical, threads, primitives, directory: Path) -> list[str]:
    warnings = []
    governor = env.get("cpu", {}).get("governor", "unknown") if env else "unknown"
    if governor != "performance":
        warnings.append(f"CPU frequency governor is '{governor}', not 'performance': "
                        "clock changes can add noise")
    noisy = [p for p in points if p["cv"] > CV_WARNING]
    if noisy:
        worst = max(noisy, key=lambda p: p["cv"])
        warnings.append(f"{len(noisy)} of {len(points)} points have a CV above {CV_WARNING:.0%} "
                        f"(worst: {worst['workload']}/{worst['model']} p={worst['p']}, "
                        f"CV {worst['cv']:.1%})")
    load = env.get("load_average", {}) if env else {}
    for when in ("before", "after"):
        value = load.get(when)
        if isinstance(value, list) and value and value[0] > 0.5 * threads:
            warnings.append(f"load average {when} the sweep was {value[0]:.2f} on {threads} hardware "
                            "threads: other work may have disturbed the run")
    over = sorted({p["p"] for p in points if p["oversubscribed"]})
    if over:
        warnings.append(f"points at p = {', '.join(map(str, over))} are oversubscribed "
                        f"(more workers than the {threads} hardware threads)")
    for file in missing_raw_files(directory, sweep):
        warnings.append(f"{file} is missing: its family's points are not in this analysis "
                        "(./parbench sweep --resume runs it again)")
    failed = [f for f in sweep.get("families", []) if f.get("status") != "ok"]
    for family in failed:
        wait = f" (wait:{family['omp_wait']})" if family.get("omp_wait") else ""
        warnings.append(f"family {family['family']}{wait} {family.get('status')}: {family.get('message', '')}")
    limit = (sweep.get("config") or {}).get("disturbance_max")
    disturbed = [f for f in sweep.get("families", [])
                 if isinstance(limit, (int, float)) and ((f.get("disturbance") or {}).get("total") or 0) > limit]
    for own, label in ((False, "other work on the machine may have slowed them"),
                       (True, "about as disturbed on a re-run, so not re-run again: a pattern of the families' "
                              "own (waking idle vCPUs counts as steal) or a steady load (other)")):
        group = [f for f in disturbed if bool(f.get("disturbance_reproduced")) == own]
        if group:
            worst = max(group, key=lambda f: f["disturbance"]["total"])
            warnings.append(f"{len(group)} famil{'y' if len(group) == 1 else 'ies'} disturbed above {limit:.0%} "
                            f"of the CPU capacity (worst: {worst['family']}, {worst['disturbance']['total']:.0%}): "
                            + label)
    unverified = [p for p in points if not p["verified"]]
    if unverified:
        warnings.append(f"{len(unverified)} points carry no 'verified' counter")
    if physical != threads:
        warnings.append(f"{physical} physical cores but {threads} hardware threads (SMT): "
                        "Amdahl fits use p <= physical cores")
    return warnings
