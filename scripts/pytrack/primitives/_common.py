"""Helpers shared by the primitive families (this module registers nothing).

- Subject: what a primitive's make() returns. open() acquires everything and
  registers each release on self.stack (an ExitStack); close() unwinds it,
  every release running even if one fails, and is idempotent; make() closes a
  half-opened subject before re-raising.
- Team: helper threads kept across run() calls, like the C++ ThreadTeam, so
  thread start-up is never timed. A job that raises calls the subject's abort
  hook (which must unblock whatever the caller may be waiting on) and its
  exception reaches the caller at wait().
- expect / lateness_counters: the checks; a failed one raises AssertionError.
- Child processes (their code is in _children.py): stop_process(),
  mp_context() (the track's start method) and MpServers (stops
  multiprocessing's resource tracker and fork server if this subject started
  them, so nothing is left running after close()).
"""
from __future__ import annotations

import contextlib
import functools
import gc
import math
import multiprocessing
import queue
import threading

from ..executor import start_method
from ..registry import Primitive, register_primitive


def register(name: str, make, summary: str, counterpart: str = "") -> Primitive:
    return register_primitive(Primitive(name, make, summary, counterpart))


def maker(cls, *args, **kwargs):
    """A make() for Primitive: cls(*args, **kwargs) opened, or closed and re-raised."""
    return functools.partial(cls.make, *args, **kwargs)


def expect(what: str, got, expected) -> None:
    if got != expected:
        raise AssertionError(f"{what}: got {got!r}, expected {expected!r}")


def triangle(n: int) -> int:
    """1 + 2 + ... + n: the sum every run's values 1..n must add up to."""
    return n * (n + 1) // 2


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks, as the C++ timer family does."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def lateness_counters(late_seconds: list[float], expected_samples: int) -> dict:
    """Counters of timer lateness (actual - requested, microseconds): median_late_us
    is the median, p99_late_us and max_late_us the tail. Fails on a
    missing sample or a timer that fired early (by more than 1 us, the C++
    family's allowance for clock granularity)."""
    expect("timer samples", len(late_seconds), expected_samples)
    late_us = [value * 1e6 for value in late_seconds]
    earliest = min(late_us)
    if earliest < -1.0 or math.isnan(earliest):
        raise AssertionError(f"timer fired early: {earliest:.1f} us before the requested time")
    return {"median_late_us": percentile(late_us, 0.5), "p99_late_us": percentile(late_us, 0.99),
            "max_late_us": max(late_us)}


class Subject:
    """Base of what make() returns; subclasses acquire in open() and put each
    release on self.stack right after the acquisition succeeds."""

    def __init__(self):
        self.stack = contextlib.ExitStack()

    @classmethod
    def make(cls, *args, **kwargs):
        subject = cls(*args, **kwargs)
        try:
            subject.open()
        except BaseException:
            subject.close()
            raise
        return subject

    def open(self) -> None:
        pass

    def run(self, iterations: int) -> dict | None:
        raise NotImplementedError

    def close(self) -> None:
        self.stack.close()


# --- helper threads ---------------------------------------------------------------------------

