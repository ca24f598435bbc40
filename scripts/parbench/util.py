"""Small shared helpers: atomic file writes, a results folder's lock, where the repository is."""
from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import stat
import subprocess
import tempfile
from pathlib import Path

from . import UserError

REPO_ROOT = Path(__file__).resolve().parents[2]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Modes of what the suite writes, whatever the umask (a stricter umask makes them stricter):
# results are for reading by others, a sweep's state only by its owner.
FILE_MODE = 0o644
PRIVATE_MODE = 0o600
FOLDER_MODE = 0o755


def file_mode(private: bool = False) -> int:
    return (PRIVATE_MODE if private else FILE_MODE) & ~_umask()


def make_folder(path: Path) -> Path:
    """mkdir -p with FOLDER_MODE (less the umask) for every folder it makes, parents too
    (Path.mkdir gives missing parents the umask's mode: 0777 under umask 000)."""
    path = Path(path)
    missing = []
    while not path.exists() and not path.is_symlink() and path != path.parent:
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, FOLDER_MODE & ~_umask())
        except FileExistsError:
            pass
    return Path(missing[0]) if missing else path


def atomic_write_bytes(path: Path, data: bytes, private: bool = False) -> None:
    """Writes data to path so that readers see the old file or the whole new one, never a part
    (temporary file in the same directory, fsync, rename). The rename replaces whatever had
    the name, a hard link included: the link's other names keep their content."""
    path = Path(path)
    make_folder(path.parent)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fchmod(file.fileno(), file_mode(private))  # mkstemp makes 0600; results are for reading
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        if isinstance(error, OSError) and error.errno is not None:
            raise OSError(error.errno, error.strerror, str(path)) from None  # name the file, not the fd
        raise


def atomic_write_text(path: Path, text: str, private: bool = False) -> None:
    # a lone surrogate from a folder's data (a JSON "\\ud800") is written as its escape
    atomic_write_bytes(path, text.encode(errors="backslashreplace"), private)


LOCK_NOTE = ".lock"


