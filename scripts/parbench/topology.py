"""The machine's CPU topology from sysfs: sockets, dies, cores, SMT siblings, NUMA nodes and their
memory, caches and the CPUs sharing each, hybrid core types, the online CPUs, and what this
process may use (its cpuset and its cgroup's CPU quota).

PARBENCH_SYSFS_ROOT=DIR reads a recorded tree instead of /sys (planning a sweep for another
machine, tests): DIR/devices/system/cpu/..., DIR/devices/system/node/..., DIR/fs/cgroup/...;
a recorded tree's allowed CPUs are its cgroup's cpuset (all online CPUs without one), never this
process's own affinity.
"""
from __future__ import annotations

import collections

import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import UserError

SYSFS_ROOT_VARIABLE = "PARBENCH_SYSFS_ROOT"


@dataclass(frozen=True)
class Cache:
    level: int
    type: str
    size_kib: int
    shared_by: int  # CPUs sharing one instance


@dataclass(frozen=True)
class Node:
    id: int
    cpus: tuple[int, ...]
    memory_kib: int | None


@dataclass(frozen=True)
class Topology:
    sockets: int
    dies: int
    cores: int  # physical cores (SMT siblings counted once)
    threads: int  # online hardware threads
    threads_per_core: int
    nodes: tuple[Node, ...]
    caches: tuple[Cache, ...]
    online: tuple[int, ...]
    allowed: tuple[int, ...]  # the CPUs this process may run on (cpuset)
    quota_cpus: float | None  # the cgroup's CPU quota in CPUs, None without one
    core_types: dict = field(default_factory=dict)  # hybrid: {"performance": [cpus], "efficiency": [cpus]}
    core_of: dict = field(default_factory=dict)  # cpu -> (socket, core id)
    source: str = "/sys"

    @property
    def usable_cpus(self) -> int:
        """How many CPUs the process can keep busy: its cpuset, capped by its quota."""
        count = len(self.allowed)
        return max(1, min(count, math.floor(self.quota_cpus))) if self.quota_cpus else count

    def summary(self) -> str:
        """One line: '2 sockets x 32 cores x 2 threads (128 CPUs), 2 NUMA nodes; usable: 128'."""
        up_to = "" if self.threads == self.cores * self.threads_per_core else "up to "
        text = (f"{self.sockets} socket{'s' if self.sockets != 1 else ''}, {self.cores} cores, "
                f"{self.threads} hardware threads ({up_to}{self.threads_per_core} per core), "
                f"{len(self.nodes)} NUMA node{'s' if len(self.nodes) != 1 else ''}")
        if self.core_types:
            text += ", hybrid: " + ", ".join(f"{len(cpus)} {kind}" for kind, cpus in sorted(self.core_types.items()))
        limits = []
        if len(self.allowed) != len(self.online):
            limits.append(f"cpuset {len(self.allowed)} of {len(self.online)} CPUs")
        if self.quota_cpus:
            limits.append(f"CPU quota {self.quota_cpus:g}")
        return text + (f"; this process: {', '.join(limits)}, {self.usable_cpus} usable" if limits else "")

    def record(self) -> dict:
        """What env.json keeps."""
        data = asdict(self)
        data["core_of"] = {str(cpu): list(where) for cpu, where in self.core_of.items()}
        data["usable_cpus"] = self.usable_cpus
        return data


def parse_cpu_list(text: str, where: str) -> tuple[int, ...]:
    """'0-3,8,10-11' -> (0, 1, 2, 3, 8, 10, 11); anything else is one clear error."""
    text = text.strip()
    if not text:
        raise UserError(f"{where}: empty CPU list")
    cpus: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part.strip())
        if not match:
            raise UserError(f"{where}: {text[:40]!r} is not a CPU list (like 0-3,8)")
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        if high < low or high - low > 65536:
            raise UserError(f"{where}: {part!r} is not a CPU range")
        cpus.extend(range(low, high + 1))
    return tuple(sorted(set(cpus)))


class _Tree:
    """Reads files of one sysfs tree, each failure one line naming the file."""

    def __init__(self, root: Path):
        self.root = root

    def text(self, relative: str, required: bool = True) -> str | None:
        path = self.root / relative
        try:
            return path.read_text().strip()
        except (OSError, UnicodeDecodeError) as error:
            if required:
                reason = "missing" if isinstance(error, FileNotFoundError) else "unreadable"
                raise UserError(f"{path}: {reason} (a sysfs tree needs it)") from None
            return None

    def number(self, relative: str, required: bool = True) -> int | None:
        text = self.text(relative, required)
        if text is None:
            return None
        if not re.fullmatch(r"-?\d+", text):
            raise UserError(f"{self.root / relative}: {text[:40]!r} is not a number")
        return int(text)


def sysfs_root() -> Path:
    return Path(os.environ.get(SYSFS_ROOT_VARIABLE) or "/sys")


