"""The sweep's plan: worker counts and affinity policies from the machine's topology, sizes grown
by the size rule, the families that follow, what they cost in minutes, and a budget's thinning
(`./parbench sweep --plan [--budget MIN]`)."""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import UserError
from ..state import read_env, read_state
from ..topology import Topology
from .family import Family
from .paths import ROOT

# A default size takes 100-300 ms serially (each workload's declaration); the size rule keeps a
# region at p = the usable cores at or above [sweep] min_region_ms from that floor.
SERIAL_FLOOR_MS = 100.0
# What a benchmark instance costs when no sweep of this machine has run its family: the
# progress bar's guess (repetitions x the larger of min_time and 50 ms, and 0.3 s of set-up).
GUESS_SETUP_SECONDS = 0.3


@dataclass
class Plan:
    """What a sweep will run on a topology, and what it costs."""
    topology: Topology
    config: object                      # the config as it will run: workers, affinity, sizes explicit
    worker_roles: dict                  # p -> why it is planned ("power of two", "socket boundary", ...)
    families: list[Family] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)  # family key -> estimated seconds
    cost_source: str = ""
    dropped: list[str] = field(default_factory=list)  # what a budget took away, in words
    notes: list[str] = field(default_factory=list)
    tracks: object = None               # the runner's Tracks of the plan's config
    env: dict = field(default_factory=dict)  # the environment its families are listed and run in

    @property
    def minutes(self) -> float:
        return sum(self.seconds.values()) / 60


def usable_cores(topology: Topology) -> int:
    """Physical cores among the CPUs this process may use, capped by its CPU quota."""
    cores = {topology.core_of.get(cpu, (0, cpu)) for cpu in topology.allowed} or {(0, 0)}
    return max(1, min(len(cores), topology.usable_cpus))


def _boundaries(topology: Topology, groups) -> list[int]:
    """The cumulative core counts at each group's end (sockets or NUMA nodes), within the
    allowed CPUs: where scaling crosses from one socket or node to the next."""
    allowed = set(topology.allowed)
    counts = []
    for cpus in groups:
        cores = {topology.core_of.get(cpu, (0, cpu)) for cpu in cpus if cpu in allowed}
        if cores:
            counts.append(len(cores))
    return [sum(counts[:k]) for k in range(1, len(counts))]


def auto_workers(topology: Topology, oversubscribed_max: int) -> dict[int, str]:
    """[sweep] workers = "auto": 1, 2, 4, ... up to the physical cores, each socket and NUMA
    boundary, the hardware threads, and one oversubscribed point (twice the usable CPUs, at
    most oversubscribed_max), all within the CPUs this process may use. p -> why."""
    usable, cores = topology.usable_cpus, usable_cores(topology)
    roles: dict[int, str] = {}
    p = 1
    while p <= cores:
        roles[p] = "power of two"
        p *= 2
    sockets: dict[int, list[int]] = {}
    for cpu, (socket, _) in topology.core_of.items():
        sockets.setdefault(socket, []).append(cpu)
    for where, groups in (("socket boundary", sockets.values()), ("NUMA boundary", [n.cpus for n in topology.nodes])):
        for count in _boundaries(topology, groups):
            if count < cores:
                roles[count] = where if roles.get(count, "power of two") == "power of two" else \
                    "socket and NUMA boundary"
    performance = topology.core_types.get("performance")
    if performance:
        count = len({topology.core_of.get(cpu, (0, cpu)) for cpu in performance if cpu in topology.allowed})
        if 0 < count < cores:
            roles[count] = "performance cores"
    roles[cores] = "physical cores"
    if usable > cores:
        roles[usable] = "hardware threads"
    over = min(2 * usable, oversubscribed_max)
    if over > usable:
        roles[over] = "oversubscribed"
    return dict(sorted(roles.items()))