class FolderLock:
    """An exclusive lock on a results folder, held while a sweep, a resume, a check or a stage
    writes it: a second writer gets one line naming the holder. The lock is flock(2) on the
    folder itself (no file is opened for writing, so nothing planted at a name, a hard link to
    another file included, is written through); DIR/.lock is a note of the holder's PID,
    written by rename. The kernel drops the lock when its holder dies, however it dies
    (SIGKILL included), so a stale lock cannot block the next run."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NOTE
        self.fd = -1

    def __enter__(self) -> "FolderLock":
        make_folder(self.directory)
        try:
            self.fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as error:
            raise UserError(f"{self.directory}: cannot lock the folder ({error.strerror})") from None
        try:
            refuse_others_folders(self.directory, os.fstat(self.fd))
        except UserError:
            self.__exit__()
            raise
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = -1
            try:
                holder = read_regular_text(self.path).strip()[:20] or "?"
            except UserError:
                holder = "?"
            raise UserError(f"{self.directory}: in use by PID {holder} (another sweep or check is writing "
                            "it; wait for it, or stop it)") from None
        try:
            atomic_write_text(self.path, f"{os.getpid()}\n", private=True)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing releases the lock
            self.fd = -1


def _others_can_write(info: os.stat_result) -> str:
    """Why another user could change what is in a folder ("" if none can)."""
    if info.st_uid != os.geteuid():
        return f"owned by another user (uid {info.st_uid})"
    if info.st_mode & (stat.S_IWOTH | stat.S_IWGRP) and not info.st_mode & stat.S_ISVTX:
        return f"writable by {'every user' if info.st_mode & stat.S_IWOTH else 'its group'} (chmod go-w to use it)"
    return ""


def refuse_others_folders(directory: Path, info: os.stat_result) -> None:
    """A results folder parbench writes, and each of its subfolders, must be the user's own and
    not writable by everyone: another user could otherwise swap a file for a link between a
    check and a write (a --out folder made by someone else, a raw/ they made in advance)."""
    folders = [(Path(directory), info)]
    for name in RESULT_SUBFOLDERS:
        try:
            folders.append((Path(directory) / name, os.lstat(Path(directory) / name)))
        except FileNotFoundError:
            continue
    for folder, found in folders:
        if stat.S_ISLNK(found.st_mode):
            refuse_linked_subfolders(directory)  # one line saying it is a link
        why = _others_can_write(found)
        if why:
            raise UserError(f"{folder}: {why}; parbench writes results only into a folder of your own "
                            "that no one else can change")


def _refuse_link(path: Path, error: OSError) -> None:
    if error.errno == errno.ELOOP:
        raise UserError(f"{path}: a symbolic link inside a results folder (parbench neither reads nor "
                        "writes through links there; replace it with the file)") from None


# The largest file parbench reads (a results folder's JSON files are a few MB at most): a huge
# or sparse file planted in a folder is refused by its size, before any of it is read.
MAX_READ_BYTES = 64 << 20


def read_regular_bytes(path: Path, follow: bool = False, limit: int = MAX_READ_BYTES) -> bytes:
    """A file's bytes, refusing a symbolic link (a results folder may come from someone else:
    a link there could make the report embed any file this user can read) unless `follow`
    (a file the user names, such as a config), anything but a regular file, and a file larger
    than `limit` bytes."""
    try:
        # O_NONBLOCK: a FIFO planted in the folder must not hang the open (it is refused below).
        fd = os.open(path, os.O_RDONLY | (0 if follow else os.O_NOFOLLOW) | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as error:
        _refuse_link(path, error)
        raise UserError(f"{path}: cannot read ({error.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"{path}: not a regular file (a folder, FIFO or device in a file's place)")
        if info.st_size > limit:
            raise UserError(f"{path}: {info.st_size / (1 << 20):.0f} MiB, larger than any file parbench reads "
                            f"there ({limit >> 20} MiB at most)")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as file:
            fd = -1
            data = file.read(limit + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:  # grew while being read
        raise UserError(f"{path}: larger than any file parbench reads there ({limit >> 20} MiB at most)")
    return data


def read_regular_text(path: Path, follow: bool = False, limit: int = MAX_READ_BYTES) -> str:
    data = read_regular_bytes(path, follow, limit)
    try:
        return data.decode()
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text (byte {error.start})") from None


def open_new_for_writing(path: Path):
    """A new file opened for writing: whatever had the name is removed first and the file is
    made with O_CREAT|O_EXCL, so neither a symbolic link nor a hard link planted there (in a
    results folder that may come from someone else, or a `cp -al` copy) is written through."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        raise UserError(f"{path}: a folder in a file's place") from None
    except OSError as error:
        raise UserError(f"{path}: cannot replace ({error.strerror})") from None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, file_mode())
    except OSError as error:
        _refuse_link(path, error)
        raise UserError(f"{path}: cannot write ({error.strerror})") from None
    return os.fdopen(fd, "w")


RESULT_SUBFOLDERS = ("raw", "logs", "plots", "rejected", "rechecks")


def remove_partials(directory: Path) -> None:
    """What a writer killed outright (SIGKILL, power) left half-done in a results folder: a
    family's partial output (.<name>.partial) and atomic writes' temporary files
    (.<name>.<random>.tmp). Only the folder's lock holder calls this: no live writer's."""
    directory = Path(directory)
    for folder in (directory, *(directory / sub for sub in RESULT_SUBFOLDERS)):
        if folder.is_dir() and not folder.is_symlink():
            for path in (*folder.glob(".*.partial"), *folder.glob(".*.tmp")):
                if path.is_file() or path.is_symlink():
                    path.unlink(missing_ok=True)


def refuse_linked_subfolders(directory: Path) -> None:
    """A results folder's own subfolders (raw/, logs/, plots/, ...) must be folders, not links:
    a file opened without following links inside a linked folder would still land elsewhere."""
    for name in RESULT_SUBFOLDERS:
        if (Path(directory) / name).is_symlink():
            raise UserError(f"{Path(directory) / name}: a symbolic link inside a results folder (parbench "
                            "neither reads nor writes through links there; make it a folder)")


