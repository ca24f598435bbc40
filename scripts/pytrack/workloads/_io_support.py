"""What the Python track's I/O workloads share (the C++ coro/io_support):
their knobs (environment variables read and validated as C++ reads them), the
parbench-io-XXXXXX temporary directory, the counter-based generator of file
and message contents (core/random.hpp's SplitMix64, bit for bit), the 64-bit
checksum over 64-bit words, and the `answer` reduction. Registers no
workload (the underscore keeps it apart from the workload modules).
"""
from __future__ import annotations

import os
import random
import shutil
import string
import sys
import time
from array import array

from ..rng import MASK64 as MASK, mix64, random_u64  # noqa: F401 - the workloads use them too

ANSWER_MODULUS = 1 << 52  # a sum of 64-bit values reduced so that a double holds it exactly
PATH_CAPACITY = 256       # C++ kPathCapacity: the path must fit with room for a file name


# --- knobs -----------------------------------------------------------------------------------

def knob(name: str, default: int, low: int, high: int) -> int:
    """io_support::knob: name from the environment (unset or empty: default),
    which must be a decimal integer in [low, high]."""
    text = os.environ.get(name, "")
    if not text:
        return default
    digits = text.lstrip(" \t\n\v\f\r")  # what strtoull(text, &end, 10) accepts
    digits = digits[1:] if digits.startswith("+") else digits
    if not (digits.isascii() and digits.isdigit() and low <= int(digits) <= high):
        raise ValueError(f"{name}={text}: not an integer in [{low}, {high}]")
    return int(digits)


# --- the generator (core/random.hpp) --------------------------------------------------------

def pattern_words(seed: int, count: int) -> array:
    """random_u64(seed, 0 .. count-1) as an array of uint64 (mix64 inlined: this
    is the inner loop of file_write's requests)."""
    base = mix64(seed)
    words = array("Q", bytes(8 * count))
    step = 0xD1B54A32D192ED03
    for i in range(count):
        x = ((base ^ ((i * step) & MASK)) + 0x9E3779B97F4A7C15) & MASK
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
        words[i] = x ^ (x >> 31)
    return words


def fill_pattern(seed: int, size: int) -> bytes:
    """io_support::fill_pattern: `size` bytes, word k = random_u64(seed, k) in
    the machine's byte order (as C++ memcpy's it), the last word cut short."""
    return pattern_words(seed, (size + 7) // 8).tobytes()[:size]


# --- the checksum (io_support WordHash) -------------------------------------------------------

_LANES = (0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89)
_K = 0x9E3779B97F4A7C15


def _hash_words(words, size: int) -> int:
    """Four multiply-xor lanes, word k into lane k % 4 (the C++ WordHash)."""
    a, b, c, d = _LANES
    count = len(words)
    whole = count - count % 4
    it = iter(words[:whole] if whole != count else words)
    for w0, w1, w2, w3 in zip(it, it, it, it):
        a = ((a ^ w0) * _K) & MASK
        a ^= a >> 29
        b = ((b ^ w1) * _K) & MASK
        b ^= b >> 29
        c = ((c ^ w2) * _K) & MASK
        c ^= c >> 29
        d = ((d ^ w3) * _K) & MASK
        d ^= d >> 29
    lanes = [a, b, c, d]
    for k in range(whole, count):
        lane = ((lanes[k & 3] ^ words[k]) * _K) & MASK
        lanes[k & 3] = lane ^ (lane >> 29)
    a, b, c, d = lanes
    return mix64(mix64(a ^ mix64(b)) ^ mix64(c ^ mix64(d)) ^ size)


def checksum(data) -> int:
    """io_support::checksum of a bytes-like object: its 64-bit words in the
    machine's byte order, as C++ memcpy's them (the last one zero-padded),
    then the length."""
    view = memoryview(data).cast("B")
    size = len(view)
    whole = size - size % 8
    words = view[:whole].cast("Q") if whole else []
    if whole != size:
        words = list(words)
        words.append(int.from_bytes(view[whole:], sys.byteorder))  # C++ memcpy into a zeroed word
    return _hash_words(words, size)


def pattern_checksum(seed: int, size: int) -> int:
    """io_support::pattern_checksum: checksum(fill_pattern(seed, size)),
    computed from the generator (verification never trusts the bytes)."""
    count = (size + 7) // 8
    words = [random_u64(seed, k) for k in range(count)]
    if size % 8:
        words[-1] &= (1 << (8 * (size % 8))) - 1
    return _hash_words(words, size)


def answer_of(values) -> float:
    """The cross-language `answer` of per-request 64-bit results: their sum mod
    2^52, exact as a double (C++ sums in uint64_t, which wraps mod 2^64 and so
    agrees mod 2^52)."""
    return float(sum(values) % ANSWER_MODULUS)


# --- the I/O directory -------------------------------------------------------------------------

_NAME_CHARACTERS = string.ascii_letters + string.digits


def io_base() -> str:
    """Where C++ makes its directories: PARBENCH_IO_DIR, else $TMPDIR, else /tmp."""
    return os.environ.get("PARBENCH_IO_DIR") or os.environ.get("TMPDIR") or "/tmp"


def make_io_dir() -> str:
    """A fresh base/parbench-io-XXXXXX (mode 0700, six letters and digits, as
    mkdtemp(3) makes it for C++). Raises RuntimeError naming the directory."""
    base = io_base()
    if len(base) + len("/parbench-io-XXXXXX") + 32 > PATH_CAPACITY:
        raise RuntimeError(f"I/O directory {base}: path too long")
    chooser = random.SystemRandom()
    for _ in range(1000):
        path = os.path.join(base, "parbench-io-" + "".join(chooser.choice(_NAME_CHARACTERS) for _ in range(6)))
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue
        except OSError as error:
            raise RuntimeError(f"I/O directory {base}: {error.strerror} "
                               "(set PARBENCH_IO_DIR to a writable directory)") from None
    raise RuntimeError(f"I/O directory {base}: no free parbench-io-XXXXXX name")


def remove_io_dir(path: str | None) -> None:
    """Removes the directory and everything in it (missing is fine). Retries
    for up to a second: after an exception or a signal, workers of a pool or
    threads may still finish a request and create a file while the tree is
    being removed; once the directory is gone they can create nothing."""
    if not path:
        return
    for attempt in range(100):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            return
        time.sleep(0.01)
    shutil.rmtree(path)  # raises with the reason


def file_name(directory: str, prefix: str, index: int) -> str:
    return f"{directory}/{prefix}{index}"


def write_file(path: str, data) -> None:
    """io_support::write_file (set-up and corrupt only)."""
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def file_checksum(path: str) -> tuple[int, int]:
    """(checksum, size) of a whole file (verification only)."""
    with open(path, "rb") as handle:
        data = handle.read()
    return checksum(data), len(data)
