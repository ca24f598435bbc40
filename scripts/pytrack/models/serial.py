"""py_serial: every chunk in order on the calling thread; the Python track's
baseline (speedups of py_ models are against it at the same n)."""
from ..executor import Executor, check_range, chunk_bounds, chunk_count
from ..registry import Model, register_model


class SerialExecutor(Executor):
    name = "py_serial"

    def _map(self, fn, n, grain, args, afn):
        check_range(n, grain)
        return [fn(*chunk_bounds(n, grain, c), *args) for c in range(chunk_count(n, grain))]


register_model(Model("py_serial", "the chunks one after another on the calling thread (the baseline)",
                     SerialExecutor, parallel=False, task_spawn="a function call per task",
                     label="Python serial", group="baseline", order=0))
