"""file_read: n requests, each opening file i of a set generated at set-up in a
private parbench-io-XXXXXX directory (under PARBENCH_IO_DIR, else $TMPDIR,
else /tmp, as C++ makes it), reading it whole and checksumming it. Files are
PARBENCH_FILE_KIB (default 64) KiB holding the C++ generator's bytes (file i:
seed 0xF11E0000 + i); the page cache is warm (the set-up just wrote them)
unless PARBENCH_FILE_DIRECT=1, which reads with O_DIRECT into a page-aligned
(mmap) buffer.
Pattern: independent requests, one per chunk (grain 1), p in flight. Blocking
models os.open + os.preadv + os.close in their workers. asyncio has no
asynchronous file API: py_asyncio does what asyncio programs do, awaits
asyncio.to_thread(open, read, close) per request (the loop's default thread
pool: min(32, cpus + 4) threads, so at most that many reads are in flight
whatever p is) and checksums on the loop.
Cost: open + read + close per file, then the checksum, which in pure Python
(~1 ms per 64 KiB here, 100 times the read from a warm cache) dominates and
holds the GIL: file_read is CPU-bound on CPython; only process models overlap
the checksums.
Verified: each checksum against the checksum of the generator's bytes
(computed without reading the file). answer: the sum of the checksums mod
2^52, equal to the C++ counter.
Concurrency 1, 4 and 16 (C++: 1, 2, 4, 16, 64: in Python the checksum, not the
read, is the cost, so more in flight only adds set-up time to the sweep).
Sizes: files per concurrency slot (n = size x p), the C++ values: default 8
(~8 ms at p = 1), quick 4, small 2. Not the 100 ms rule: that needs 128 files
per slot, which at p = 64 is 8192 files (512 MiB) made in pure Python at each
point's set-up (~20 s) and compared with a C++ point of 8 per slot.
"""
import asyncio
import mmap
import os

from ..registry import Instance, Workload, register_workload
from ._io_support import answer_of, checksum, file_name, fill_pattern, knob, make_io_dir, pattern_checksum, \
    remove_io_dir, write_file

BLOCK = 4096  # O_DIRECT alignment that suits every device here (as in C++)


def seed(index):
    return 0xF11E0000 + index


def read_file(path, size, direct):
    """The whole file (exactly size bytes) as bytes: open, preadv until done,
    close. RuntimeError on a short file, OSError from the calls."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | (os.O_DIRECT if direct else 0))
    try:
        if direct:
            buffer = mmap.mmap(-1, (size + BLOCK - 1) // BLOCK * BLOCK)  # page-aligned
        else:
            buffer = bytearray(size)
        try:
            with memoryview(buffer) as view:
                done = 0
                while done < size:
                    got = os.preadv(fd, [view[done:size]], done)
                    if got == 0:
                        raise RuntimeError(f"{path}: read: file shorter than expected")
                    done += got
            return buffer if not direct else buffer[:size]
        finally:
            if direct:
                buffer.close()
    finally:
        os.close(fd)


def read_requests(lo, hi, directory, size, direct):
    return [checksum(read_file(file_name(directory, "in_", index), size, direct)) for index in range(lo, hi)]


async def read_requests_async(lo, hi, directory, size, direct):
    checksums = []
    for index in range(lo, hi):
        data = await asyncio.to_thread(read_file, file_name(directory, "in_", index), size, direct)
        checksums.append(checksum(data))
    return checksums


class FileRead(Instance):
    def __init__(self, n, executor):
        self.n = n
        self.size = 1024 * knob("PARBENCH_FILE_KIB", 64, 4, 1024 * 1024)
        self.direct = knob("PARBENCH_FILE_DIRECT", 0, 0, 1) == 1
        self.checksums = None
        self.expected = None
        self.directory = make_io_dir()
        try:
            for index in range(n):
                write_file(file_name(self.directory, "in_", index), fill_pattern(seed(index), self.size))
        except BaseException:
            self.close()
            raise

    def run(self, executor):
        self.checksums = None
        chunks = executor.map_chunks(read_requests, self.n, 1, (self.directory, self.size, self.direct),
                                     afn=read_requests_async)
        self.checksums = [value for chunk in chunks for value in chunk]

    def verify(self):
        if self.checksums is None or len(self.checksums) != self.n:
            return f"the run returned {0 if self.checksums is None else len(self.checksums)} of {self.n} files"
        if self.expected is None:
            self.expected = [pattern_checksum(seed(index), self.size) for index in range(self.n)]
        for index, (got, expected) in enumerate(zip(self.checksums, self.expected)):
            if got != expected:
                return f"file {index} was not read intact"
        return None

    def corrupt(self):
        self.checksums[0] ^= 1

    def work(self):
        return {"items": self.n, "bytes": self.n * self.size}

    def counters(self):
        return {"file_kib": float(self.size // 1024), "o_direct": 1.0 if self.direct else 0.0,
                "answer": answer_of(self.checksums or ())}

    def close(self):
        directory, self.directory = self.directory, None
        remove_io_dir(directory)


register_workload(Workload(
    name="file_read", category="io",
    summary="open, read and checksum 64 KiB files (PARBENCH_FILE_KIB; page cache warm)",
    size_meaning="files per concurrency slot (n = size x p)",
    default_sizes=[8], quick_sizes=[4], small_size=2, min_size=1, max_size=100_000,
    work_exponent=0, concurrency_levels=[1, 4, 16], prepare=FileRead))