class Team:
    """`count` daemon helper threads waiting for jobs. start(fn, args_per_helper)
    hands helper k the call fn(k, *args[k]); wait() returns their results in
    order and re-raises the first exception one of them raised."""

    JOIN_TIMEOUT = 10.0

    def __init__(self, count: int, name: str, abort=None):
        self.abort = abort or (lambda: None)
        self.busy = False
        self._inboxes = [queue.SimpleQueue() for _ in range(count)]
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = []
        for index, inbox in enumerate(self._inboxes):
            thread = threading.Thread(target=self._serve, args=(index, inbox), name=f"{name}-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, index, inbox):
        while True:
            job = inbox.get()
            if job is None:
                return
            fn, args = job
            try:
                self._done.put((index, True, fn(index, *args)))
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                try:
                    self.abort()
                finally:
                    self._done.put((index, False, error))

    def start(self, fn, args_per_helper=None) -> None:
        self.busy = True
        for index, inbox in enumerate(self._inboxes):
            inbox.put((fn, tuple(args_per_helper[index]) if args_per_helper else ()))

    def wait(self, timeout: float | None = None) -> list:
        results, failure = [None] * len(self._inboxes), None
        for _ in self._inboxes:
            try:
                index, ok, value = self._done.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"a helper thread did not finish within {timeout} s") from None
            if ok:
                results[index] = value
            elif failure is None:
                failure = value
        self.busy = False
        if failure is not None:
            raise failure
        return results

    def close(self) -> None:
        if self.busy:  # the caller failed mid-run: unblock the helpers and collect them
            self.abort()
            try:
                self.wait(timeout=self.JOIN_TIMEOUT)
            except BaseException:  # noqa: BLE001 - their error is the caller's error's echo
                pass
        for inbox in self._inboxes:
            inbox.put(None)
        stuck = []
        for thread in self._threads:
            thread.join(self.JOIN_TIMEOUT)
            if thread.is_alive():
                stuck.append(thread.name)
        if stuck:
            raise RuntimeError(f"helper threads did not stop: {', '.join(stuck)}")


def split(iterations: int, parts: int) -> list[int]:
    """iterations shared out as evenly as possible, the first parts taking the remainder."""
    share, extra = divmod(iterations, parts)
    return [share + (1 if k < extra else 0) for k in range(parts)]


# --- child processes --------------------------------------------------------------------------

def mp_context():
    """The multiprocessing context of the track (executor.start_method())."""
    return multiprocessing.get_context(start_method()[0])


def stop_process(process, timeout: float = 5.0) -> None:
    """Waits for a started child that was asked to stop; terminates, then kills
    it if it does not; reaps it and releases its resources."""
    if process is None or process._popen is None:  # never started
        return
    try:
        process.join(timeout)
        if process.exitcode is None:
            process.terminate()
            process.join(2.0)
        if process.exitcode is None:
            process.kill()
            process.join()
    finally:
        with contextlib.suppress(ValueError):
            process.close()


def _tracker():
    from multiprocessing import resource_tracker
    return getattr(resource_tracker, "_resource_tracker", None)


def _forkserver():
    try:
        from multiprocessing import forkserver
    except ImportError:
        return None
    return getattr(forkserver, "_forkserver", None)


def _tracker_running() -> bool:
    tracker = _tracker()
    return tracker is not None and getattr(tracker, "_fd", None) is not None


def _forkserver_running() -> bool:
    server = _forkserver()
    return server is not None and getattr(server, "_forkserver_pid", None) is not None


def _named_semaphores_alive() -> bool:
    """Whether a multiprocessing semaphore with a name (spawn, forkserver) still
    waits for its finalizer, which unlinks it and unregisters it from the tracker."""
    from multiprocessing import synchronize, util
    cleanup = getattr(synchronize.SemLock, "_cleanup", None)
    registry = getattr(util, "_finalizer_registry", {})
    return cleanup is not None and any(getattr(f, "_callback", None) is cleanup for f in list(registry.values()))


class MpServers:
    """multiprocessing starts helper processes on first use and keeps them: the
    resource tracker (SharedMemory, and semaphores and processes under spawn and
    forkserver) and the fork server. Made before a subject's first use of
    multiprocessing, release() stops the ones that were not running then, so
    that close() leaves no child process behind. The fork server goes first: it
    holds the tracker's pipe, which the tracker waits to see closed."""

    def __init__(self):
        self.tracker_was_running = _tracker_running()
        self.forkserver_was_running = _forkserver_running()

    def release(self) -> None:
        gc.collect()  # named semaphores dropped now unlink and unregister through the tracker
        if not self.forkserver_was_running and _forkserver_running():
            stop = getattr(_forkserver(), "_stop", None)
            if stop is not None:
                stop()
        # A named semaphore still alive (e.g. held by the traceback of the error
        # being handled) would be unlinked by a stopping tracker under its owner:
        # then the tracker stays until the interpreter exits.
        if not self.tracker_was_running and _tracker_running() and not _named_semaphores_alive():
            stop = getattr(_tracker(), "_stop", None)
            if stop is not None:
                stop()
