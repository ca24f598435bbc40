"""file_write: n requests, each generating its PARBENCH_WRITE_KIB (default 16)
KiB (the C++ generator's bytes, file i: seed 0xF11E8000 + i), creating file
out_i in a private parbench-io-XXXXXX directory (under PARBENCH_IO_DIR, else
$TMPDIR, else /tmp, as C++ makes it), writing it and fsyncing it.
Pattern: independent requests, one per chunk (grain 1), p in flight; fsync
makes each wait for the device. Blocking models os.open + os.write + os.fsync
+ os.close in their workers (each call releases the GIL). asyncio has no
asynchronous file API: py_asyncio does what asyncio programs do, generates the
bytes on the loop and awaits asyncio.to_thread(open, write, fsync, close) per
request (the loop's default thread pool: min(32, cpus + 4) threads, so at most
that many writes are in flight whatever p is).
Cost: generating the bytes in pure Python (~0.6 ms per 16 KiB here, holding
the GIL) + open + write + fsync (~0.5 ms here) + close per file.
Verified by reading every file back (size and checksum against the
generator); the directory and its files are removed by close(), also after an
exception or a signal. Errors (ENOSPC, a missing PARBENCH_IO_DIR) end the run
with the call and the reason. answer: the sum of the files' checksums as read
back, mod 2^52, equal to the C++ counter.
Concurrency 1, 4 and 16 (C++: 1, 2, 4, 16, 64: in Python generating and
checksumming the data, not the write, is the cost).
Sizes: files per concurrency slot (n = size x p), the C++ values: default 4
(~7 ms at p = 1), quick 2, small 2. Not the 100 ms rule: that needs ~100 files
per slot, at p = 64 6400 fsyncs and 100 MiB written per run, read back in pure
Python by every verification, and set beside a C++ point of 4 per slot.
"""
import asyncio
import os

from ..registry import Instance, Workload, register_workload
from ._io_support import answer_of, file_checksum, file_name, fill_pattern, knob, make_io_dir, \
    pattern_checksum, remove_io_dir, write_file


def seed(index):
    return 0xF11E8000 + index


def write_synced(path, data):
    """open (create, truncate), write all, fsync, close: the request's I/O."""
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_requests(lo, hi, directory, size):
    for index in range(lo, hi):
        write_synced(file_name(directory, "out_", index), fill_pattern(seed(index), size))
    return [1] * (hi - lo)


async def write_requests_async(lo, hi, directory, size):
    for index in range(lo, hi):
        data = fill_pattern(seed(index), size)
        await asyncio.to_thread(write_synced, file_name(directory, "out_", index), data)
    return [1] * (hi - lo)


class FileWrite(Instance):
    def __init__(self, n, executor):
        self.n = n
        self.size = 1024 * knob("PARBENCH_WRITE_KIB", 16, 1, 1024 * 1024)
        self.done = None
        self.expected = None
        self.directory = make_io_dir()

    def path(self, index):
        return file_name(self.directory, "out_", index)

    def run(self, executor):
        self.done = None
        chunks = executor.map_chunks(write_requests, self.n, 1, (self.directory, self.size),
                                     afn=write_requests_async)
        self.done = [value for chunk in chunks for value in chunk]

    def verify(self):
        if self.done is None or len(self.done) != self.n:
            return f"the run returned {0 if self.done is None else len(self.done)} of {self.n} requests"
        if self.expected is None:
            self.expected = [pattern_checksum(seed(index), self.size) for index in range(self.n)]
        for index, done in enumerate(self.done):
            if done != 1:
                return f"request {index} did not finish"
            try:
                got, size = file_checksum(self.path(index))
            except OSError as error:
                return f"file {index}: {error}"
            if size != self.size or got != self.expected[index]:
                return f"file {index} does not hold what was written ({size} bytes)"
        return None

    def corrupt(self):
        write_file(self.path(self.n - 1), bytes([1, 2, 3]))

    def work(self):
        return {"items": self.n, "bytes": self.n * self.size}

    def counters(self):
        sums = [file_checksum(self.path(index))[0] for index, done in enumerate(self.done or ()) if done == 1]
        return {"file_kib": float(self.size // 1024), "answer": answer_of(sums)}

    def close(self):
        directory, self.directory = self.directory, None
        remove_io_dir(directory)


register_workload(Workload(
    name="file_write", category="io",
    summary="create, write and fsync 16 KiB files (PARBENCH_WRITE_KIB), read back to verify",
    size_meaning="files per concurrency slot (n = size x p)",
    default_sizes=[4], quick_sizes=[2], small_size=2, min_size=1, max_size=100_000,
    work_exponent=0, concurrency_levels=[1, 4, 16], prepare=FileWrite))