def affinity_policies(topology: Topology) -> tuple[list[str], list[str]]:
    """[sweep] affinity = "auto": the policies whose placements differ on this topology, and
    why the others are left out. compact differs from the OS's choice where SMT siblings,
    sockets, NUMA nodes or core types make placement matter; spread differs from compact only
    across sockets or nodes."""
    allowed = set(topology.allowed)
    sockets = {topology.core_of.get(cpu, (0, cpu))[0] for cpu in allowed}
    nodes = [n for n in topology.nodes if allowed & set(n.cpus)]
    siblings = len(allowed) > usable_cores(topology)
    policies, notes = ["none"], []
    if len(sockets) > 1 or len(nodes) > 1 or siblings or topology.core_types:
        policies.append("compact")
    else:
        notes.append("compact and spread left out: one socket, one NUMA node and no SMT siblings among the "
                     "usable CPUs, where pinning changes nothing that matters")
    if len(sockets) > 1 or len(nodes) > 1:
        policies.append("spread")
    elif "compact" in policies:
        notes.append("spread left out: on one socket and one NUMA node it places threads as compact does")
    return policies, notes


def numa_policies(topology: Topology) -> tuple[list[str], list[str]]:
    """[sweep] numa = "auto": first_touch, and interleave where the usable CPUs span 2 or more
    NUMA nodes (on one node both place every page alike); and why interleave is left out."""
    nodes = [n for n in topology.nodes if set(topology.allowed) & set(n.cpus)]
    if len(nodes) > 1:
        return ["first_touch", "interleave"], []
    return ["first_touch"], ["interleave left out: the usable CPUs are on one NUMA node, where every page is local"]


def size_scale(topology: Topology, min_region_ms: float) -> float:
    """The size rule: default sizes take >= SERIAL_FLOOR_MS serially, so at p = the usable cores a
    region takes >= SERIAL_FLOOR_MS / cores; sizes grow by cores x min_region_ms / SERIAL_FLOOR_MS
    when that is above 1 (2 decimals)."""
    return max(1.0, math.ceil(usable_cores(topology) * min_region_ms / SERIAL_FLOOR_MS * 100) / 100)


def resolved(config, topology: Topology) -> tuple[object, dict[int, str], list[str]]:
    """The config as it runs on this topology: "auto" worker counts (auto_workers), the Python
    track's counts, the affinity policies and the size scale made explicit (a resumed sweep
    reads them back as they were). Returns it, the worker counts' roles and notes."""
    config = copy.deepcopy(config)
    roles = auto_workers(topology, config.oversubscribed_max)
    notes: list[str] = []
    if config.workers is not None:
        roles = {p: "configured" for p in config.workers}
    elif config.auto_workers is None:
        config.auto_workers = list(roles)
    else:  # a resumed or thinned plan's: its own counts
        roles = {p: roles.get(p, "planned") for p in config.auto_workers}
    if config.python_workers in ("cores", "auto") and config.auto_python_workers is None:
        counts = planned_workers(config)
        limit = topology.usable_cpus if config.python_workers == "cores" else max(counts)
        config.auto_python_workers = [p for p in counts if p <= limit] or [min(counts)]
    if config.affinity == "auto":
        policies, notes = affinity_policies(topology)
        config.auto_affinity = config.auto_affinity or policies
    if config.numa == "auto":
        policies, why = numa_policies(topology)
        config.auto_numa = config.auto_numa or policies
        notes += why
    if config.size_scale == "auto":
        config.size_scale = size_scale(topology, config.min_region_ms)
    return config, roles, notes


def planned_workers(config) -> list[int]:
    """The worker counts of the workload families: the configured ones, else the plan's."""
    return list(config.workers if config.workers is not None else config.auto_workers or [])


def planned_affinity(config) -> list[str]:
    """The affinity policies: the configured ones, else the plan's."""
    return list(config.affinity if isinstance(config.affinity, list) else config.auto_affinity or ["none"])


def planned_numa(config) -> list[str]:
    """The memory policies of the memory-bound families: the configured ones, else the plan's."""
    return list(config.numa if isinstance(config.numa, list) else config.auto_numa or ["first_touch"])