def read_topology(root: Path | None = None) -> Topology:
    """The topology of the tree at root (default: PARBENCH_SYSFS_ROOT, else /sys)."""
    root = Path(root) if root is not None else sysfs_root()
    recorded = root != Path("/sys")
    if recorded and not (root / "devices" / "system" / "cpu").is_dir():
        raise UserError(f"{SYSFS_ROOT_VARIABLE}={root}: no devices/system/cpu in it (not a sysfs tree)")
    tree = _Tree(root)
    online = parse_cpu_list(tree.text("devices/system/cpu/online"), str(root / "devices/system/cpu/online"))
    core_of, dies = {}, set()
    for cpu in online:
        base = f"devices/system/cpu/cpu{cpu}/topology"
        socket = tree.number(f"{base}/physical_package_id")
        core_of[cpu] = (socket, tree.number(f"{base}/core_id"))
        dies.add((socket, tree.number(f"{base}/die_id", required=False) or 0))
    sockets = len({socket for socket, _ in core_of.values()})
    cores = len(set(core_of.values()))
    return Topology(sockets=sockets, dies=len(dies), cores=cores, threads=len(online),
                    threads_per_core=max(collections.Counter(core_of.values()).values()), nodes=_nodes(tree, online),
                    caches=_caches(tree, online[0]), online=online, allowed=_allowed(tree, online, recorded),
                    quota_cpus=_quota(tree), core_types=_core_types(tree), core_of=core_of, source=str(root))


def _nodes(tree: _Tree, online: tuple[int, ...]) -> tuple[Node, ...]:
    nodes = []
    folder = tree.root / "devices" / "system" / "node"
    for path in sorted(folder.glob("node[0-9]*"), key=lambda p: int(p.name[4:])):
        relative = f"devices/system/node/{path.name}"
        cpus_text = tree.text(f"{relative}/cpulist")
        cpus = parse_cpu_list(cpus_text, str(path / "cpulist")) if cpus_text else ()
        meminfo = tree.text(f"{relative}/meminfo", required=False) or ""
        memory = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
        nodes.append(Node(id=int(path.name[4:]), cpus=cpus, memory_kib=int(memory.group(1)) if memory else None))
    return tuple(nodes) or (Node(id=0, cpus=online, memory_kib=None),)  # no NUMA in the kernel: one node


def _caches(tree: _Tree, cpu: int) -> tuple[Cache, ...]:
    caches = []
    folder = tree.root / "devices" / "system" / "cpu" / f"cpu{cpu}" / "cache"
    for path in sorted(folder.glob("index[0-9]*")):
        relative = f"devices/system/cpu/cpu{cpu}/cache/{path.name}"
        size = tree.text(f"{relative}/size")
        match = re.fullmatch(r"(\d+)([KMG]?)", size or "")
        if not match:
            raise UserError(f"{path / 'size'}: {size!r} is not a cache size (like 32K)")
        kib = int(match.group(1)) * {"": 1 / 1024, "K": 1, "M": 1024, "G": 1024 ** 2}[match.group(2)]
        shared = parse_cpu_list(tree.text(f"{relative}/shared_cpu_list"), str(path / "shared_cpu_list"))
        caches.append(Cache(level=tree.number(f"{relative}/level"), type=tree.text(f"{relative}/type"),
                            size_kib=int(kib), shared_by=len(shared)))
    return tuple(caches)


def _allowed(tree: _Tree, online: tuple[int, ...], recorded: bool) -> tuple[int, ...]:
    cpuset = tree.text("fs/cgroup/cpuset.cpus.effective", required=False)
    if cpuset:
        allowed = parse_cpu_list(cpuset, str(tree.root / "fs/cgroup/cpuset.cpus.effective"))
    elif recorded or not hasattr(os, "sched_getaffinity"):
        allowed = online
    else:
        allowed = tuple(sorted(os.sched_getaffinity(0)))
    allowed = tuple(cpu for cpu in allowed if cpu in online)
    if not allowed:
        raise UserError(f"{tree.root}: the allowed CPUs and the online CPUs have none in common")
    return allowed


def _quota(tree: _Tree) -> float | None:
    """cgroup v2's cpu.max: 'max 100000' (none) or '<quota> <period>'."""
    text = tree.text("fs/cgroup/cpu.max", required=False)
    if not text:
        return None
    parts = text.split()
    if len(parts) != 2 or not parts[1].isdigit() or not (parts[0] == "max" or parts[0].isdigit()):
        raise UserError(f"{tree.root / 'fs/cgroup/cpu.max'}: {text[:40]!r} is not '<quota> <period>' or 'max <period>'")
    if parts[0] == "max" or int(parts[1]) == 0:
        return None
    return int(parts[0]) / int(parts[1])


def _core_types(tree: _Tree) -> dict:
    """Intel hybrid parts list their core types under devices/cpu_core and devices/cpu_atom."""
    types = {}
    for folder, kind in (("cpu_core", "performance"), ("cpu_atom", "efficiency")):
        text = tree.text(f"devices/{folder}/cpus", required=False)
        if text:
            types[kind] = list(parse_cpu_list(text, str(tree.root / "devices" / folder / "cpus")))
    return types
