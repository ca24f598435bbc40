"""The topology from recorded sysfs trees of six machine shapes, and a malformed tree refused with
one line."""
import pytest

from parbench import UserError
from parbench.topology import parse_cpu_list, read_topology
from sysfs_trees import SHAPES, write_tree


@pytest.mark.parametrize("shape, sockets, cores, threads, nodes, usable", [
    ("1x8", 1, 8, 8, 1, 8),
    ("1x16-smt2", 1, 16, 32, 1, 32),
    ("2x32-smt2-2numa", 2, 64, 128, 2, 128),
    ("hybrid-8p16e", 1, 24, 32, 1, 32),
    ("container-6-of-64", 2, 32, 64, 2, 6),
    ("container-quota-4", 1, 16, 32, 1, 4),
])
def test_recorded_trees(tmp_path, shape, sockets, cores, threads, nodes, usable):
    topology = read_topology(write_tree(tmp_path / shape, **SHAPES[shape]))
    assert (topology.sockets, topology.cores, topology.threads, len(topology.nodes), topology.usable_cpus) == \
        (sockets, cores, threads, nodes, usable)
    assert sum(len(node.cpus) for node in topology.nodes) == threads
    assert [cache.level for cache in topology.caches] == [1, 1, 2, 3]
    line = topology.summary()
    assert f"{cores} cores" in line and f"{threads} hardware threads" in line


def test_the_two_socket_tree_in_detail(tmp_path):
    topology = read_topology(write_tree(tmp_path / "t", **SHAPES["2x32-smt2-2numa"]))
    assert topology.threads_per_core == 2
    assert topology.nodes[0].cpus[:2] == (0, 1) and 64 in topology.nodes[0].cpus  # cpu 64: core 0's sibling
    assert topology.nodes[1].memory_kib == 256 * 1048576
    assert topology.caches[-1].shared_by == 64  # one L3 per socket
    assert topology.core_of[64] == topology.core_of[0]


def test_hybrid_and_limited_trees(tmp_path):
    hybrid = read_topology(write_tree(tmp_path / "h", **SHAPES["hybrid-8p16e"]))
    assert {kind: len(cpus) for kind, cpus in hybrid.core_types.items()} == {"performance": 16, "efficiency": 16}
    assert "16 performance" in hybrid.summary()
    quota = read_topology(write_tree(tmp_path / "q", **SHAPES["container-quota-4"]))
    assert quota.quota_cpus == 4.0 and "CPU quota 4" in quota.summary()
    cpuset = read_topology(write_tree(tmp_path / "c", **SHAPES["container-6-of-64"]))
    assert cpuset.allowed == tuple(range(10, 16)) and "cpuset 6 of 64 CPUs" in cpuset.summary()


@pytest.mark.parametrize("damage, message", [
    (lambda root: (root / "devices/system/cpu/online").unlink(), "online: missing"),
    (lambda root: (root / "devices/system/cpu/online").write_text("zero to three\n"), "is not a CPU list"),
    (lambda root: (root / "devices/system/cpu/online").write_text("\n"), "empty CPU list"),
    (lambda root: (root / "devices/system/cpu/cpu3/topology/core_id").write_text("x\n"), "is not a number"),
    (lambda root: (root / "devices/system/cpu/cpu0/cache/index0/size").write_text("big\n"), "is not a cache size"),
    (lambda root: (root / "fs/cgroup/cpu.max").write_text("lots\n"), "is not '<quota> <period>'"),
    (lambda root: (root / "fs/cgroup/cpuset.cpus.effective").write_text("100-101\n"), "none in common"),
])
def test_a_malformed_tree_is_one_clear_line(tmp_path, damage, message):
    root = write_tree(tmp_path / "t", **SHAPES["1x8"])
    damage(root)
    with pytest.raises(UserError) as error:
        read_topology(root)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_cpu_lists():
    assert parse_cpu_list("0-3,8,10-11", "x") == (0, 1, 2, 3, 8, 10, 11)
    with pytest.raises(UserError):
        parse_cpu_list("3-1", "x")


def test_this_machine():
    topology = read_topology()
    assert topology.threads >= 1 and topology.cores >= 1 and topology.usable_cpus >= 1


def test_the_topology_is_recorded_and_reported(tmp_path):
    import json

    from parbench.report.document import Report
    from parbench.report.run_record import topology_part
    from parbench.state import read_env
    record = read_topology(write_tree(tmp_path / "t", **SHAPES["container-6-of-64"])).record()
    (tmp_path / "env.json").write_text(json.dumps({"topology": record}))
    env = read_env(tmp_path)  # the record passes env.json's validation
    report = Report()
    topology_part(report, env)
    markdown = report.markdown()
    assert "Topology: 2 socket(s), 32 cores, 64 hardware threads (2 per core), 2 NUMA node(s)" in markdown
    assert "cpuset 6 of 64 CPUs, 6 usable" in markdown and "| 1 | 16-31,48-63 | 128 GiB |" in markdown


def test_a_sysfs_that_cannot_be_read_is_said_and_the_sweep_goes_on(tmp_path, monkeypatch):
    from parbench import envinfo
    monkeypatch.setenv("PARBENCH_SYSFS_ROOT", str(tmp_path / "nothing"))
    record = envinfo._topology_record()
    assert "not a sysfs tree" in record["error"]
