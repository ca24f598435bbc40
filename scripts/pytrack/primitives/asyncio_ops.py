"""py/asyncio/: asyncio's task machinery and timers on one event loop (made in
make(), closed in close()), beside the C++ coroutine benchmarks. One run is
one run_until_complete of a coroutine doing `iterations` operations:
- await_coroutine: `await unit(i)`: a coroutine created and run to the end,
  no task, no loop pass (as C++ spawn/coroutine: create, resume, destroy).
- task: `await loop.create_task(unit(i))`: a Task scheduled, run on the next
  loop pass and awaited.
- gather/tasks:K, wait/tasks:K, as_completed/tasks:K: batches of K
  coroutines run by asyncio.gather / asyncio.wait (as tasks) /
  asyncio.as_completed; one iteration is one task (the time per task, as the
  C++ counter ns_per_task; the last batch may be smaller).
- wait_for/timeout_us:T: asyncio.wait_for(asyncio.sleep(3600), T us) that
  times out: T = 0 is the timeout path alone (the task cancelled before it
  starts, TimeoutError raised and caught); T = 1000 waits for the loop's timer.
- sleep/us:D: asyncio.sleep(D us); counters median_late_us (median of actual -
  requested), p99_late_us, max_late_us. D = 0 is one pass of the loop.
  The loop's selector waits in whole milliseconds (epoll), so a timer due in
  less than 1 ms is late by up to 1 ms.
Every unit returns i + 1 and the results must add up; every timeout must fire.
"""
from __future__ import annotations

import asyncio
import time

from ._common import Subject, expect, lateness_counters, maker, register, triangle


async def _unit(i):
    return i + 1


class OnLoop(Subject):
    def __init__(self, op: str, k: int = 0):
        super().__init__()
        self.op, self.k = op, k
        self.loop = None

    def open(self):
        self.loop = asyncio.new_event_loop()
        self.stack.callback(self._close_loop, self.loop)
        self.run(1)

    @staticmethod
    def _close_loop(loop):
        if loop.is_closed():
            return
        try:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()

    def run(self, iterations):
        return self.loop.run_until_complete(getattr(self, "_" + self.op)(iterations))

    async def _await_coroutine(self, n):
        total = 0
        for i in range(n):
            total += await _unit(i)
        expect("sum of the results", total, triangle(n))
        return {"verified": 1}

    async def _task(self, n):
        create_task, total = self.loop.create_task, 0
        for i in range(n):
            total += await create_task(_unit(i))
        expect("sum of the results", total, triangle(n))
        return {"verified": 1}

    def _batches(self, n):
        for start in range(0, n, self.k):
            yield range(start, min(n, start + self.k))

    async def _gather(self, n):
        gather, total = asyncio.gather, 0
        for batch in self._batches(n):
            total += sum(await gather(*[_unit(i) for i in batch]))
        expect("sum of the results", total, triangle(n))
        return {"verified": 1}

    async def _wait(self, n):
        create_task, wait, total = self.loop.create_task, asyncio.wait, 0
        for batch in self._batches(n):
            done, pending = await wait([create_task(_unit(i)) for i in batch])
            expect("tasks still pending after asyncio.wait", len(pending), 0)
            total += sum(task.result() for task in done)
        expect("sum of the results", total, triangle(n))
        return {"verified": 1}

    async def _as_completed(self, n):
        as_completed, total = asyncio.as_completed, 0
        for batch in self._batches(n):
            for next_done in as_completed([_unit(i) for i in batch]):
                total += await next_done
        expect("sum of the results", total, triangle(n))
        return {"verified": 1}

    async def _wait_for(self, n):
        wait_for, sleep, timeout, clock = asyncio.wait_for, asyncio.sleep, self.k / 1e6, time.perf_counter
        fired, late = 0, []
        for _ in range(n):
            start = clock()
            try:
                await wait_for(sleep(3600), timeout)
            except asyncio.TimeoutError:
                late.append(clock() - start - timeout)
                fired += 1
        expect("timeouts fired", fired, n)
        return {**lateness_counters(late, n), "verified": 1}

    async def _sleep(self, n):
        sleep, delay, clock, late = asyncio.sleep, self.k / 1e6, time.perf_counter, []
        for _ in range(n):
            start = clock()
            await sleep(delay)
            late.append(clock() - start - delay)
        return {**lateness_counters(late, n), "verified": 1}


register("py/asyncio/await_coroutine", maker(OnLoop, "await_coroutine"),
         "await of a new coroutine (no task, no loop pass)", "spawn/coroutine")
register("py/asyncio/task", maker(OnLoop, "task"),
         "await loop.create_task(coroutine): a Task scheduled, run on the next loop pass and awaited "
         "(C++ spawn/coroutine resumes directly, without a scheduler)", "spawn/coroutine")
for _op, _what in (("gather", "asyncio.gather"), ("wait", "asyncio.wait (create_task each)"),
                   ("as_completed", "asyncio.as_completed")):
    register(f"py/asyncio/{_op}/tasks:16", maker(OnLoop, _op, 16),
             f"one task of a batch of 16 coroutines run with {_what} (time per task; compare with the C++ "
             "counter ns_per_task)", "overhead/tasks/coroutines/p:1")
register("py/asyncio/wait_for/timeout_us:0", maker(OnLoop, "wait_for", 0),
         "asyncio.wait_for(sleep(3600), 0) timing out at once: task made and cancelled, TimeoutError "
         "raised and caught (no timer; no C++ counterpart)", "")
register("py/asyncio/wait_for/timeout_us:1000", maker(OnLoop, "wait_for", 1000),
         "asyncio.wait_for(sleep(3600), 1 ms) timing out on the loop's timer; counters median_late_us (median), "
         "p99_late_us", "timer/sleep/coroutine_loop/us:1000")
register("py/asyncio/sleep/us:0", maker(OnLoop, "sleep", 0),
         "asyncio.sleep(0): one pass of the event loop (median_late_us is its duration; no C++ counterpart)", "")
for _us in (100, 1000):
    register(f"py/asyncio/sleep/us:{_us}", maker(OnLoop, "sleep", _us),
             f"asyncio.sleep({_us} us) on the loop; counters median_late_us (median of actual - requested), "
             "p99_late_us, max_late_us (epoll waits whole ms: below 1 ms expect up to 1 ms late)",
             f"timer/sleep/coroutine_loop/us:{_us}")
