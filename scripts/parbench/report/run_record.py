"""How the run went: warnings, disturbance, environment, failed families and the data files."""
from __future__ import annotations

from .. import units
from .claims import FLAG_MARK
from .document import Report
from .common import Context, _io_backend, _mpi_rows, _omp_policy, _python_rows
from ..envinfo import LIBRARY_NAMES


def warnings_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    r.heading("Warnings")
    r.bullets(analysis["warnings"] or ["none"])
    errors = analysis.get("errors", [])
    if errors:
        r.text("Benchmarks that reported errors (verification failures among them):")
        r.bullets(f"{e['benchmark']}: {'; '.join(e['errors'])}" for e in errors)

    disturbance = analysis.get("disturbance", [])
    if disturbance:
        r.heading("Disturbance")
        limit = analysis.get("disturbance_max")
        totals = sorted(d["total"] for d in disturbance if d.get("total") is not None)
        rerun = [d for d in disturbance if d["attempts"] > 1]
        r.text("While each family ran, the CPU time stolen by the hypervisor (steal) and used by other programs "
               "(other), as fractions of the machine's CPU capacity (/proc/stat, less the family's, the sweep's and "
               "the kernel threads' own)."
               + (f" A family above {limit:.0%} is run again (the least disturbed attempt is kept)."
                  if isinstance(limit, (int, float)) else "")
               + (f" Median {units.percent(totals[len(totals) // 2])}, largest {units.percent(totals[-1])}, "
                  f"{len(rerun)} of {len(disturbance)} families re-run." if totals else ""))
        shown = [d for d in disturbance if (d.get("total") or 0) > 0.05 or d["attempts"] > 1]
        r.table(["family", "steal", "other", "total (kept)", "attempts (totals)"],
                [[d["family"] + (" (weak)" if d["weak"] else "") + (f" wait:{d['omp_wait']}" if d["omp_wait"] else ""),
                  units.percent(d.get("steal")), units.percent(d.get("other")), units.percent(d.get("total")),
                  f"{d['attempts']} (" + ", ".join(units.percent(t) for t in d["attempt_totals"]) + ")"
                  + (": reproduced, the family's own" if d.get("reproduced") else "")]
                 for d in sorted(shown, key=lambda d: -(d.get("total") or 0))], csv="disturbance.csv", md_rows=0)


def environment_section(r: Report, c: Context) -> None:
    env = c.env
    cores = c.cores
    config = c.config
    r.heading("Environment")
    cpu = env.get("cpu", {})
    build_info = env.get("build", {}).get("binary", {})
    libraries = env.get("libraries", {})
    load = env.get("load_average", {})

    def load_text(values):
        return " / ".join(f"{v:.2f}" for v in values[:3]) if isinstance(values, list) and values else "?"

    r.table(["", ""], [
        ["CPU", f"{cpu.get('model', 'unknown')}, {cpu.get('mhz') or '?'} MHz"],
        ["cores", f"{cores['physical']} physical, {cores['hardware_threads']} hardware threads, "
                  f"SMT {'on' if cpu.get('smt') else 'off'}"],
        ["caches", ", ".join(f"L{c.get('level')} {c.get('type')} {c.get('size')}" for c in cpu.get("caches", []))
         or "unknown"],
        ["frequency governor", cpu.get("governor", "unknown")],
        ["kernel / OS", f"{env.get('kernel', '?')} / {env.get('os', '?')}"],
        ["compiler, flags", f"{build_info.get('compiler', '?')}, {build_info.get('build_type', '?')} "
                            f"{build_info.get('cxx_flags', '')}"],
        ["Google Benchmark", f"{libraries.get('google_benchmark', '?')} (reports itself as a DEBUG build: the "
                             "library's own build type, not parbench's; its effect is not measured here)"],
        ["runtime libraries", "; ".join(f"{LIBRARY_NAMES.get(name, name)} {version}"
                                        for name, version in libraries.items()
                                        if isinstance(version, str) and not name.startswith("google_benchmark"))
         or "?"],
        ["OpenMP wait policy", _omp_policy(env, config)],
        ["git", f"{env.get('git', {}).get('sha', '?')}{' (dirty)' if env.get('git', {}).get('dirty') else ''}"],
        ["CPU affinity", ", ".join(map(str, env.get("affinity") or [])) or "unknown"],
        ["load average before / after (1/5/15 min)",
         f"{load_text(load.get('before'))}; {load_text(load.get('after'))}"],
        ["spin calibration", f"{units.number(build_info.get('spin_iters_per_us'))} iterations/us"
                             + (f" (given by {build_info['spin_source']} in the environment, not measured)"
                                if build_info.get("spin_source") else "")],
        ["coroutine event loop", _io_backend(env)],
        *_mpi_rows(env),
        *_python_rows(env),
    ], md_rows=None)
    topology_part(r, env)
    placement_part(r, c.analysis)


