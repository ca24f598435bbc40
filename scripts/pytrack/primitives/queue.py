"""py/queue/: the queue module's thread-safe queues, beside the C++ queue/ family.

Kinds: fifo (queue.Queue), lifo (queue.LifoQueue), priority
(queue.PriorityQueue), simple (queue.SimpleQueue, C-implemented, unbounded).
- <kind>/handoff: an item bounced between two threads through two queues;
  one iteration is ONE one-way hand-off (a put on one thread, a blocking get
  on the other), so the time per iteration is the C++ counter ns_per_handoff
  (the C++ waiter spins then yields; Python's get blocks on a lock). The item
  that comes back must be the one sent; the helper sums what it received.
- <kind>/throughput/producers:1/consumers:1: the caller puts 1..n, a helper
  thread gets them all; one iteration is one item (C++ ns_per_item). The
  consumer's count and sum are checked (an item lost or duplicated fails).
- <kind>/put_get: put + get of one item on one thread, no other thread: the
  floor of the queue's own cost (beside the C++ plain ring, which has no lock).
Items are ints 1..n; 0 (abort) and -1 (end of stream) are the control values.
"""
from __future__ import annotations

import queue

from ._common import Subject, Team, expect, maker, register, triangle

_ABORT, _END = 0, -1


class Handoff(Subject):
    def __init__(self, factory):
        super().__init__()
        self.there, self.back = factory(), factory()

    def open(self):
        self.team = Team(1, "py-queue-handoff", abort=self._abort)
        self.stack.callback(self.team.close)

    def _abort(self):
        self.there.put(_ABORT)
        self.back.put(_ABORT)

    def _echo(self, _index, round_trips, one_way):
        get, put, received, total = self.there.get, self.back.put, 0, 0
        for _ in range(round_trips):
            value = get()
            if value == _ABORT:
                return received, total
            put(value)
            received += 1
            total += value
        if one_way:
            value = get()
            if value != _ABORT:
                received += 1
                total += value
        return received, total

    def run(self, iterations):
        round_trips, one_way = divmod(iterations, 2)
        put, get, returned = self.there.put, self.back.get, 0
        self.team.start(self._echo, [(round_trips, one_way)])
        for r in range(1, round_trips + 1):
            put(r)
            if get() != r:
                self._abort()  # the helper may wait for items that will not come
                break
            returned += 1
        if one_way:
            put(round_trips + 1)
        received, total = self.team.wait()[0]
        expect("items that came back", returned, round_trips)
        expect("items the helper received", received, round_trips + one_way)
        expect("sum of the items the helper received", total, triangle(round_trips + one_way))
        return {"verified": 1}


class Stream(Subject):
    def __init__(self, factory):
        super().__init__()
        self.queue = factory()

    def open(self):
        self.team = Team(1, "py-queue-stream", abort=lambda: self.queue.put(_ABORT))
        self.stack.callback(self.team.close)

    def _consume(self, _index):
        items = self.queue
        get, count, total = items.get, 0, 0
        while True:
            value = get()
            if value < 1:
                if value == _ABORT:
                    return count, total
                break
            count += 1
            total += value
        # The end mark was put last, but a LIFO or priority queue may hand it
        # out before the rest: whatever is still queued was put before it.
        while True:
            try:
                value = items.get_nowait()
            except queue.Empty:
                return count, total
            count += 1
            total += value

    def run(self, iterations):
        put = self.queue.put
        self.team.start(self._consume)
        for value in range(1, iterations + 1):
            put(value)
        put(_END)
        count, total = self.team.wait()[0]
        expect("items consumed", count, iterations)
        expect("sum of the items consumed", total, triangle(iterations))
        return {"verified": 1}


class PutGet(Subject):
    def __init__(self, factory):
        super().__init__()
        self.queue = factory()

    def run(self, iterations):
        put, get, total = self.queue.put, self.queue.get, 0
        for value in range(1, iterations + 1):
            put(value)
            total += get()
        expect("sum of the items got back", total, triangle(iterations))
        return {"verified": 1}


_KINDS = [
    ("fifo", queue.Queue, "queue.Queue", "fifo"),
    ("lifo", queue.LifoQueue, "queue.LifoQueue", "lifo"),
    ("priority", queue.PriorityQueue, "queue.PriorityQueue", "priority"),
    ("simple", queue.SimpleQueue, "queue.SimpleQueue", "fifo"),
]
for _kind, _factory, _what, _cpp in _KINDS:
    register(f"py/queue/{_kind}/handoff", maker(Handoff, _factory),
             f"one one-way hand-off of an int between 2 threads through two {_what}s (put + blocking get); "
             "compare with the C++ counter ns_per_handoff", f"queue/{_cpp}/handoff")
    register(f"py/queue/{_kind}/throughput/producers:1/consumers:1", maker(Stream, _factory),
             f"one int from a producer to a consumer thread through one {_what} (unbounded); "
             "compare with the C++ counter ns_per_item", f"queue/{_cpp}/throughput/producers:1/consumers:1")
    register(f"py/queue/{_kind}/put_get", maker(PutGet, _factory),
             f"{_what} put + get of one int on one thread (no other thread; the lock is still taken)",
             "queue/plain_ring_baseline")
