"""py_thread_pool: concurrent.futures.ThreadPoolExecutor(max_workers=p), made
once per executor (outside the timed region, as a program keeps its pool); a
future per chunk (submit), results in chunk order."""
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

from ..executor import Executor, bind_worker, check_range, chunk_bounds, chunk_count, collect
from ..registry import Model, register_model


class ThreadPoolModel(Executor):
    name = "py_thread_pool"

    def __init__(self, workers, cpus=()):
        super().__init__(workers, cpus)
        started, lock = itertools.count(), threading.Lock()  # the pool starts its threads as submits need them

        def bind_next():
            with lock:
                worker = next(started)
            bind_worker(self.cpus, worker)
        self.pool = ThreadPoolExecutor(max_workers=workers, initializer=bind_next)

    def _map(self, fn, n, grain, args, afn):
        check_range(n, grain)
        futures = [self.pool.submit(fn, *chunk_bounds(n, grain, c), *args) for c in range(chunk_count(n, grain))]
        return collect(futures)

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


register_model(Model("py_thread_pool", "concurrent.futures.ThreadPoolExecutor, a future per chunk",
                     ThreadPoolModel, max_concurrency=1024,
                     gil_bound=True,
                     task_spawn="ThreadPoolExecutor.submit per task",
                     label="Python thread pool", group="threads", order=20))
