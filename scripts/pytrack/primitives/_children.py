"""What runs in the child processes of the spawn and mp families (registers nothing).

Kept apart and importing only the standard library, so that a child started
with spawn or forkserver imports this small module (the package's __init__
files are docstrings) and not the registry: a spawned child costs what a
small script's child costs.

Every child runs child_init() first. A child that waits for its parent either
reads a pipe whose other end only the parent holds (EOF when the parent is
gone) or waits with a timeout and checks that its parent is still there, so
no child outlives a parent that was killed.
"""
import os
import signal
import sys
import threading

PARENT_CHECK_SECONDS = 1.0


def child_init() -> None:
    """The runner's SIGINT/SIGTERM handlers (inherited through fork) raise an
    exception; a child takes SIGTERM's default and ignores SIGINT (a Ctrl-C
    reaches the whole process group: the parent stops its children in close())."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _orphaned(parent: int) -> bool:
    return os.getppid() != parent


def _close(connections) -> None:
    for connection in connections:
        connection.close()


# --- spawn ------------------------------------------------------------------------------------

def exit_with(code: int) -> None:
    """A process's whole work: exit with `code` (the parent checks it arrived)."""
    sys.exit(code)


def plus_one(value: int) -> int:
    return value + 1


# --- mp: echo servers -------------------------------------------------------------------------

def queue_echo(inbox, outbox) -> None:
    """Answers every int from inbox with int + 1 on outbox; None stops."""
    child_init()
    get, put = inbox.get, outbox.put
    while True:
        value = get()
        if value is None:
            break
        put(value + 1)
    outbox.close()
    outbox.join_thread()


def pipe_echo(receive, send, parents_ends) -> None:
    """Sends every message back as it came; an empty message or EOF stops."""
    child_init()
    _close(parents_ends)
    recv_bytes, send_bytes = receive.recv_bytes, send.send_bytes
    try:
        while True:
            message = recv_bytes()
            if not message:
                break
            send_bytes(message)
    except EOFError:
        pass


# --- mp: runs commanded over a control pipe ----------------------------------------------------
# The parent sends the number of operations of a run, both sides do their
# part, the child replies with what it did; None (or EOF) stops it.

def _commands(control, parents_ends):
    child_init()
    _close(parents_ends)
    while True:
        try:
            command = control.recv()
        except EOFError:
            return
        if command is None:
            return
        yield command


def counter_worker(control, parents_ends, kind, target) -> None:
    """Adds 1 to a shared Value or Array `n` times per command (kinds as in mp.py)."""
    for n in _commands(control, parents_ends):
        if kind == "value_lock":
            lock = target.get_lock()
            for _ in range(n):
                with lock:
                    target.value += 1
        elif kind == "value_raw":
            for _ in range(n):
                target.value += 1
        elif kind == "array_lock":
            lock = target.get_lock()
            for i in range(n):
                with lock:
                    target[i & 7] += 1
        else:
            raise ValueError(kind)
        control.send(n)


def semaphore_turns(control, parents_ends, to_child, to_parent) -> None:
    """n turns per command: wait for to_child, release to_parent."""
    parent = os.getppid()
    for n in _commands(control, parents_ends):
        acquire, release, turns = to_child.acquire, to_parent.release, 0
        for _ in range(n):
            while not acquire(True, PARENT_CHECK_SECONDS):
                if _orphaned(parent):
                    return
            turns += 1
            release()
        control.send(turns)


def event_turns(control, parents_ends, ping, pong) -> None:
    """n turns per command: wait for ping and clear it, set pong."""
    parent = os.getppid()
    for n in _commands(control, parents_ends):
        turns = 0
        for _ in range(n):
            while not ping.wait(PARENT_CHECK_SECONDS):
                if _orphaned(parent):
                    return
            ping.clear()
            turns += 1
            pong.set()
        control.send(turns)


def barrier_crossings(control, parents_ends, barrier, arrivals) -> None:
    """n crossings per command; arrivals[1] counts this side's arrivals, and after
    each crossing arrivals[0] (the parent's) must be at least as high."""
    for n in _commands(control, parents_ends):
        early = 0
        try:
            for _ in range(n):
                arrivals[1] += 1
                barrier.wait(60.0)  # a parent gone for a minute breaks it: the child ends
                if arrivals[0] < arrivals[1]:
                    early += 1
        except threading.BrokenBarrierError:  # the parent gave up (or is gone)
            return
        control.send((n, early))
