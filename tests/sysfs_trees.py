"""Recorded sysfs trees of the machine shapes parbench's users have, written the way Linux lays
them out (devices/system/cpu, devices/system/node, fs/cgroup), for tests and for planning:
    /usr/bin/python3 tests/sysfs_trees.py SHAPE DIR"""
from __future__ import annotations

import sys
from pathlib import Path


def _cpu_list(cpus) -> str:
    cpus = sorted(cpus)
    ranges, start = [], None
    for index, cpu in enumerate(cpus):
        if start is None:
            start = cpu
        if index + 1 == len(cpus) or cpus[index + 1] != cpu + 1:
            ranges.append(f"{start}-{cpu}" if cpu != start else str(cpu))
            start = None
    return ",".join(ranges)


def write_tree(root: Path, sockets: int, cores: int, smt: int, nodes: int = 1, memory_gib: int = 64,
               hybrid: tuple[int, int] | None = None, cpuset=None, quota: str | None = None) -> Path:
    """A tree of `sockets` x `cores` cores x `smt` threads, Linux's numbering (every core's first
    thread first, then the siblings); `nodes` NUMA nodes splitting the sockets; hybrid = (P cores
    with SMT2, E cores without): Intel's layout."""
    cpu_root = root / "devices" / "system" / "cpu"
    layout = []  # (cpu, socket, core id, [siblings])
    if hybrid:
        performance, efficiency = hybrid
        for core in range(performance):
            layout += [(2 * core, 0, core), (2 * core + 1, 0, core)]
        layout += [(2 * performance + k, 0, performance + k) for k in range(efficiency)]
    else:
        per_thread = sockets * cores
        for thread in range(smt):
            for socket in range(sockets):
                for core in range(cores):
                    layout.append((thread * per_thread + socket * cores + core, socket, core))
    siblings: dict[tuple, list[int]] = {}
    for cpu, socket, core in layout:
        siblings.setdefault((socket, core), []).append(cpu)
    for cpu, socket, core in layout:
        topology = cpu_root / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text(f"{socket}\n")
        (topology / "core_id").write_text(f"{core}\n")
        (topology / "die_id").write_text("0\n")
        (topology / "thread_siblings_list").write_text(_cpu_list(siblings[(socket, core)]) + "\n")
    cache = cpu_root / "cpu0" / "cache"
    per_socket = len(layout) // max(sockets, 1)
    core = len(siblings[(0, 0)])
    levels = ((1, "Data", "48K", core), (1, "Instruction", "32K", core), (2, "Unified", "1280K", core),
              (3, "Unified", "32768K", per_socket))
    for index, (level, kind, size, shared) in enumerate(levels):
        folder = cache / f"index{index}"
        folder.mkdir(parents=True)
        (folder / "level").write_text(f"{level}\n")
        (folder / "type").write_text(f"{kind}\n")
        (folder / "size").write_text(f"{size}\n")
        (folder / "shared_cpu_list").write_text(_cpu_list(range(shared)) + "\n")
    all_cpus = [cpu for cpu, _, _ in layout]
    (cpu_root / "online").write_text(_cpu_list(all_cpus) + "\n")
    node_root = root / "devices" / "system" / "node"
    for node in range(nodes):
        folder = node_root / f"node{node}"
        folder.mkdir(parents=True)
        members = [cpu for cpu, socket, _ in layout if socket * nodes // max(sockets, 1) == node]
        (folder / "cpulist").write_text(_cpu_list(members) + "\n")
        (folder / "meminfo").write_text(f"Node {node} MemTotal:       {memory_gib * 1048576 // nodes} kB\n")
    if hybrid:  # Intel's hybrid parts list each core type's CPUs
        for folder, cpus in (("cpu_core", range(2 * hybrid[0])),
                             ("cpu_atom", range(2 * hybrid[0], 2 * hybrid[0] + hybrid[1]))):
            (root / "devices" / folder).mkdir(parents=True)
            (root / "devices" / folder / "cpus").write_text(_cpu_list(cpus) + "\n")
    cgroup = root / "fs" / "cgroup"
    cgroup.mkdir(parents=True)
    if cpuset is not None:
        (cgroup / "cpuset.cpus.effective").write_text(_cpu_list(cpuset) + "\n")
    (cgroup / "cpu.max").write_text((quota or "max 100000") + "\n")
    return root


# The shapes the tests and the planner know, by name.
SHAPES = {
    "1x8": dict(sockets=1, cores=8, smt=1, nodes=1, memory_gib=32),
    "1x16-smt2": dict(sockets=1, cores=16, smt=2, nodes=1, memory_gib=64),
    "2x32-smt2-2numa": dict(sockets=2, cores=32, smt=2, nodes=2, memory_gib=512),
    "hybrid-8p16e": dict(sockets=1, cores=24, smt=1, nodes=1, memory_gib=64, hybrid=(8, 16)),
    "container-6-of-64": dict(sockets=2, cores=16, smt=2, nodes=2, memory_gib=256, cpuset=range(10, 16)),
    "container-quota-4": dict(sockets=1, cores=16, smt=2, nodes=1, memory_gib=64, quota="400000 100000"),
}


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in SHAPES:
        sys.exit(f"usage: sysfs_trees.py {{{','.join(SHAPES)}}} DIR")
    print(write_tree(Path(sys.argv[2]), **SHAPES[sys.argv[1]]))
