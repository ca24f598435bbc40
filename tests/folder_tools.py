"""Helpers of the Python tests that stand in for a sweep: a results folder they edit or copy is
recorded as a sweep would record it."""
import hashlib
import json
from pathlib import Path


def _replace(path, text):
    """Writes by rename, as parbench does: a hard-linked copy's other names keep their content."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.test.tmp")
    temporary.write_text(text)
    temporary.replace(path)


def record_raw(directory, name):
    """Records raw/<name>'s current size and SHA-256 in DIR/sweep.json, as the sweep does when it
    writes one: for tests that stand in for a measurement by editing a raw file (an edit the
    sweep did not record is refused by every verb, as tampering)."""
    directory = Path(directory)
    data = (directory / "raw" / name).read_bytes()
    state_path = directory / "sweep.json"
    state = json.loads(state_path.read_text())
    for record in state.get("families", []):
        if record.get("file") == f"raw/{name}":
            record.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    _replace(state_path, json.dumps(state, indent=1) + "\n")


def adopt(directory):
    """Makes a copied sweep folder one this checkout started on this machine (a new record in
    the test session's PARBENCH_STATE_DIR, its id in sweep.json and settings.json): a copy is
    otherwise another machine's sweep, which --resume and check's re-measurement refuse."""
    from parbench import provenance
    directory = Path(directory)
    state = json.loads((directory / "sweep.json").read_text())
    sweep_id = provenance.register(directory, state["config"], state.get("plan"))
    for name in ("sweep.json", "settings.json"):
        path = directory / name
        if path.exists():
            data = json.loads(path.read_text())
            data[provenance.ID_FIELD] = sweep_id
            _replace(path, json.dumps(data, indent=1) + "\n")
    return directory


def rewrite_raw(folder, name, change):
    """Changes raw/NAME's benchmark entries with `change`, and records the file's size and
    checksum as the sweep would (a measurement that came out so, not tampering)."""
    path = Path(folder) / "raw" / name
    data = json.loads(path.read_text())
    change(data["benchmarks"])
    _replace(path, json.dumps(data))
    record_raw(folder, name)
