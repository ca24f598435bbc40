"""py_asyncio: one asyncio event loop on the calling thread, made once per
executor; p worker coroutines claim chunks in turn. An I/O workload's afn
suspends at each await, so p requests are in flight; CPU work (fn) runs one
chunk at a time between suspensions: concurrency without parallelism."""
import asyncio
import os

from ..executor import Executor, bind_worker, check_range, chunk_bounds, chunk_count
from ..registry import Model, register_model


class AsyncioExecutor(Executor):
    name = "py_asyncio"

    def __init__(self, workers, cpus=()):
        super().__init__(workers, cpus)
        self.loop = asyncio.new_event_loop()

    async def _run(self, fn, n, grain, args, afn):
        count = chunk_count(n, grain)
        results = [None] * count
        next_index = 0

        async def worker():
            nonlocal next_index
            while next_index < count:
                index = next_index  # no await between the test and the claim: one claimant
                next_index += 1
                lo, hi = chunk_bounds(n, grain, index)
                if afn is not None:
                    results[index] = await afn(lo, hi, *args)
                else:
                    results[index] = fn(lo, hi, *args)
                    await asyncio.sleep(0)  # let the other coroutines run, as a cooperative task would

        tasks = [asyncio.ensure_future(worker()) for _ in range(min(self.workers, max(count, 1)))]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return results

    def _map(self, fn, n, grain, args, afn):
        check_range(n, grain)
        if not self.cpus:
            return self.loop.run_until_complete(self._run(fn, n, grain, args, afn))
        before = os.sched_getaffinity(0)  # the loop runs on the caller's thread: bound while it runs
        bind_worker(self.cpus, 0)
        try:
            return self.loop.run_until_complete(self._run(fn, n, grain, args, afn))
        finally:
            os.sched_setaffinity(0, before)

    def bound_cpus(self):
        return 1 if self.cpus else 0

    def close(self):
        loop, self.loop = getattr(self, "loop", None), None
        if loop is not None and not loop.is_closed():
            loop.run_until_complete(loop.shutdown_asyncgens())
            # the threads of asyncio.to_thread (file I/O) end before the executor does
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()


register_model(Model("py_asyncio", "one asyncio event loop, p coroutines claiming chunks",
                     AsyncioExecutor,
                     limit_cpu="one event loop on one thread: CPU work is interleaved, never parallel",
                     task_spawn="chunks of one task claimed by p coroutines on one loop",
                     label="Python asyncio", group="coroutines", order=50, roles=("event_loop",)))