def planned_python_workers(config) -> list[int]:
    """The Python track's worker counts: the configured ones, else the plan's."""
    return list(config.python_workers if isinstance(config.python_workers, list) else config.auto_python_workers or [])


def measured_costs(config) -> tuple[dict[str, float], str]:
    """Seconds per benchmark instance and repetition of each family, from the latest complete
    sweep under results/ of the same sizes and min_time (this config's first: results/reference
    is the default config's), and where they come from; none such: the progress bar's guess."""
    found = []
    for folder in (ROOT / "results").iterdir() if (ROOT / "results").is_dir() else []:
        try:
            state = read_state(folder)
            read_env(folder)
        except (UserError, OSError):
            continue
        saved = state.get("config") or {}
        if state.get("status") == "complete" and state.get("families") and saved.get("size") == config.size \
                and saved.get("min_time") == config.min_time:
            found.append((saved.get("name") == config.name, str(state.get("started", "")), folder, state))
    if not found:
        return {}, (f"the progress bar's guess per benchmark (no complete sweep under results/ at size "
                    f"{config.size} and min_time {config.min_time:g} to measure by)")
    _, _, folder, state = max(found, key=lambda item: item[:2])
    repetitions = max(int((state.get("config") or {}).get("repetitions") or 1), 1)
    costs = {}
    for record in state["families"]:
        if record.get("status") == "ok" and record.get("instances"):
            costs[Family.from_record(record).key] = float(record["seconds"]) / int(record["instances"]) / repetitions
    return costs, f"the seconds per benchmark that results/{Path(folder).name} took"


def _kind(key: str) -> str:
    """What a family is, for the cost of one no sweep has measured: its first name part (a
    primitive family's prefix) or "workload", weak or not, and its track."""
    name = key.split("|")[0]
    parts = name.split("/")
    kind = parts[0] if len(parts) != 2 else "workload"
    return kind + ("|weak" if "|weak" in key else "") + ("|py" if parts[-1].startswith("py_") else "")


def estimate(families: list[Family], config, costs: dict[str, float]) -> dict[str, float]:
    """Seconds per family: instances x repetitions x the measured seconds per instance and
    repetition of that family (or the mean of its kind's, or the progress bar's guess), the
    workload families' times the size scale (the size rule grows their n). The same model
    drives the progress bar's ETA."""
    by_kind: dict[str, list[float]] = {}
    for key, seconds in costs.items():
        by_kind.setdefault(_kind(key), []).append(seconds)
    guess = max(config.min_time, 0.05) + GUESS_SETUP_SECONDS / config.repetitions
    seconds = {}
    for family in families:
        base = re.sub(r"\|(affinity|numa):[^|]*", "", family.key)
        kind = by_kind.get(_kind(base))
        each = costs.get(base) or (sum(kind) / len(kind) if kind else guess)
        if _kind(base).startswith("workload"):
            each *= float(getattr(config, "size_scale", 1) or 1)
        seconds[family.key] = family.instances * config.repetitions * each
    return seconds


