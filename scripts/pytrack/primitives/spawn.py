"""py/spawn/: the cost to start one unit of work and see it finish, one unit
per iteration, beside the C++ spawn/ family (its time per iteration is per
unit too):
  function_call_baseline  a plain call of the unit: the floor
  thread                  threading.Thread start + join
  thread_pool_task        ThreadPoolExecutor(1).submit(...).result() (worker warm)
  process_pool_task       ProcessPoolExecutor(1).submit(...).result() (worker warm;
                          argument and result pickled both ways)
  mp_pool_apply           multiprocessing.Pool(1).apply(...) (worker warm)
  process/start:<method>  multiprocessing.Process start + join with that start
                          method (fork, forkserver, spawn: those the platform has);
                          spawn starts a new interpreter that imports the target's
                          module (_children.py, standard library only)
Checks: an in-process unit adds i + 1 to a total that must reach 1 + ... + n;
a pool unit returns i + 1, summed the same way; a process exits with a code
derived from i, and the codes must add up (the child ran its target with its
argument). Pools are made and warmed in make() and closed in close(); the
process families use the track's start method (PARBENCH_PY_START_METHOD).
"""
from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from . import _children
from ._common import MpServers, Subject, expect, maker, mp_context, register, stop_process, triangle


class InProcess(Subject):
    """Units that add i + 1 to self.total: called directly, on a new thread, or on a pool thread."""

    def __init__(self, how: str):
        super().__init__()
        self.how = how
        self.total = 0
        self.pool = None

    def unit(self, i):
        self.total += i + 1

    def open(self):
        if self.how == "thread_pool":
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="py-spawn-pool")
            self.stack.callback(self.pool.shutdown, wait=True, cancel_futures=True)
            self.pool.submit(self.unit, -1).result()  # start the worker thread

    def run(self, iterations):
        before, unit = self.total, self.unit
        if self.how == "call":
            for i in range(iterations):
                unit(i)
        elif self.how == "thread":
            Thread = threading.Thread
            for i in range(iterations):
                thread = Thread(target=unit, args=(i,))
                thread.start()
                thread.join()
        else:
            submit = self.pool.submit
            for i in range(iterations):
                submit(unit, i).result()
        expect("sum of the units' contributions", self.total - before, triangle(iterations))
        return {"verified": 1}


class PoolTask(Subject):
    """_children.plus_one(i) on a warm one-worker process pool, one call per iteration."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.pool = None

    def open(self):
        servers = MpServers()
        self.stack.callback(servers.release)
        # Dropped before the servers stop: the pool's semaphores unregister as they go.
        self.stack.callback(setattr, self, "pool", None)
        context = mp_context()
        if self.kind == "executor":
            self.pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_children.child_init)
            self.stack.callback(self.pool.shutdown, wait=True, cancel_futures=True)
            expect("warm-up result", self.pool.submit(_children.plus_one, 1).result(), 2)
        else:
            self.pool = context.Pool(1, initializer=_children.child_init)
            self.stack.callback(self._close_pool, self.pool)
            expect("warm-up result", self.pool.apply(_children.plus_one, (1,)), 2)

    @staticmethod
    def _close_pool(pool):
        try:
            pool.close()
            pool.join()
        except BaseException:
            pool.terminate()
            pool.join()
            raise

    def run(self, iterations):
        total, plus_one = 0, _children.plus_one
        if self.kind == "executor":
            submit = self.pool.submit
            for i in range(iterations):
                total += submit(plus_one, i).result()
        else:
            apply = self.pool.apply
            for i in range(iterations):
                total += apply(plus_one, (i,))
        expect("sum of the results", total, triangle(iterations))
        return {"verified": 1}


def _code(i: int) -> int:
    return i % 100 + 1


class ProcessStart(Subject):
    """A multiprocessing.Process per iteration, started and joined; its exit code checked."""

    def __init__(self, method: str):
        super().__init__()
        self.context = multiprocessing.get_context(method)
        self.current = None

    def open(self):
        servers = MpServers()
        self.stack.callback(servers.release)
        self.stack.callback(lambda: stop_process(self.current))
        self.run(1)  # warm: the fork server started, the target's module imported here

    def run(self, iterations):
        Process, exit_with, total, expected = self.context.Process, _children.exit_with, 0, 0
        for i in range(iterations):
            self.current = process = Process(target=exit_with, args=(_code(i),), daemon=True)
            process.start()
            process.join()
            total += process.exitcode
            process.close()
            expected += _code(i)
        self.current = None
        expect("sum of the children's exit codes", total, expected)
        return {"verified": 1}


register("py/spawn/function_call_baseline", maker(InProcess, "call"),
         "a plain Python call of the unit (adds i + 1 to a total): the floor", "spawn/function_call_baseline")
register("py/spawn/thread", maker(InProcess, "thread"),
         "threading.Thread(target=unit).start() + join()", "spawn/thread")
register("py/spawn/thread_pool_task", maker(InProcess, "thread_pool"),
         "ThreadPoolExecutor(max_workers=1).submit(unit).result(), the worker thread already running",
         "spawn/pool_task")
register("py/spawn/process_pool_task", maker(PoolTask, "executor"),
         "ProcessPoolExecutor(max_workers=1).submit(plus_one, i).result(), the worker already running "
         "(argument and result pickled; the track's start method)", "spawn/process_pool_task")
register("py/spawn/mp_pool_apply", maker(PoolTask, "pool"),
         "multiprocessing.Pool(1).apply(plus_one, (i,)), the worker already running (pickled both ways; "
         "the track's start method)", "spawn/process_pool_task")
_CPP_START = {"fork": "spawn/fork", "forkserver": "spawn/fork", "spawn": "spawn/posix_spawn"}
_WHAT_START = {"fork": "the child is a fork of this interpreter",
               "forkserver": "the fork server forks the child and sends back its pid",
               "spawn": "a new interpreter that imports the target's module"}
for _method in ("fork", "forkserver", "spawn"):
    if _method in multiprocessing.get_all_start_methods():
        register(f"py/spawn/process/start:{_method}", maker(ProcessStart, _method),
                 f"multiprocessing.Process start + join with start method {_method} ({_WHAT_START[_method]})",
                 _CPP_START[_method])
