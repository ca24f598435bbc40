"""py/sync/: threading's locks, wake-ups and barriers, beside the C++ sync/ family.

One iteration is one operation, as in the C++ per-operation counters:
- lock, rlock, semaphore, bounded_semaphore: one acquire + increment of a
  shared counter + release (nthreads:2: the iterations shared by two threads
  on one counter, time per operation, like C++ ns_per_op); the counter must
  equal the iterations. rlock/depth:D takes the lock D times (nested).
- condition/pingpong, event/pingpong: one round trip between two threads
  (C++ ns_per_round_trip); every value comes back incremented and is summed.
- condition/producer_consumer: one item through a 64-slot buffer under a
  Condition pair (C++ ns_per_item); count and sum checked.
- barrier/nthreads:T: one Barrier.wait by each of T threads (C++
  ns_per_barrier); after each crossing every thread must have arrived.
Helper threads are kept across runs (Team), so thread start-up is never
timed. The GIL serialises the threads: "contended" means two threads taking
turns on the lock and the GIL, not two cores hammering one cache line.
"""
from __future__ import annotations

import collections
import threading

from ._common import Subject, Team, expect, maker, register, split, triangle


class LockCounter(Subject):
    """`threads` threads add 1 to one counter under `lock`, `iterations` times in all."""

    def __init__(self, factory, threads: int = 1, depth: int = 1):
        super().__init__()
        self.lock = factory() if factory is not None else None  # None: the unlocked baseline
        self.threads, self.depth = threads, depth
        self.count = 0
        self.gate = self.team = None

    def open(self):
        if self.threads > 1:
            self.gate = threading.Barrier(self.threads)  # the threads start together
            self.team = Team(self.threads - 1, "py-sync-lock", abort=self.gate.abort)
            self.stack.callback(self.team.close)

    def _add(self, _index, n):
        if self.gate is not None:
            self.gate.wait()
        lock = self.lock
        if lock is None:
            for _ in range(n):
                self.count += 1
        elif self.depth == 1:
            for _ in range(n):
                with lock:
                    self.count += 1
        else:
            acquire, release, nest = lock.acquire, lock.release, range(self.depth)
            for _ in range(n):
                for _ in nest:
                    acquire()
                self.count += 1
                for _ in nest:
                    release()
        return n

    def run(self, iterations):
        before = self.count
        shares = split(iterations, self.threads)
        if self.team is not None:
            self.team.start(self._add, [(share,) for share in shares[1:]])
        self._add(-1, shares[0])
        if self.team is not None:
            expect("helper increments", sum(self.team.wait()), iterations - shares[0])
        expect("increments under the lock", self.count - before, iterations)
        return {"verified": 1}


class ConditionPingPong(Subject):
    """The caller hands a value to a helper thread and waits for it back
    incremented, through one Condition: one round trip per iteration."""

    def __init__(self):
        super().__init__()
        self.cond = threading.Condition()
        self.turn = 0  # 0: the caller's, 1: the helper's, 2: aborted
        self.value = 0

    def open(self):
        self.team = Team(1, "py-sync-condition", abort=self._abort)
        self.stack.callback(self.team.close)

    def _abort(self):
        with self.cond:
            self.turn = 2
            self.cond.notify_all()

    def _echo(self, _index, n):
        cond, turns = self.cond, 0
        with cond:
            for _ in range(n):
                while self.turn == 0:
                    cond.wait()
                if self.turn != 1:
                    break
                self.value += 1
                turns += 1
                self.turn = 0
                cond.notify()
        return turns

    def run(self, iterations):
        cond, got = self.cond, 0
        self.team.start(self._echo, [(iterations,)])
        with cond:
            for r in range(1, iterations + 1):
                self.value = r
                self.turn = 1
                cond.notify()
                while self.turn == 1:
                    cond.wait()
                if self.turn != 0:
                    break
                got += self.value
        expect("helper turns", self.team.wait()[0], iterations)
        expect("sum of the echoed values", got, triangle(iterations) + iterations)
        return {"verified": 1}


class ConditionProducerConsumer(Subject):
    """The caller produces 1..n into a bounded deque (64 slots) guarded by a
    lock and two Conditions (not_full, not_empty); a helper consumes them."""

    CAPACITY = 64

    def __init__(self):
        super().__init__()
        lock = threading.Lock()
        self.not_empty, self.not_full = threading.Condition(lock), threading.Condition(lock)
        self.buffer = collections.deque()
        self.aborted = False

    def open(self):
        self.team = Team(1, "py-sync-producer-consumer", abort=self._abort)
        self.stack.callback(self.team.close)

    def _abort(self):
        with self.not_full:
            self.aborted = True
            self.not_full.notify_all()
            self.not_empty.notify_all()

    def _consume(self, _index, n):
        buffer, not_empty, not_full = self.buffer, self.not_empty, self.not_full
        count = total = 0
        for _ in range(n):
            with not_empty:
                while not buffer:
                    if self.aborted:
                        return count, total
                    not_empty.wait()
                total += buffer.popleft()
                count += 1
                not_full.notify()
        return count, total

    def run(self, iterations):
        buffer, not_empty, not_full, capacity = self.buffer, self.not_empty, self.not_full, self.CAPACITY
        self.team.start(self._consume, [(iterations,)])
        for k in range(1, iterations + 1):
            with not_full:
                while len(buffer) >= capacity and not self.aborted:
                    not_full.wait()
                if self.aborted:
                    break
                buffer.append(k)
                not_empty.notify()
        count, total = self.team.wait()[0]
        expect("items consumed", count, iterations)
        expect("sum of the items consumed", total, triangle(iterations))
        return {"verified": 1}