def thinning_steps(config, roles: dict[int, str]) -> list[tuple[str, object]]:
    """What a budget may drop next, each as (what, the config without it): repetitions above 5,
    half of the worker counts between the boundaries, the weak-scaling forms, the oversubscribed
    point, the Python track's counts above the physical cores, the Python track's bound runs, the
    interleaved pages. The caller takes the one that saves most."""
    steps = []
    if config.repetitions > 5:
        steps.append((f"repetitions {config.repetitions} -> 5", _with(config, repetitions=5)))
    workers = planned_workers(config)
    between = [p for p in workers if roles.get(p) == "power of two" and p > 1]
    if between:
        dropped = between[len(between) % 2::2] if len(between) > 1 else between
        steps.append((f"worker counts {', '.join(map(str, dropped))} (between boundaries)",
                      _without_workers(config, dropped)))
    if config.weak_scaling:
        steps.append(("the weak-scaling forms", _with(config, weak_scaling=False)))
    over = [p for p in workers if roles.get(p) == "oversubscribed"]
    if over:
        steps.append((f"the oversubscribed point p = {over[0]}", _without_workers(config, over)))
    python = planned_python_workers(config)
    cores = max((p for p, why in roles.items() if why == "physical cores"), default=0)
    smt = [p for p in python if cores and p > cores]
    if smt and len(smt) < len(python):  # a GIL-bound model is flat there; processes are the C++ track's story
        key = "python_workers" if isinstance(config.python_workers, list) else "auto_python_workers"
        steps.append((f"the Python track's counts above the {cores} cores ({', '.join(map(str, smt))})",
                      _with(config, **{key: [p for p in python if p not in smt]})))
    if config.python_affinity and any(p != "none" for p in planned_affinity(config)):
        steps.append(("the Python track's bound runs (its workers placed by the OS only)",
                      _with(config, python_affinity=False)))
    if "interleave" in planned_numa(config):
        key = "numa" if isinstance(config.numa, list) else "auto_numa"
        steps.append(("the interleaved pages (first touch only)",
                      _with(config, **{key: [p for p in planned_numa(config) if p != "interleave"]})))
    return steps


def _without_workers(config, dropped: list[int]):
    key = "workers" if config.workers is not None else "auto_workers"
    python_key = "python_workers" if isinstance(config.python_workers, list) else "auto_python_workers"
    python = planned_python_workers(config)
    return _with(config, **{key: [p for p in getattr(config, key) if p not in dropped],
                            python_key: [p for p in python if p not in dropped] or [min(python)]})


def _with(config, **changes):
    config = copy.deepcopy(config)
    for key, value in changes.items():
        setattr(config, key, value)
    return config


def describe(plan: Plan, budget: float | None) -> list[str]:
    """The plan in lines: the machine, the dimensions, the families and the estimate."""
    topology, config = plan.topology, plan.config
    lines = [f"machine: {topology.summary()} (from {topology.source})"]
    counts = planned_workers(config)
    lines.append("worker counts: " + ", ".join(f"{p} ({why})" for p, why in plan.worker_roles.items() if p in counts))
    lines.append(f"Python track's worker counts: {', '.join(map(str, planned_python_workers(config)))}")
    lines.append(f"affinity: {', '.join(planned_affinity(config))}; memory (NUMA): {', '.join(planned_numa(config))}")
    lines += [f"  {note}" for note in plan.notes]
    lines.append(f"sizes: each workload's {config.size} sizes x {config.size_scale:g} (size rule: a region at "
                 f"p = {usable_cores(topology)} cores takes >= {config.min_region_ms:g} ms)")
    weak = config.weak_scaling
    weak = "off" if not weak else "every workload" if weak is True else ", ".join(weak)
    lines.append(f"repetitions: {config.repetitions}; weak scaling: {weak}")
    groups: dict[str, list[float]] = {}
    for family in plan.families:
        group = _kind(family.key).split("|")[0] + (" (weak)" if family.weak else "") + (
            " (Python)" if family.track else "")
        groups.setdefault(group, [0, 0, 0.0])
        groups[group][0] += 1
        groups[group][1] += family.instances
        groups[group][2] += plan.seconds[family.key]
    lines.append(f"families: {len(plan.families)}, benchmarks: {sum(f.instances for f in plan.families)}")
    for group, (count, instances, seconds) in sorted(groups.items(), key=lambda item: -item[1][2]):
        lines.append(f"  {group:<22} {count:>4} families {instances:>6} benchmarks {seconds / 60:>7.1f} min")
    if plan.dropped:
        lines.append(f"dropped to fit {budget:g} min: " + "; ".join(plan.dropped))
    lines.append(f"estimated: {plan.minutes:.1f} min of benchmarks (cost model: {plan.cost_source})")
    return lines
