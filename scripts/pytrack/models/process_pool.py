"""py_process_pool: concurrent.futures.ProcessPoolExecutor(max_workers=p) with
the start method of executor.start_method(), made once per executor and its p
worker processes started before the first timed region (as a program that
keeps its pool finds them running); a future per chunk (submit; arguments and
results pickled). A worker that dies breaks the pool: WorkerDied with its exit
code."""
import multiprocessing
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..executor import Executor, WorkerDied, bind_worker, check_range, chunk_bounds, chunk_count, collect, start_method
from ..registry import Model, register_model
from .processes import reset_signals


def _start_worker(cpus, started):
    """A pool worker's initializer: signals as a worker's, then bound to the next CPU."""
    reset_signals()
    if cpus:
        with started.get_lock():
            worker = started.value
            started.value += 1
        bind_worker(cpus, worker)


def _pause(seconds):
    time.sleep(seconds)
    return True


class ProcessPoolModel(Executor):
    name = "py_process_pool"

    def __init__(self, workers, cpus=()):
        super().__init__(workers, cpus)
        self.method = start_method()[0]
        context = multiprocessing.get_context(self.method)
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                                        initargs=(self.cpus, context.Value("q", 0)))
        try:
            # Start every worker now: p tasks that overlap make the pool start p processes.
            collect([self.pool.submit(_pause, 0.05) for _ in range(workers)])
            self.processes = dict(getattr(self.pool, "_processes", None) or {})
        except BaseException:
            self.close()
            raise

    def _dead_worker(self):
        """The worker whose death broke the pool: the pool then terminates the others
        (SIGTERM), so a worker that ended otherwise is the one that died first."""
        time.sleep(0.05)  # let the pool's manager reap it
        ended = [(pid, process.exitcode) for pid, process in self.processes.items()
                 if process.exitcode not in (None, 0)]
        for pid, code in sorted(ended, key=lambda item: item[1] == -signal.SIGTERM):
            return WorkerDied(self.name, pid, code)
        return WorkerDied(self.name, None, None)

    def _map(self, fn, n, grain, args, afn):
        check_range(n, grain)
        try:
            futures = [self.pool.submit(fn, *chunk_bounds(n, grain, c), *args) for c in range(chunk_count(n, grain))]
            return collect(futures)
        except BrokenProcessPool:
            raise self._dead_worker() from None

    def close(self):
        pool = getattr(self, "pool", None)
        if pool is None:
            return
        self.pool = None
        pool.shutdown(wait=True, cancel_futures=True)


register_model(Model("py_process_pool",
                     "concurrent.futures.ProcessPoolExecutor (workers started up front), a future per chunk",
                     ProcessPoolModel, max_concurrency=64,
                     task_spawn="ProcessPoolExecutor.submit per task (pickled)",
                     note="the start method is Python's default unless PARBENCH_PY_START_METHOD sets it",
                     label="Python process pool", group="processes", order=40, roles=("process_workers",)))
