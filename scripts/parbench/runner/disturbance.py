"""How much of the machine others took while a family ran: stolen and other processes' CPU time
from /proc."""
from __future__ import annotations

import os
import resource
from dataclasses import dataclass


PF_KTHREAD = 0x00200000  # a kernel thread (include/linux/sched.h)


def _kernel_thread_cpu(ticks: int) -> float:
    """CPU seconds used so far by the kernel's own threads (writeback, journalling, kworkers:
    work a family's fsyncs and I/O cause, not disturbance from another program)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if len(fields) > 12 and int(fields[6]) & PF_KTHREAD:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


@dataclass
class CpuSample:
    """Machine-wide busy and stolen CPU seconds, the kernel threads' share of the busy time,
    and this process's own CPU seconds."""
    busy: float
    steal: float
    kernel_threads: float
    own: float

    @classmethod
    def take(cls) -> "CpuSample | None":
        try:
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
            ticks = os.sysconf("SC_CLK_TCK")
            kernel_threads = _kernel_thread_cpu(ticks)
        except (OSError, ValueError):
            return None
        # Interrupt time is left out: the disk and network interrupts of an I/O family are its own.
        user, nice, system, _idle, _iowait, _irq, _softirq, steal = (fields + [0] * 8)[:8]
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls((user + nice + system) / ticks, steal / ticks, kernel_threads,
                   usage.ru_utime + usage.ru_stime)


def disturbance(before: CpuSample | None, after: CpuSample | None, seconds: float,
                family_cpu: float) -> dict | None:
    """What else used the machine while a family ran, as fractions of its CPU capacity
    (seconds x CPUs): steal (the hypervisor kept our vCPUs waiting: other guests, and also the
    latency of waking an idle vCPU, which a family that sleeps and wakes often causes itself)
    and other (busy time of other programs: the machine's user and system time less the
    family's, the sweep's own and the kernel threads')."""
    if before is None or after is None or seconds <= 0:
        return None
    capacity = seconds * (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                          else os.cpu_count() or 1)
    other = max(0.0, after.busy - before.busy - family_cpu - (after.own - before.own)
                - (after.kernel_threads - before.kernel_threads))
    steal = max(0.0, after.steal - before.steal)
    return {"steal": round(steal / capacity, 4), "other": round(other / capacity, 4),
            "total": round((steal + other) / capacity, 4), "cpu_seconds": round(steal + other, 3)}
