"""py_processes: a multiprocessing.Process per worker per region (started and
joined inside the timed region, as a script that makes its own processes does),
with the start method of executor.start_method(). Workers claim chunks from a
shared counter (a multiprocessing.Value and its lock) and send their results
back through a pipe each; a worker that dies without sending raises WorkerDied
with its exit code; leaving the region any other way terminates the rest."""
import multiprocessing
import multiprocessing.connection
import signal
import traceback

from ..executor import Executor, WorkerDied, bind_worker, check_range, chunk_bounds, chunk_count, start_method
from ..registry import Model, register_model


def reset_signals():
    """A worker's signals: a forked child inherits the runner's handlers, which turn SIGTERM
    into an exception that could unwind it with the claim lock held. terminate() must end it
    outright, and Ctrl-C is the parent's to handle (it terminates its workers)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker(fn, n, grain, args, counter, count, connection, cpus, worker):
    reset_signals()
    bind_worker(cpus, worker)
    done = []
    try:
        while True:
            with counter.get_lock():
                index = counter.value
                counter.value += 1
            if index >= count:
                break
            done.append((index, fn(*chunk_bounds(n, grain, index), *args)))
        connection.send(("ok", done))
    except BaseException as error:  # noqa: B036 - handed to the parent
        with counter.get_lock():
            counter.value = count  # the others stop claiming
        try:
            connection.send(("error", error))
        except Exception:  # the exception itself does not pickle
            connection.send(("error", RuntimeError(traceback.format_exc(limit=3))))
    finally:
        connection.close()


def run_on_processes(context, counter, workers, fn, n, grain, args, model_name, cpus=()):
    """The chunks on `workers` new processes; counter is a shared Value("q")
    (made once: the first one of a process maps a shared arena, ~20 ms here)."""
    count = chunk_count(n, grain)
    with counter.get_lock():
        counter.value = 0
    processes, connections = [], []
    try:
        for worker in range(min(workers, max(count, 1))):
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_worker, args=(fn, n, grain, args, counter, count, send, cpus, worker),
                                      daemon=True)
            process.start()
            send.close()
            processes.append(process)
            connections.append(receive)
        results = [None] * count
        failure = None
        # Results as they come, from any worker: a worker that dies (even one killed while
        # holding the claim lock, which would stall the others) is seen at once.
        waiting = dict(zip(connections, processes))
        while waiting:
            for ready in multiprocessing.connection.wait(list(waiting)):
                process = waiting.pop(ready)
                try:
                    status, payload = ready.recv()
                except EOFError:
                    process.join()
                    raise WorkerDied(model_name, process.pid, process.exitcode) from None
                if status == "error":
                    failure = failure or payload
                else:
                    for index, value in payload:
                        results[index] = value
        for process in processes:
            process.join()
        if failure is not None:
            raise failure
        return results
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
            process.close()
        for connection in connections:
            connection.close()


class ProcessesExecutor(Executor):
    name = "py_processes"

    def __init__(self, workers, cpus=()):
        super().__init__(workers, cpus)
        self.method = start_method()[0]
        self.context = multiprocessing.get_context(self.method)
        self.counter = self.context.Value("q", 0)

    def _map(self, fn, n, grain, args, afn):
        check_range(n, grain)
        return run_on_processes(self.context, self.counter, self.workers, fn, n, grain, args, self.name, self.cpus)


register_model(Model("py_processes",
                     "a multiprocessing.Process per worker per region, chunks claimed from a shared counter",
                     ProcessesExecutor, max_concurrency=64,
                     task_spawn="chunks of one task claimed by p processes",
                     note="the start method is Python's default unless PARBENCH_PY_START_METHOD sets it",
                     label="Python processes", group="processes", order=30))
