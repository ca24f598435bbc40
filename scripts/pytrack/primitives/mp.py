"""py/mp/: multiprocessing between this process and children, beside the C++
ipc/ and psync/ families. Children, servers and pipes are made in make() with
the track's start method (PARBENCH_PY_START_METHOD, else Python's default)
and stopped, joined and closed in close(); multiprocessing's resource tracker
and fork server are stopped too if make() started them.

- queue/pingpong: an int to a child through one multiprocessing.Queue and
  back + 1 through another: one round trip per iteration (pickling, a
  feeder thread and a pipe each way); every answer checked.
- pipe/pingpong/size:64 (Pipe(duplex=False): two os.pipe) and
  pipe_duplex/pingpong/size:64 (Pipe(): a socketpair): 64 bytes sent with
  send_bytes and echoed back, one round trip per iteration (as C++ ipc/),
  the iteration number in the message checked every time.
- value/lock/procs:P: `with v.get_lock(): v.value += 1` on a Value('q') (its
  default RLock; .value takes the lock again), the iterations shared by P
  processes (time per increment, as C++ ns_per_op); the total must be exact.
- value/nolock/procs:P: RawValue('q').value += 1, unsynchronised; the total
  is only bounded and the updates lost to the race are reported (counters
  lost_updates and lost_fraction).
- array/lock/procs:P: `with a.get_lock(): a[i & 7] += 1` on an Array('q', 8).
- semaphore/pingpong, event/pingpong: a turn handed to a child and back
  through two multiprocessing Semaphores / Events: one round trip.
- barrier/procs:2: one multiprocessing.Barrier(2).wait per iteration.
- shared_memory/create: SharedMemory(create=True, size=4096), write and read
  back 8 bytes, close, unlink: one segment per iteration (registered with the
  resource tracker and unregistered, as Python does); always unlinked.
- manager/set, manager/get: one item set in / read from a Manager().dict()
  of 4,096 keys (a round trip to the manager's server process each), as C++
  psync/manager/.
"""
from __future__ import annotations

import os
import struct
from multiprocessing import shared_memory
from multiprocessing.managers import SyncManager

from . import _children
from ._common import MpServers, Subject, expect, maker, mp_context, register, split, stop_process, triangle

ANSWER_SECONDS = 30.0  # a child that does not answer within this fails the run


class WithChild(Subject):
    """A child process running `target`; subclasses make the channels in
    channels() (registering their closes on self.stack) and return the child's
    arguments and the parent's own ends of the child's channels, which the
    parent closes once the child has them (so that EOF means the child is gone)."""

    target = None
    procs = 2

    def __init__(self):
        super().__init__()
        self.child = None

    def open(self):
        servers = MpServers()
        self.stack.callback(servers.release)
        self.context = mp_context()
        if self.procs < 2:
            self.channels()
            self.warm_up()
            return
        args, childs_ends = self.channels()
        self.child = self.context.Process(target=type(self).target, args=args, daemon=True,
                                          name=f"py-mp-{type(self).__name__}")
        self.child.start()
        self.stack.callback(self._stop_child)
        for end in childs_ends:
            end.close()
        self.warm_up()

    def channels(self):
        raise NotImplementedError

    def warm_up(self):
        self.run(1)

    def ask_to_stop(self):
        pass

    def _stop_child(self):
        try:
            self.ask_to_stop()
        except (OSError, ValueError):  # the child is gone already: its pipe is closed
            pass
        stop_process(self.child)

    def check_alive(self):
        if self.child is not None and self.child.exitcode is not None:
            raise AssertionError(f"the child process ended (exit code {self.child.exitcode})")


class Commanded(WithChild):
    """A child that does its part of each run when told over a control pipe (_children._commands)."""

    def control_pipe(self):
        self.control, child_end = self.context.Pipe()
        self.stack.callback(self.control.close)
        return child_end

    def ask_to_stop(self):
        self.control.send(None)

    def reply(self):
        if not self.control.poll(ANSWER_SECONDS):
            self.check_alive()
            raise AssertionError(f"the child did not answer within {ANSWER_SECONDS} s")
        try:
            return self.control.recv()
        except EOFError:
            self.child.join(1.0)
            self.check_alive()
            raise AssertionError("the child closed its control pipe") from None


