"""tcp_echo: n request/response exchanges, each on its own loopback TCP
connection (connect, send PARBENCH_TCP_PAYLOAD bytes, default 64, the C++
generator's bytes for exchange i: seed 0x7C9E0000 + i; receive the echo;
close with RST (SO_LINGER 0) so no TIME_WAIT piles up), against an echo
server of the C++ design: a single-threaded selectors (epoll) loop that
answers each message after a service delay (PARBENCH_TCP_DELAY_US, default
1000 us; a FIFO of due times, as one constant delay keeps it sorted), so
concurrency pays, as with a real back end. The set-up binds and listens on
127.0.0.1 at an ephemeral port, then starts the server as a subprocess running
this very file (python -I -S tcp_echo.py --serve, the listening socket passed
down: clients can connect at once); close() kills it (SIGKILL) and reaps it,
whatever happened. The server asks for SIGKILL when the thread that started it
goes (PR_SET_PDEATHSIG, through ctypes, on Linux) and ends by itself within a
second if its parent is gone; it ignores SIGINT (its parent decides).
Pattern: independent exchanges, one per chunk (grain 1), p in flight:
blocking models use blocking sockets in their workers; py_asyncio connects
with loop.sock_connect and talks through asyncio streams.
Cost: connect + send + the 1 ms delay + receive + close per exchange, plus
the pure-Python server's work per connection (~tens of us), which is what
limits the highest concurrency.
Verified: every reply's checksum against the checksum of the bytes sent
(computed from the generator). answer: the sum of the replies' checksums mod
2^52, equal to the C++ counter.
Sizes: exchanges per concurrency slot (n = size x p), concurrency 1, 16 and
256 (C++: 1, 4, ..., 1024; every other level of C++'s keeps the sweep short), the C++
values: default 2, quick 2, small 2 (~3 ms at p = 1). Not
the 100 ms rule: that needs 64 exchanges per slot, and the pure-Python server
and clients spend ~0.3-0.5 ms of CPU per exchange on this 2-CPU machine, so a
run at p = 1024 (65,536 connections) would take 20-35 s instead of ~1 s.
"""
import asyncio
import collections
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

MAX_PAYLOAD = 1024
LINGER_ABORT = struct.pack("ii", 1, 0)  # close sends RST: no TIME_WAIT for n connections


# --- the server (standard library only: this file is the server process's script) ----------

def serve_echo(listener, delay_ns, parent):
    """The C++ serve_echo: accept everything, collect each connection's bytes,
    reply delay_ns after its first bytes arrived (at once if 0); returns an
    exit status when the parent is gone."""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    connections = {}                # fd -> [socket, bytearray data, queued]
    queue = collections.deque()     # (due_ns, fd), FIFO
    gone = set()                    # fds whose client left while a reply was queued

    def drop(fd):
        connection = connections.pop(fd, None)
        if connection is not None:
            if fd not in gone:
                selector.unregister(connection[0])
            gone.discard(fd)
            connection[0].close()

    def reply(fd):
        connection = connections.get(fd)
        if connection is None:
            return
        connection[2] = False
        if fd in gone:
            drop(fd)
            return
        data = connection[1]
        try:
            sent = connection[0].send(data)
        except OSError:  # the client went away (Python ignores SIGPIPE: EPIPE is an error)
            sent = -1
        if sent != len(data):
            drop(fd)
        else:
            connection[1] = bytearray()

    while True:
        timeout = 1.0  # wake at least once a second to see whether the parent is still there
        if queue:
            timeout = min(timeout, max(0, queue[0][0] - time.monotonic_ns()) / 1e9)
        for key, _ in selector.select(timeout):
            if key.fileobj is listener:
                while True:
                    try:
                        client, _ = listener.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:  # e.g. out of descriptors: the client sees a reset
                        break
                    client.setblocking(False)
                    connections[client.fileno()] = [client, bytearray(), False]
                    selector.register(client, selectors.EVENT_READ)
                continue
            fd = key.fd
            connection = connections[fd]
            try:
                got = connection[0].recv(MAX_PAYLOAD - len(connection[1]))
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:  # reset by the client
                got = b""
            if not got:
                if not connection[2]:
                    drop(fd)
                else:  # the queued reply will find it gone
                    selector.unregister(connection[0])
                    gone.add(fd)
                continue
            connection[1] += got
            if delay_ns == 0:
                reply(fd)
            elif not connection[2]:
                connection[2] = True
                queue.append((time.monotonic_ns() + delay_ns, fd))
        now = time.monotonic_ns()
        while queue and queue[0][0] <= now:
            reply(queue.popleft()[1])
        if os.getppid() != parent:
            return 0


