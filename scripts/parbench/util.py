"""Small shared helpers: atomic file writes, a results folder's lock, where the repository is."""
from __future__ import annotations

import errno
import fcntl
import os
import stat
import tempfile
from pathlib import Path

from . import UserError

REPO_ROOT = Path(__file__).resolve().parents[2]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Writes data to path so that readers see the old file or the whole new
    one, never a part (temporary file in the same directory, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; results are for reading
        os.replace(temporary, path)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        if isinstance(error, OSError) and error.errno is not None:
            raise OSError(error.errno, error.strerror, str(path)) from None  # name the file, not the fd
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


class FolderLock:
    """An exclusive lock on a results folder (flock on DIR/.lock), held while a sweep, a
    resume or a re-measurement writes it: a second writer gets one line naming the holder.
    The kernel drops the lock when its holder dies, however it dies (SIGKILL included), so
    a stale lock cannot block the next run."""

    def __init__(self, directory: Path):
        self.path = Path(directory) / ".lock"
        self.fd = -1

    def __enter__(self) -> "FolderLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise UserError(f"{self.path}: cannot open the folder's lock ({error.strerror})") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            self.fd = -1
            raise UserError(f"{self.path.parent}: in use by PID {holder} (another sweep or check is writing "
                            "it; wait for it, or stop it)") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)
        return self

    def __exit__(self, *exc) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing releases the lock
            self.fd = -1


def _refuse_link(path: Path, error: OSError) -> None:
    if error.errno == errno.ELOOP:
        raise UserError(f"{path}: a symbolic link inside a results folder (parbench neither reads nor "
                        "writes through links there; replace it with the file)") from None


def read_regular_bytes(path: Path) -> bytes:
    """A file's bytes, refusing a symbolic link (a results folder may come from someone else:
    a link there could make the report embed any file this user can read)."""
    try:
        # O_NONBLOCK: a FIFO planted in the folder must not hang the open (it is refused below).
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as error:
        _refuse_link(path, error)
        raise UserError(f"{path}: cannot read ({error.strerror})") from None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UserError(f"{path}: not a regular file (a folder, FIFO or device in a file's place)")
        os.set_blocking(fd, True)
        return file.read()


def read_regular_text(path: Path) -> str:
    data = read_regular_bytes(path)
    try:
        return data.decode()
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text (byte {error.start})") from None


def open_new_for_writing(path: Path):
    """A file opened for writing, truncated, refusing a symbolic link in its place (a write
    through a link planted in a results folder would overwrite the link's target)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as error:
        _refuse_link(path, error)
        raise UserError(f"{path}: cannot write ({error.strerror})") from None
    return os.fdopen(fd, "w")


RESULT_SUBFOLDERS = ("raw", "logs", "plots", "rejected", "rechecks")


def refuse_linked_subfolders(directory: Path) -> None:
    """A results folder's own subfolders (raw/, logs/, plots/, ...) must be folders, not links:
    a file opened without following links inside a linked folder would still land elsewhere."""
    for name in RESULT_SUBFOLDERS:
        if (Path(directory) / name).is_symlink():
            raise UserError(f"{Path(directory) / name}: a symbolic link inside a results folder (parbench "
                            "neither reads nor writes through links there; make it a folder)")