class QueuePingPong(WithChild):
    target = staticmethod(_children.queue_echo)

    def channels(self):
        self.there, self.back = self.context.Queue(), self.context.Queue()
        self.stack.callback(setattr, self, "there", None)  # their semaphores released with them
        self.stack.callback(setattr, self, "back", None)
        for q in (self.there, self.back):
            self.stack.callback(q.join_thread)
            self.stack.callback(q.close)
        return (self.there, self.back), ()

    def ask_to_stop(self):
        self.there.put(None)

    def run(self, iterations):
        put, get = self.there.put, self.back.get
        for r in range(1, iterations + 1):
            put(r)
            answer = get()
            if answer != r + 1:
                raise AssertionError(f"round trip {r}: the child answered {answer!r}, expected {r + 1}")
        return {"verified": 1}


class PipePingPong(WithChild):
    target = staticmethod(_children.pipe_echo)

    def __init__(self, duplex: bool, size: int = 64):
        super().__init__()
        self.duplex, self.size = duplex, size
        self.round = 0

    def channels(self):
        if self.duplex:
            mine, childs = self.context.Pipe(duplex=True)
            self.stack.callback(mine.close)
            self.down = self.up = mine
            return (childs, childs, (mine,)), (childs,)
        down_receive, self.down = self.context.Pipe(duplex=False)
        self.stack.callback(self.down.close)
        self.up, up_send = self.context.Pipe(duplex=False)
        self.stack.callback(self.up.close)
        return (down_receive, up_send, (self.down, self.up)), (down_receive, up_send)

    def ask_to_stop(self):
        self.down.send_bytes(b"")

    def run(self, iterations):
        payload = bytearray(i * 131 + 7 & 0xFF for i in range(self.size))
        send, receive, pack = self.down.send_bytes, self.up.recv_bytes, struct.Struct("<Q").pack_into
        try:
            for r in range(self.round + 1, self.round + iterations + 1):
                pack(payload, 0, r)
                send(payload)
                if receive() != payload:
                    raise AssertionError(f"round trip {r}: the echo differs from the message sent")
        except EOFError:
            self.check_alive()
            raise AssertionError("the echo process closed its pipe") from None
        self.round += iterations
        return {"verified": 1}


class SharedCounter(Commanded):
    target = staticmethod(_children.counter_worker)

    def __init__(self, kind: str, procs: int):
        super().__init__()
        self.kind, self.procs = kind, procs

    def channels(self):
        if self.kind == "value_lock":
            self.shared = self.context.Value("q", 0)
        elif self.kind == "value_raw":
            self.shared = self.context.RawValue("q", 0)
        else:
            self.shared = self.context.Array("q", 8)
        self.stack.callback(setattr, self, "shared", None)  # its semaphore released with it
        if self.procs < 2:
            return None
        child_end = self.control_pipe()
        return (child_end, (self.control,), self.kind, self.shared), (child_end,)

    def warm_up(self):
        self.run(2)  # a forked child's first run pays its copy-on-write faults (tens of ms)

    def total(self):
        if self.kind == "array_lock":
            with self.shared.get_lock():
                return sum(self.shared[:])
        return self.shared.value

    def _add(self, n):
        shared = self.shared
        if self.kind == "value_lock":
            lock = shared.get_lock()
            for _ in range(n):
                with lock:
                    shared.value += 1
        elif self.kind == "value_raw":
            for _ in range(n):
                shared.value += 1
        else:
            lock = shared.get_lock()
            for i in range(n):
                with lock:
                    shared[i & 7] += 1

    def run(self, iterations):
        before = self.total()
        shares = split(iterations, self.procs)
        if self.procs > 1:
            self.control.send(shares[1])
        self._add(shares[0])
        if self.procs > 1:
            expect("increments the child reported", self.reply(), shares[1])
        added = self.total() - before
        if self.kind != "value_raw":
            expect("increments under the lock", added, iterations)
            return {"verified": 1}
        if not 1 <= added <= iterations:
            raise AssertionError(f"{iterations} unsynchronised increments added {added}")
        lost = iterations - added
        return {"lost_updates": lost, "lost_fraction": lost / iterations, "verified": 1}