class EventPingPong(Subject):
    """Two Events: the caller sets ping and waits for pong, the helper waits for
    ping and sets pong (each clears the one it waited on): one round trip."""

    def __init__(self):
        super().__init__()
        self.ping, self.pong = threading.Event(), threading.Event()
        self.value = self.reply = 0
        self.aborted = False

    def open(self):
        self.team = Team(1, "py-sync-event", abort=self._abort)
        self.stack.callback(self.team.close)

    def _abort(self):
        self.aborted = True
        self.ping.set()
        self.pong.set()

    def _echo(self, _index, n):
        ping, pong, turns = self.ping, self.pong, 0
        for _ in range(n):
            ping.wait()
            ping.clear()
            if self.aborted:
                break
            self.reply = self.value + 1
            turns += 1
            pong.set()
        return turns

    def run(self, iterations):
        ping, pong, got = self.ping, self.pong, 0
        self.team.start(self._echo, [(iterations,)])
        for r in range(1, iterations + 1):
            self.value = r
            ping.set()
            pong.wait()
            pong.clear()
            if self.aborted:
                break
            got += self.reply
        expect("helper turns", self.team.wait()[0], iterations)
        expect("sum of the echoed values", got, triangle(iterations) + iterations)
        return {"verified": 1}


class BarrierRounds(Subject):
    """`threads` threads each cross one threading.Barrier per iteration; after
    every crossing each checks that all the others have arrived as often."""

    def __init__(self, threads: int):
        super().__init__()
        self.threads = threads
        self.barrier = threading.Barrier(threads)
        self.arrivals = [0] * threads
        self.team = None

    def open(self):
        if self.threads > 1:
            self.team = Team(self.threads - 1, "py-sync-barrier", abort=self.barrier.abort)
            self.stack.callback(self.team.close)

    def _cross(self, index, n):
        slot = index + 1  # the caller is -1
        arrivals, wait, early = self.arrivals, self.barrier.wait, 0
        for _ in range(n):
            arrivals[slot] += 1
            wait()
            if min(arrivals) < arrivals[slot]:
                early += 1
        return early

    def run(self, iterations):
        before = list(self.arrivals)
        if self.team is not None:
            self.team.start(self._cross, [(iterations,)] * (self.threads - 1))
        early = [self._cross(-1, iterations)]
        if self.team is not None:
            early += self.team.wait()
        expect("crossings before all had arrived", sum(early), 0)
        expect("arrivals per thread", [a - b for a, b in zip(self.arrivals, before)], [iterations] * self.threads)
        return {"verified": 1}


_LOCKS = [
    ("lock", threading.Lock, "sync/mutex/std", "threading.Lock"),
    ("semaphore", lambda: threading.Semaphore(1), "sync/semaphore/counting", "threading.Semaphore(1)"),
    ("bounded_semaphore", lambda: threading.BoundedSemaphore(1), "sync/semaphore/binary",
     "threading.BoundedSemaphore(1)"),
]
for _name, _factory, _cpp, _what in _LOCKS:
    register(f"py/sync/{_name}/nthreads:1", maker(LockCounter, _factory, 1),
             f"one uncontended {_what} acquire + counter increment + release (with-statement)",
             f"{_cpp}/nthreads:1")
    register(f"py/sync/{_name}/nthreads:2", maker(LockCounter, _factory, 2),
             f"one {_what} acquire + shared counter increment + release, 2 threads sharing the "
             "iterations (time per operation; rarely contended: the GIL hands over every 5 ms, so the "
             "lock is almost always free when taken, unlike the C++ row beside it)",
             f"{_cpp}/nthreads:2")
# The floor under the lock rows: the same loop and increment without the lock (C++:
# sync/atomic_increment_baseline), so a lock's own cost is the difference.
register("py/sync/unlocked_increment_baseline", maker(LockCounter, None, 1),
         "one counter increment and loop step, no lock, one thread (the loop's own cost under the "
         "lock rows)", "sync/atomic_increment_baseline/nthreads:1")
for _depth in (1, 4):
    register(f"py/sync/rlock/depth:{_depth}", maker(LockCounter, threading.RLock, 1, _depth),
             f"threading.RLock acquired {_depth} time(s) nested + counter increment + released as often, "
             "one thread", f"sync/recursive_mutex/depth:{_depth}")
register("py/sync/condition/pingpong", maker(ConditionPingPong),
         "one round trip between 2 threads through one threading.Condition (notify + wait each way)",
         "sync/event/condvar/pingpong")
register("py/sync/condition/producer_consumer", maker(ConditionProducerConsumer),
         "one item from a producer to a consumer thread through a 64-slot deque under two Conditions",
         "sync/condvar/producer_consumer")
register("py/sync/event/pingpong", maker(EventPingPong),
         "one round trip between 2 threads through two threading.Events (set, wait, clear)",
         "sync/event/condvar/pingpong")
for _threads in (1, 2):
    register(f"py/sync/barrier/nthreads:{_threads}", maker(BarrierRounds, _threads),
             f"one threading.Barrier({_threads}).wait by each of {_threads} thread(s) (one crossing)",
             f"sync/barrier/std/nthreads:{_threads}")
