"""Across hosts, for real: two network namespaces joined by a veth pair stand for two hosts;
mpirun starts its daemon in the second through an rsh agent that wraps `ip netns exec` instead
of ssh, and the mpi model and mpi/latency run over Open MPI's TCP transport between them. The
namespaces are removed afterwards. Skips, with one line, where namespaces cannot be made."""
import json
import os
import shutil
import subprocess
import time

import pytest

BENCH = os.environ.get("PARBENCH_BENCH", "")


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def rx_bytes(namespace, device):
    stats = json.loads(ip("-n", namespace, "-s", "-j", "link", "show", device).stdout)
    return stats[0]["stats64"]["rx"]["bytes"]


@pytest.fixture
def two_hosts(tmp_path):
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("mpirun") is None or not BENCH \
            or "mpi " not in subprocess.run([BENCH, "list", "--models=all"], capture_output=True, text=True).stdout:
        pytest.skip("needs root, iproute2, mpirun and the benchmark binary built with Open MPI")
    tag = os.getpid() % 100000
    subnet = f"10.77.{tag % 250}"
    names = [f"pb{tag}a", f"pb{tag}b"]
    made = []
    try:
        for name in names:
            result = ip("netns", "add", name, check=False)
            if result.returncode != 0:
                pytest.skip(f"network namespaces cannot be made here: {result.stderr.strip()}")
            made.append(name)
        ip("link", "add", f"{names[0]}v", "type", "veth", "peer", "name", f"{names[1]}v")
        hosts = {}
        for k, name in enumerate(names):
            device = f"{name}v"
            address = f"{subnet}.{k + 1}"
            ip("link", "set", device, "netns", name)
            ip("-n", name, "addr", "add", f"{address}/24", "dev", device)
            ip("-n", name, "link", "set", device, "up")
            ip("-n", name, "link", "set", "lo", "up")
            hosts[address] = name
        agent = tmp_path / "netns-agent"
        cases = "\n".join(f"  {address}) ns={name} ;;" for address, name in hosts.items())
        agent.write_text("#!/bin/sh\n# Open MPI's rsh agent: run the command in the host's namespace\n"
                         f"host=$1; shift\ncase $host in\n{cases}\n"
                         "  *) echo \"netns-agent: no host $host\" >&2; exit 255 ;;\nesac\n"
                         "exec ip netns exec $ns sh -c \"$*\"\n")
        agent.chmod(0o755)
        yield {"names": names, "addresses": list(hosts), "agent": agent, "subnet": subnet}
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "pids", name], capture_output=True)
            for pid in ip("netns", "pids", name, check=False).stdout.split():
                subprocess.run(["kill", "-9", pid], capture_output=True)
            ip("netns", "del", name, check=False)


def mpirun(hosts, host_list, *args, timeout=120):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               PARBENCH_MPI_SIZES="8")
    command = ["ip", "netns", "exec", hosts["names"][0], "mpirun", "-np", "2", "--host", host_list,
               "--mca", "plm_rsh_agent", str(hosts["agent"]), "--mca", "btl", "tcp,self",
               "--mca", "btl_tcp_if_include", f"{hosts['subnet']}.0/24",
               "--mca", "oob_tcp_if_include", f"{hosts['subnet']}.0/24", "-x", "PARBENCH_MPI_SIZES",
               BENCH, *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def test_the_mpi_model_and_latency_run_between_two_hosts(two_hosts, tmp_path):
    out = tmp_path / "out.json"
    a, b = two_hosts["addresses"]
    before = rx_bytes(two_hosts["names"][1], f"{two_hosts['names'][1]}v")
    result = mpirun(two_hosts, f"{a}:1,{b}:1", "--models=mpi", "--workloads=primes,stream_triad", "--p=2",
                    "--size=small", "--primitives=mpi/latency,mpi/tcp_latency", "--benchmark_min_time=0.01",
                    f"--benchmark_out={out}", "--benchmark_out_format=json")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    runs = json.loads(out.read_text())["benchmarks"]
    assert {r["name"].split("/")[0] for r in runs} == {"primes", "stream_triad", "mpi"}
    # The TCP baseline crossed between the hosts too (rank 1's veth address, not loopback).
    assert any(r["name"].startswith("mpi/tcp_latency/size:8") for r in runs), [r["name"] for r in runs]
    for run in runs:
        assert not run.get("error_occurred"), run
        assert run["verified"] == 1 and run["mpi_launched"] == 1, run
    triad = next(r for r in runs if r["name"].startswith("stream_triad/"))
    carried = rx_bytes(two_hosts["names"][1], f"{two_hosts['names'][1]}v") - before
    # The second host received at least its half of what the ranks exchanged, over the veth.
    assert carried > triad["mpi_bytes_exchanged"] / 2, (carried, triad["mpi_bytes_exchanged"])


def test_an_unreachable_host_fails_quickly_and_leaves_nothing(two_hosts):
    a = two_hosts["addresses"][0]
    unreachable = f"{two_hosts['subnet']}.9"
    start = time.monotonic()
    result = mpirun(two_hosts, f"{a}:1,{unreachable}:1", "--models=mpi", "--workloads=primes", "--p=2",
                    "--size=small", timeout=60)
    assert result.returncode != 0
    assert time.monotonic() - start < 30
    assert "daemon" in (result.stdout + result.stderr).lower() or "unreachable" in (result.stdout + result.stderr)
    for name in two_hosts["names"]:
        assert ip("netns", "pids", name).stdout.split() == [], f"processes left in {name}"
