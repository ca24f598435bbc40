"""The sweep's progress line."""
from __future__ import annotations

import sys
import time

from ..util import one_line
from .family import Family


class Progress:
    """A progress bar with an ETA weighted by the plan's cost model on a terminal;
    one plain line per family otherwise."""

    def __init__(self, families: list[Family], seconds: dict, stream=None):
        # The bar's own carriage returns go to the terminal as they are (the stream under an
        # InertStream); the names and messages in it are made inert here.
        stream = stream or sys.stdout
        self.stream = getattr(stream, "raw", stream)
        self.tty = self.stream.isatty()
        self.cost = {f.key: max(seconds.get(f.key, 0.0), 1e-3) for f in families}  # the plan's estimate
        self.total = sum(self.cost.values())
        self.done_cost = 0.0
        self.start = time.monotonic()
        self.count = len(families)
        self.index = 0

    def eta(self) -> str:
        if self.done_cost <= 0:
            return "--"
        remaining = (time.monotonic() - self.start) * (self.total - self.done_cost) / self.done_cost
        return f"{int(remaining // 60)}m{int(remaining % 60):02d}s"

    def starting(self, family: Family) -> None:
        self.index += 1
        if self.tty:
            width = 30
            filled = int(width * self.done_cost / self.total) if self.total else width
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(f"\r[{bar}] {self.index}/{self.count} {one_line(family.label):<36.36} "
                              f"ETA {self.eta():>7}")
            self.stream.flush()

    def finished(self, family: Family, record: dict, skipped: bool = False) -> None:
        self.done_cost += self.cost[family.key]
        if skipped:
            return
        if self.tty:
            if record["status"] != "ok":
                self.stream.write(f"\r{' ' * 100}\r{one_line(family.name)}: {record['status']}: "
                                  f"{one_line(record['message'])}\n")
            return
        line = f"[{self.index}/{self.count}] {family.label} {record['status']} {record['seconds']:.1f}s"
        if record["status"] != "ok":
            line += f": {record['message']}"
        elif len(record.get("attempts", [])) > 1:
            line += f" (run {len(record['attempts'])} times: disturbed)"
        print(one_line(line), file=self.stream, flush=True)

    def close(self) -> None:
        if self.tty:
            self.stream.write(f"\r{' ' * 100}\r")
            self.stream.flush()