class SemaphorePingPong(Commanded):
    target = staticmethod(_children.semaphore_turns)

    def channels(self):
        self.to_child, self.to_parent = self.context.Semaphore(0), self.context.Semaphore(0)
        self.stack.callback(setattr, self, "to_child", None)
        self.stack.callback(setattr, self, "to_parent", None)
        child_end = self.control_pipe()
        return (child_end, (self.control,), self.to_child, self.to_parent), (child_end,)

    def run(self, iterations):
        self.control.send(iterations)
        release, acquire = self.to_child.release, self.to_parent.acquire
        for _ in range(iterations):
            release()
            while not acquire(True, 1.0):
                self.check_alive()
        expect("turns the child took", self.reply(), iterations)
        return {"verified": 1}


class EventPingPong(Commanded):
    target = staticmethod(_children.event_turns)

    def channels(self):
        self.ping, self.pong = self.context.Event(), self.context.Event()
        self.stack.callback(setattr, self, "ping", None)
        self.stack.callback(setattr, self, "pong", None)
        child_end = self.control_pipe()
        return (child_end, (self.control,), self.ping, self.pong), (child_end,)

    def run(self, iterations):
        self.control.send(iterations)
        ping, pong = self.ping, self.pong
        for _ in range(iterations):
            ping.set()
            while not pong.wait(1.0):
                self.check_alive()
            pong.clear()
        expect("turns the child took", self.reply(), iterations)
        return {"verified": 1}


class BarrierCrossings(Commanded):
    target = staticmethod(_children.barrier_crossings)

    def channels(self):
        self.barrier = self.context.Barrier(2)
        self.arrivals = self.context.RawArray("q", 2)  # parent's, child's
        self.stack.callback(setattr, self, "barrier", None)
        child_end = self.control_pipe()
        return (child_end, (self.control,), self.barrier, self.arrivals), (child_end,)

    def ask_to_stop(self):
        super().ask_to_stop()
        self.barrier.abort()  # a child still waiting in the barrier leaves it

    def run(self, iterations):
        self.control.send(iterations)
        wait, arrivals, early = self.barrier.wait, self.arrivals, 0
        for _ in range(iterations):
            arrivals[0] += 1
            wait(ANSWER_SECONDS)
            if arrivals[1] < arrivals[0]:
                early += 1
        crossings, child_early = self.reply()
        expect("crossings by the child", crossings, iterations)
        expect("crossings before the other side had arrived", early + child_early, 0)
        return {"verified": 1}


class SharedMemoryCycle(Subject):
    SIZE = 4096

    def open(self):
        servers = MpServers()
        self.stack.callback(servers.release)
        self.run(1)  # starts the resource tracker

    def run(self, iterations):
        SharedMemory, pack, unpack = shared_memory.SharedMemory, struct.Struct("<Q").pack_into, \
            struct.Struct("<Q").unpack_from
        total, name = 0, None
        for value in range(1, iterations + 1):
            segment = SharedMemory(create=True, size=self.SIZE)
            try:
                try:
                    pack(segment.buf, 0, value)
                    total += unpack(segment.buf, 0)[0]
                finally:
                    segment.close()
            finally:
                segment.unlink()
            name = segment.name
        expect("sum of the values read back", total, triangle(iterations))
        if os.path.isdir("/dev/shm"):
            expect(f"/dev/shm/{name} after unlink", os.path.exists(f"/dev/shm/{name}"), False)
        return {"verified": 1}