def topology_part(r: Report, env: dict) -> None:
    """The machine's topology as the sweep recorded it (env.json "topology"): one line and a table
    of its NUMA nodes."""
    topology = env.get("topology")
    if not isinstance(topology, dict):
        return
    if topology.get("error"):
        r.text(f"Topology: not read ({topology['error']}).")
        return
    usable = topology.get("usable_cpus")
    limits = []
    if len(topology.get("allowed") or []) != len(topology.get("online") or []):
        limits.append(f"cpuset {len(topology.get('allowed') or [])} of {len(topology.get('online') or [])} CPUs")
    if topology.get("quota_cpus"):
        limits.append(f"CPU quota {topology['quota_cpus']:g}")
    kinds = topology.get("core_types") or {}
    r.text(f"Topology: {topology.get('sockets', '?')} socket(s), {topology.get('cores', '?')} cores, "
           f"{topology.get('threads', '?')} hardware threads ({topology.get('threads_per_core', '?')} per core), "
           f"{len(topology.get('nodes') or [])} NUMA node(s)"
           + (", hybrid: " + ", ".join(f"{len(cpus)} {kind}" for kind, cpus in sorted(kinds.items())) if kinds else "")
           + (f"; this sweep's process: {', '.join(limits)}, {usable} usable" if limits else "") + ".")
    r.table(["NUMA node", "CPUs", "memory"],
            [[node.get("id"), _cpu_ranges(node.get("cpus") or []),
              units.byte_size(node["memory_kib"] * 1024) if node.get("memory_kib") else "?"]
             for node in topology.get("nodes") or []], md_rows=4)


def placement_part(r: Report, analysis: dict) -> None:
    """Where the workers really ran: each bound run (model@policy) with the CPUs its workers were
    seen on against those it bound; a policy not honoured is said."""
    points = analysis.get("points", [])
    bound = [p for p in points if p.get("cpus_bound")]
    unbound = [p for p in points if p.get("cpus_used") and not p.get("cpus_bound")]
    if not bound and not unbound:
        return
    missed = [p for p in bound if p.get("cpus_used", 0) > p["cpus_bound"]]
    launched = " MPI's ranks are placed by its launcher (see MPI), not traced here." if any(
        p["model"].partition("@")[0] == "mpi" for p in points) else ""
    seen = ("CPUs seen: the distinct CPUs the workers took chunks on over the timed runs (sched_getcpu; in the "
            "Python track, /proc/thread-self/stat).")
    if not bound:
        most = max(p["cpus_used"] for p in unbound)
        r.text(f"Placement: no benchmark run was bound by an affinity policy (the plan binds none where pinning "
               f"changes nothing that matters, or the config said none); workers were seen on up to {most:g} CPUs. "
               f"{seen} The Python track's OS-placed runs record none.{launched}")
        return
    r.text(f"Placement: {len(bound)} benchmark run(s) (workload, model, n, p) were bound by an affinity policy: the "
           "model@policy names (compact, spread; +interleave: its pages interleaved too); "
           f"{len(unbound)} OS-placed run(s) recorded where their workers ran. "
           + (f"**{len(missed)} bound run(s) not honoured**: their workers were seen on more CPUs than bound."
              if missed else "Every bound run's workers stayed within the CPUs it bound.")
           + f" {seen} CPUs bound: the distinct CPUs the policy gave the p workers. Honoured: CPUs seen at most CPUs "
           f"bound (a count: two workers that swapped their CPUs would not show).{launched}")
    rows = [[f"{p['workload']}/{p['model']}", p["p"], f"{p.get('cpus_used', 0):g}",
             f"{p['cpus_bound']:g}", "no" if p in missed else "yes"] for p in bound if p["scaling"] == "strong"]
    if rows:
        r.table(["run", "p", "CPUs seen", "CPUs bound", "honoured"], rows, csv="points.csv", md_rows=6)


def _cpu_ranges(cpus: list[int]) -> str:
    ranges, start = [], None
    for index, cpu in enumerate(cpus):
        start = cpu if start is None else start
        if index + 1 == len(cpus) or cpus[index + 1] != cpu + 1:
            ranges.append(f"{start}-{cpu}" if cpu != start else str(cpu))
            start = None
    return ",".join(ranges)


def failures_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    failures = analysis.get("failures", [])
    r.heading("Failed families")
    r.bullets([f"{f['family']}{' (weak)' if f.get('weak') else ''}"
               f"{' (C++ at the Python track sizes)' if f.get('sizes') else ''}: {f['status']}: {f.get('message', '')}"
               for f in failures] or ["none"])


def data_files_section(r: Report, c: Context) -> None:
    directory = c.directory
    r.heading("Data files")
    files = [p.name for p in sorted(directory.glob("*.csv"))]
    r.text("Every table in full, as CSV beside this report: " + ", ".join(f"[{f}]({f})" for f in files)
           + "; all figures and repetitions in [analysis.json](analysis.json); the raw Google Benchmark JSON in "
             "raw/; the sweep's own record (families, attempts, disturbance) in [sweep.json](sweep.json).")


def how_to_read_section(r: Report, c: Context) -> None:
    """The methods behind the sentences above, in one place."""
    analysis = c.analysis
    quality = analysis.get("quality") or {}
    r.heading("How to read this report")
    r.bullets([
        f"Verdicts: {analysis.get('verdict_method', '')}.",
        "Claims: every sentence that compares figures says 'faster', 'slower' or 'holds' only when its own test "
        "passed (the interval, at its test's confidence, wholly beyond the run-to-run noise), otherwise 'tie' or "
        "'inconclusive'; figures are rounded to 2 significant digits, or more where the interval is narrower; "
        "every claim is in claims.csv.",
        f"Speedup: {analysis.get('baseline', '')}.",
        "Run quality (line 3): 'use with care' / 'not trustworthy' beyond "
        + ", ".join(f"{key.replace('_', ' ')} {care:g} / {bad:g}"
                    for key, (care, bad) in (quality.get("limits") or {}).items()) + ".",
        f"{FLAG_MARK}: a value of high-severity suspicion (Suspicious values), marked wherever it is used.",
    ])