# JSON from a file someone else may have made: deeply nested arrays (RecursionError) and
# numbers of thousands of digits (ValueError: Python's int limit) are bad input too.
def parse_json(text: str, where) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{where}: malformed JSON ({error.msg} at line {error.lineno})") from None
    except RecursionError:
        raise UserError(f"{where}: JSON nested too deeply to be parbench's") from None
    except ValueError as error:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise UserError(f"{where}: unreadable JSON ({str(error).split(';')[0]})") from None


def load_json(path: Path) -> object:
    """A JSON file of a results folder: read without following links, parsed as parse_json."""
    return parse_json(read_regular_text(path), path)


# C0 and C1 control characters but tab and newline, Unicode's bidirectional controls (which
# reorder what a line shows), and surrogates (bytes of a name that was not UTF-8): in a name or a
# message from a results folder they would move the cursor, recolour or retitle the terminal
# (ESC sequences), or make one text look like another.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                      "\ud800-\udfff]")


def _shown(match: re.Match) -> str:
    code = ord(match.group())
    if 0xdc80 <= code <= 0xdcff:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xdc00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """text with every control character but tab and newline shown as \\xNN (\\uNNNN)."""
    return _CONTROL.sub(_shown, str(text))


def one_line(text) -> str:
    """A value from a results folder, for a line of output: inert, and a newline or tab in it
    shown as \\x0a, \\x09 (a name cannot add a line that looks like parbench's own)."""
    return inert(str(text)).replace("\n", "\\x0a").replace("\t", "\\x09")


class InertStream:
    """A text stream that writes every control character but tab and newline as \\xNN: what
    parbench prints may hold names and messages from a folder someone else made. `raw` is the
    stream itself, for the progress bar's own carriage returns."""

    def __init__(self, raw):
        self.raw = raw

    def write(self, text: str) -> int:
        text = inert(text)
        encoding = getattr(self.raw, "encoding", None) or "utf-8"
        # a narrow encoding (PYTHONIOENCODING=ascii) shows what it cannot encode as \\uNNNN
        return self.raw.write(text.encode(encoding, errors="backslashreplace").decode(encoding))

    def __getattr__(self, name):
        return getattr(self.raw, name)


class OutputTooLarge(Exception):
    pass


def run_bounded(command: list[str], env: dict | None = None, timeout: float = 300, limit: int = 16 << 20,
                cwd=None) -> subprocess.CompletedProcess:
    """Runs a program parbench asks a question (its `list`, `info`, an interpreter's version),
    capturing at most `limit` bytes of its output within `timeout` seconds: one that floods
    (an interpreter that runs `yes`) or hangs is killed, with its process group, and raises
    OutputTooLarge or subprocess.TimeoutExpired, instead of filling the memory or waiting. A
    stop signal (an exception here) kills it too."""
    import selectors
    import time
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, cwd=cwd, start_new_session=True)
    chunks: dict = {process.stdout: [], process.stderr: []}
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as selector:
            for stream in chunks:
                selector.register(stream, selectors.EVENT_READ)
            total = 0
            while selector.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise subprocess.TimeoutExpired(command, timeout)
                for key, _ in selector.select(min(remaining, 1.0)):
                    data = os.read(key.fd, 1 << 16)
                    if not data:
                        selector.unregister(key.fileobj)
                        continue
                    chunks[key.fileobj].append(data)
                    total += len(data)
                    if total > limit:
                        raise OutputTooLarge(f"printed more than {limit >> 20} MiB")
        process.wait(timeout=max(0.1, deadline - time.monotonic()))
    except BaseException:
        _kill_group(process.pid)
        process.wait()
        raise
    finally:
        for stream in chunks:
            stream.close()
    return subprocess.CompletedProcess(command, process.returncode,
                                       b"".join(chunks[process.stdout]).decode(errors="replace"),
                                       b"".join(chunks[process.stderr]).decode(errors="replace"))


def _kill_group(pid: int) -> None:
    import signal
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
