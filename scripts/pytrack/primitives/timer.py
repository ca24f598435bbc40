"""py/timer/: how late Python's timers fire, beside the C++ timer/ family. One
iteration is one timer (so the time per iteration is the requested delay plus
the lateness); counters median_late_us (median of actual - requested, us),
p99_late_us and max_late_us over the run's timers (the C++ family calls
them median_late_us, p99_late_us, max_late_us). A timer that fires early fails.
- sleep/us:D: time.sleep(D us) (clock_nanosleep on Linux).
- timer_thread/us:D: threading.Timer(D us, fn).start(), wait until fn has run
  (an Event), join: a new thread per timer, measured from before start() to
  after join(), as C++ timer/sleep/timer_thread.
- perf_counter: one time.perf_counter() call (in a loop; no C++ counterpart).
"""
from __future__ import annotations

import threading
import time

from ._common import Subject, expect, lateness_counters, maker, register


class Sleep(Subject):
    def __init__(self, us: int):
        super().__init__()
        self.delay = us / 1e6

    def run(self, iterations):
        sleep, clock, delay, late = time.sleep, time.perf_counter, self.delay, []
        for _ in range(iterations):
            start = clock()
            sleep(delay)
            late.append(clock() - start - delay)
        return {**lateness_counters(late, iterations), "verified": 1}


class TimerThread(Subject):
    def __init__(self, us: int):
        super().__init__()
        self.delay = us / 1e6
        self.fired_event = threading.Event()
        self.fired = 0
        self.current = None

    def open(self):
        self.stack.callback(self._cancel)

    def _cancel(self):
        timer, self.current = self.current, None
        if timer is not None:
            timer.cancel()
            timer.join(10.0)
            if timer.is_alive():
                raise RuntimeError("a threading.Timer thread did not stop")

    def _fire(self):
        self.fired += 1
        self.fired_event.set()

    def run(self, iterations):
        Timer, clock, delay, event, fire, late = threading.Timer, time.perf_counter, self.delay, \
            self.fired_event, self._fire, []
        before = self.fired
        for _ in range(iterations):
            event.clear()
            start = clock()
            self.current = timer = Timer(delay, fire)
            timer.start()
            event.wait()
            timer.join()
            late.append(clock() - start - delay)
        self.current = None
        expect("timers fired", self.fired - before, iterations)
        return {**lateness_counters(late, iterations), "verified": 1}


class PerfCounter(Subject):
    def run(self, iterations):
        clock = time.perf_counter
        first = last = clock()
        for _ in range(iterations):
            last = clock()
        if not (isinstance(last, float) and last >= first):
            raise AssertionError(f"time.perf_counter went backwards: {first} then {last}")
        return {"verified": 1}


for _us in (100, 1000):
    register(f"py/timer/sleep/us:{_us}", maker(Sleep, _us),
             f"time.sleep({_us} us); counters median_late_us (median of actual - requested), p99_late_us, "
             "max_late_us", f"timer/sleep/sleep_for/us:{_us}")
    register(f"py/timer/timer_thread/us:{_us}", maker(TimerThread, _us),
             f"threading.Timer({_us} us) started, its function awaited (an Event), joined; counters "
             "median_late_us (median), p99_late_us, max_late_us", f"timer/sleep/timer_thread/us:{_us}")
register("py/timer/perf_counter", maker(PerfCounter),
         "one time.perf_counter() call, loop included (no C++ counterpart)", "")
