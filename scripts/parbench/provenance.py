"""Which results folders this checkout started on this machine: a record kept outside them.

A results folder can come from anyone (a colleague, a CI artifact, a download), and whatever
it holds can be edited. Only a sweep this checkout started here may have families run again
(`sweep --resume`, check's re-measurement), and then with the settings this machine recorded
when the sweep started: the interpreter, the MPI launcher and its arguments are never taken
from the folder's own sweep.json or settings.json. A recorded value there that differs is
shown, not used.

Each sweep gets a random id (in its settings.json and sweep.json) and a record
STATE_DIR/sweeps/<id>.json (0600, in folders 0700): the folder's real path and inode, this
checkout's path, and the config as the sweep started. A copied or downloaded folder carries
an id, but not the record: its real path and inode, or this checkout, differ. STATE_DIR is
PARBENCH_STATE_DIR, else $XDG_STATE_HOME/parbench, else ~/.local/state/parbench.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import stat
from datetime import datetime, timezone
from pathlib import Path

from . import UserError
from .util import atomic_write_bytes, atomic_write_text, load_json, read_regular_bytes

ROOT = Path(__file__).resolve().parents[2]
ID_FIELD = "sweep_id"
_ID = re.compile(r"[0-9a-f]{32}")


def state_dir() -> Path:
    named = os.environ.get("PARBENCH_STATE_DIR")
    if named is not None:
        if not os.path.isabs(named):
            raise UserError(f"PARBENCH_STATE_DIR={named!r}: not an absolute path (this machine's record of "
                            "its sweeps must not depend on the current folder)")
        return Path(named)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "parbench"


def _not_private(path: Path, secret: bool = False) -> str:
    """Why `path` cannot be trusted as this user's own ("" when it can): a link, another user's,
    writable by others (readable by others too, for a `secret`)."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link"
    if info.st_uid != os.geteuid():
        return f"owned by another user (uid {info.st_uid})"
    if info.st_mode & (0o077 if secret else 0o022):
        return f"{'readable or writable' if secret else 'writable'} by others (mode {info.st_mode & 0o777:o})"
    return ""


def _records() -> Path:
    """STATE_DIR/sweeps, made (0700) if missing; an existing folder is used only if it is this
    user's own and private, never changed (PARBENCH_STATE_DIR=/tmp must not make /tmp 0700)."""
    base = state_dir()
    folder = base / "sweeps"
    for path in (base, folder):
        try:
            if not path.exists() and not path.is_symlink():
                path.mkdir(mode=0o700, parents=True)
            why = _not_private(path)
        except OSError as error:
            raise UserError(f"{path}: cannot keep the record of this machine's sweeps there ({error.strerror}); "
                            "set PARBENCH_STATE_DIR to a writable folder") from None
        if why:
            raise UserError(f"{path}: {why}; this machine's record of its sweeps must be a folder of your own "
                            "that no one else can change (set PARBENCH_STATE_DIR to one)")
    return folder


def _identity(directory: Path) -> dict:
    info = os.stat(directory)
    return {"directory": str(Path(directory).resolve()), "device": info.st_dev, "inode": info.st_ino}


def register(directory: Path, config: dict, plan: dict | None = None) -> str:
    """A new id for the sweep about to start in `directory` (which exists), and its record: the
    config and the plan (its families and their benchmarks) as it starts. Records of folders
    that are gone are dropped on the way."""
    records = _records()
    for old in records.glob("*.json"):
        try:
            record = load_json(old)
            if isinstance(record, dict) and not Path(str(record.get("directory"))).exists():
                old.unlink()
        except (UserError, OSError):
            continue
    sweep_id = secrets.token_hex(16)
    record = {ID_FIELD: sweep_id, **_identity(directory), "checkout": str(ROOT),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "config": config,
              **({"plan": plan} if plan is not None else {})}
    atomic_write_text(records / f"{sweep_id}.json", json.dumps(record, indent=1) + "\n", private=True)
    return sweep_id


def owned(directory: Path, sweep_id) -> tuple[dict | None, str]:
    """(this machine's record of the sweep in `directory`, "") when this checkout started it
    here; else (None, why not)."""
    if not isinstance(sweep_id, str) or not _ID.fullmatch(sweep_id):
        return None, "it carries no sweep id (made by an older parbench, or not by a sweep)"
    path = state_dir() / "sweeps" / f"{sweep_id}.json"
    if not path.exists():
        return None, f"this machine has no record of starting it (none in {path.parent})"
    try:
        _records()  # its folders this user's own and private
        why = _not_private(path)
        record = load_json(path)
    except UserError as error:
        return None, f"this machine's record of it is unusable ({error})"
    if why:
        return None, f"this machine's record of it ({path}) is {why}"
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        return None, f"this machine's record of it ({path}) is damaged"
    if record.get("checkout") != str(ROOT):
        return None, f"another checkout started it ({record.get('checkout')})"
    here = _identity(directory)
    if record.get("directory") != here["directory"]:
        return None, f"it is a copy, or was moved: this machine started that sweep in {record.get('directory')}"
    if (record.get("device"), record.get("inode")) != (here["device"], here["inode"]):
        return None, "it is another folder in the place of the one this machine started the sweep in"
    return record, ""


def machine_key() -> bytes:
    """This machine's secret (STATE_DIR/key, made once): derived files that a stage trusts
    without recomputing them (analysis.json) carry an HMAC under it, so that one written
    elsewhere, or forged with a recomputed plain checksum, is derived again from raw/."""
    _records()  # the folder, this user's own and private
    path = state_dir() / "key"
    if path.exists() or path.is_symlink():
        why = _not_private(path, secret=True)
        if why:
            raise UserError(f"{path}: {why}; this machine's key must be yours alone (remove it: a new one is made)")
        key = read_regular_bytes(path)
        if len(key) == 32:
            return key
    key = secrets.token_bytes(32)
    try:
        atomic_write_bytes(path, key, private=True)
    except OSError as error:
        raise UserError(f"{path}: cannot keep this machine's key there ({error.strerror}); set "
                        "PARBENCH_STATE_DIR to a writable folder") from None
    return key


def signature(record: dict) -> str:
    """HMAC-SHA-256 of a record (less its "digest") as canonical JSON, under this machine's key:
    a derived file parbench trusts without recomputing it (analysis.json, check.json) carries
    it, so one written elsewhere, or forged with a checksum recomputed, is not trusted."""
    import hashlib
    import hmac
    body = {k: v for k, v in record.items() if k != "digest"}
    return hmac.new(machine_key(), json.dumps(body, sort_keys=True).encode(), hashlib.sha256).hexdigest()


def differences(recorded: dict, own: dict, prefix: str = "") -> list[str]:
    """The keys whose values differ between a folder's recorded config and this machine's
    record of it (nested tables as table.key)."""
    found = []
    for key in sorted(set(recorded) | set(own)):
        a, b = recorded.get(key), own.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            found.append(prefix + key)
    return found