def _ask_for_kill_with_parent():
    """prctl(PR_SET_PDEATHSIG, SIGKILL), as C++ become_child_of does (Linux;
    silently nothing elsewhere)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError, ImportError):
        pass


def _server_main(argv):
    # argv: --serve <listener fd> <delay ns> <parent pid> <pdeathsig 0|1>
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fd, delay_ns, parent, pdeathsig = (int(value) for value in argv[1:5])
    if pdeathsig:
        _ask_for_kill_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        return 1
    listener = socket.socket(fileno=fd)
    listener.setblocking(False)
    return serve_echo(listener, delay_ns, parent)


if __name__ == "__main__":
    sys.exit(_server_main(sys.argv[1:]))

# --- the workload (imported as part of pytrack) ------------------------------------------------

from ..registry import Instance, Workload, register_workload  # noqa: E402 - the server runs without them
from ._io_support import answer_of, checksum, fill_pattern, knob, pattern_checksum  # noqa: E402


def seed(index):
    return 0x7C9E0000 + index


class EchoServer:
    """The server process, listening on 127.0.0.1 at an ephemeral port."""

    def __init__(self, delay_ns):
        self.process = None
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setblocking(False)
            listener.bind(("127.0.0.1", 0))
            listener.listen(4096)
            self.address = listener.getsockname()
            # Bound and listening before the server starts: clients can connect at once.
            pdeathsig = threading.current_thread() is threading.main_thread()  # dies with its thread
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", os.path.abspath(__file__), "--serve", str(listener.fileno()),
                 str(delay_ns), str(os.getpid()), "1" if pdeathsig else "0"],
                pass_fds=(listener.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        except BaseException:  # e.g. the runner's SIGTERM as it started: no server left behind
            self.close()
            raise
        finally:
            listener.close()

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def close(self):
        """SIGKILL and reap (nothing if already done)."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.wait()


def ensure_descriptor_limit(needed):
    """io_support::ensure_descriptor_limit: raise the soft RLIMIT_NOFILE to at
    least `needed` (up to the hard limit)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(f"need {needed} open descriptors, but the hard limit (ulimit -Hn) is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _closed_early():
    return RuntimeError("tcp_echo: the server closed the connection early")


# An exchange takes about a millisecond; a server that stalls fails the run after this
# long instead of holding the family until its timeout.
EXCHANGE_TIMEOUT_S = 30.0


def exchange(address, message):
    """One exchange on a blocking socket; the checksum of the reply."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ABORT)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.settimeout(EXCHANGE_TIMEOUT_S)  # socket.timeout (an OSError) ends the run
        connection.connect(address)
        connection.sendall(message)
        reply = bytearray()
        while len(reply) < len(message):
            got = connection.recv(len(message) - len(reply))
            if not got:
                raise _closed_early()
            reply += got
    return checksum(reply)


def echo_requests(lo, hi, host, port, payload):
    return [exchange((host, port), fill_pattern(seed(index), payload)) for index in range(lo, hi)]


async def exchange_async(address, message):
    return await asyncio.wait_for(_exchange_async(address, message), EXCHANGE_TIMEOUT_S)


async def _exchange_async(address, message):
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    writer = None
    try:
        connection.setblocking(False)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ABORT)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.get_running_loop().sock_connect(connection, address)
        reader, writer = await asyncio.open_connection(sock=connection)
        writer.write(message)
        await writer.drain()
        try:
            reply = await reader.readexactly(len(message))
        except asyncio.IncompleteReadError:
            raise _closed_early() from None
    finally:
        if writer is not None:
            writer.close()
            await writer.wait_closed()
        else:
            connection.close()
    return checksum(reply)


async def echo_requests_async(lo, hi, host, port, payload):
    return [await exchange_async((host, port), fill_pattern(seed(index), payload)) for index in range(lo, hi)]


class TcpEcho(Instance):
    def __init__(self, n, executor):
        self.n = n
        self.payload = knob("PARBENCH_TCP_PAYLOAD", 64, 1, MAX_PAYLOAD)
        self.delay_us = knob("PARBENCH_TCP_DELAY_US", 1000, 0, 10_000_000)
        self.checksums = None
        self.expected = None
        self.server = None
        ensure_descriptor_limit(2 * executor.workers + 256)  # before the server starts: it inherits the limit
        try:
            self.server = EchoServer(self.delay_us * 1000)
        except BaseException:
            self.close()
            raise

    def run(self, executor):
        self.checksums = None
        host, port = self.server.address
        chunks = executor.map_chunks(echo_requests, self.n, 1, (host, port, self.payload),
                                     afn=echo_requests_async)
        self.checksums = [value for chunk in chunks for value in chunk]

    def verify(self):
        if self.checksums is None or len(self.checksums) != self.n:
            return f"the run returned {0 if self.checksums is None else len(self.checksums)} of {self.n} exchanges"
        if self.expected is None:
            self.expected = [pattern_checksum(seed(index), self.payload) for index in range(self.n)]
        for index, (got, expected) in enumerate(zip(self.checksums, self.expected)):
            if got != expected:
                return f"exchange {index} did not get its message back intact"
        return None

    def corrupt(self):
        self.checksums[self.n - 1] ^= 1

    def work(self):
        return {"items": self.n, "bytes": 2 * self.n * self.payload}

    def counters(self):
        return {"service_delay_us": float(self.delay_us), "payload_bytes": float(self.payload),
                "answer": answer_of(self.checksums or ())}

    def close(self):
        server, self.server = self.server, None
        if server is not None:
            server.close()


register_workload(Workload(
    name="tcp_echo", category="io",
    summary="loopback TCP exchanges with an echo server process (1 ms service delay)",
    size_meaning="exchanges per concurrency slot (n = size x p)",
    default_sizes=[2], quick_sizes=[2], small_size=2, min_size=1, max_size=100_000,
    work_exponent=0, concurrency_levels=[1, 16, 256], cross_language=False, prepare=TcpEcho))
