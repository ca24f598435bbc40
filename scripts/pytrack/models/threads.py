"""py_threads: a threading.Thread per worker per region (started and joined
inside the timed region, as a script that makes its own threads does); the
workers claim chunks dynamically from a shared counter. With the GIL only one
runs Python bytecode at a time, so CPU work gets no speedup; blocking I/O and
sleeps release it."""
import itertools
import threading

from ..executor import Executor, bind_worker, check_range, chunk_bounds, chunk_count
from ..registry import Model, register_model


def run_on_threads(workers, fn, n, grain, args, cpus=()):
    """Runs the chunks on `workers` new threads (thread i bound to cpus[i] if given);
    returns results in chunk order."""
    count = chunk_count(n, grain)
    results = [None] * count
    claims = itertools.count()  # next() is one bytecode-level call: atomic under the GIL
    claim_lock = threading.Lock()  # and under a free-threaded build
    failure = []

    def work(worker):
        bind_worker(cpus, worker)
        while not failure:
            with claim_lock:
                index = next(claims)
            if index >= count:
                return
            try:
                results[index] = fn(*chunk_bounds(n, grain, index), *args)
            except BaseException as error:  # noqa: B036 - handed to the caller
                failure.append(error)
                return

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(min(workers, max(count, 1)))]
    started = []
    try:
        for thread in threads:
            thread.start()  # may fail (e.g. "can't start new thread" at a thousand of them)
            started.append(thread)
    except BaseException as error:
        failure.append(error)  # the started ones stop claiming; none is left running behind us
        raise
    finally:
        for thread in started:
            thread.join()
    if failure:
        raise failure[0]
    return results


class ThreadsExecutor(Executor):
    name = "py_threads"

    def _map(self, fn, n, grain, args, afn):
        check_range(n, grain)
        return run_on_threads(self.workers, fn, n, grain, args, self.cpus)


register_model(Model("py_threads", "a threading.Thread per worker per region, chunks claimed dynamically",
                     ThreadsExecutor, max_concurrency=1024,
                     gil_bound=True,
                     task_spawn="chunks of one task claimed by p threads",
                     label="Python threads", group="threads", order=10, roles=("gil_threads",)))