class ManagerDict(Subject):
    KEYS = 4096

    def __init__(self, get: bool):
        super().__init__()
        self.get = get
        self.i = 0
        self.map = None

    def open(self):
        servers = MpServers()
        self.stack.callback(servers.release)
        manager = SyncManager(ctx=mp_context())
        manager.start(_children.child_init)
        self.stack.callback(manager.shutdown)
        self.map = manager.dict()
        self.stack.callback(setattr, self, "map", None)  # the proxy goes before its server
        self.map.update({key: key * 3 + 1 for key in range(self.KEYS)})
        expect("keys in the managed dict", len(self.map), self.KEYS)

    def run(self, iterations):
        shared, keys, first = self.map, self.KEYS, self.i
        if self.get:
            wrong = 0
            for i in range(first, first + iterations):
                key = i * 2654435761 % keys
                if shared[key] != key * 3 + 1:
                    wrong += 1
            expect("values read wrong", wrong, 0)
        else:
            for i in range(first, first + iterations):
                shared[i * 2654435761 % keys] = i
            last = first + iterations - 1
            expect("the last value set, read back", shared.get(last * 2654435761 % keys), last)
            expect("keys in the managed dict", len(shared), keys)
        self.i += iterations
        return {"verified": 1}


register("py/mp/queue/pingpong", maker(QueuePingPong),
         "one round trip of an int to a child process and back + 1 through two multiprocessing.Queues "
         "(pickle + feeder thread + pipe each way)", "ipc/pipe/pingpong/size:64")
register("py/mp/pipe/pingpong/size:64", maker(PipePingPong, False),
         "one round trip of 64 bytes (send_bytes/recv_bytes) to an echoing child through two "
         "Pipe(duplex=False) (os.pipe)", "ipc/pipe/pingpong/size:64")
register("py/mp/pipe_duplex/pingpong/size:64", maker(PipePingPong, True),
         "one round trip of 64 bytes (send_bytes/recv_bytes) to an echoing child through one Pipe() "
         "(a socketpair)", "ipc/socketpair_stream/pingpong/size:64")
for _procs in (1, 2):
    register(f"py/mp/value/lock/procs:{_procs}", maker(SharedCounter, "value_lock", _procs),
             f"`with v.get_lock(): v.value += 1` on a multiprocessing.Value('q') (default RLock, which "
             f".value takes again), {_procs} process(es) sharing the iterations; total exact",
             f"psync/counter/mutex/procs:{_procs}")
    register(f"py/mp/value/nolock/procs:{_procs}", maker(SharedCounter, "value_raw", _procs),
             f"RawValue('q').value += 1 without a lock, {_procs} process(es) sharing the iterations; "
             "lost updates counted (C++ uses an atomic fetch_add: none lost)",
             f"psync/counter/atomic/procs:{_procs}")
    register(f"py/mp/array/lock/procs:{_procs}", maker(SharedCounter, "array_lock", _procs),
             f"`with a.get_lock(): a[i & 7] += 1` on a multiprocessing.Array('q', 8) (each index takes the "
             f"lock again), {_procs} process(es) sharing the iterations; total exact",
             f"psync/counter/mutex/procs:{_procs}")
register("py/mp/semaphore/pingpong", maker(SemaphorePingPong),
         "one round trip of a turn between this process and a child through two multiprocessing.Semaphores",
         "psync/pingpong/semaphore")
register("py/mp/event/pingpong", maker(EventPingPong),
         "one round trip of a turn between this process and a child through two multiprocessing.Events "
         "(set, wait, clear)", "psync/pingpong/event")
register("py/mp/barrier/procs:2", maker(BarrierCrossings),
         "one multiprocessing.Barrier(2).wait by this process and a child (one crossing)",
         "psync/barrier/procs:2")
register("py/mp/shared_memory/create", maker(SharedMemoryCycle),
         "SharedMemory(create=True, size=4096) + write and read back 8 bytes + close + unlink "
         "(no C++ counterpart: C++ maps its shared memory once)", "")
register("py/mp/manager/set", maker(ManagerDict, False),
         "d[key] = value on a Manager().dict() of 4,096 keys: one round trip to the manager process",
         "psync/manager/set")
register("py/mp/manager/get", maker(ManagerDict, True),
         "d[key] on a Manager().dict() of 4,096 keys, the value checked: one round trip to the manager process",
         "psync/manager/get")
