"""The catalogue: every model's name, label, kind (group), order and roles, every workload and
primitive family, and the selection's limits, as the registries give them: the C++ binary's
`list --json` and the Python track's registry (`python3 -m pytrack list --json`). The driver
writes no model's name of its own; a model added as one file in models/ is in here, and so in
the analysis, every chart of its group and the report.

A sweep records the catalogue it ran with in its folder (catalogue.json), so that its models
are read as they were; a folder without one (a sweep of an older parbench) is read with this
checkout's. A model the catalogue does not know (a foreign folder's) is shown under its own
name in the group "other".
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import UserError
from .util import REPO_ROOT, OutputTooLarge, atomic_write_text, load_json, parse_json, run_bounded

CATALOGUE_FILE = "catalogue.json"
BASELINE_GROUP = "baseline"
OTHER_GROUP = "other"
TRACKS = ("cpp", "python")


@dataclass(frozen=True)
class Model:
    name: str
    label: str
    group: str
    track: str
    order: int
    parallel: bool = True
    roles: tuple = ()
    launch: str = ""
    summary: str = ""
    # everything else its registry says (limits, how it spawns a task, its concurrency cap):
    # kept for list --json and catalogue.json, read by nothing here
    details: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Catalogue:
    models: tuple = ()
    workloads: tuple = ()
    primitives: tuple = ()
    limits: dict = field(default_factory=dict)

    def model(self, name: str) -> Model:
        """The model of a name, its interpreter tag ("@3.13") aside; an unknown one in "other"."""
        base = name.partition("@")[0]
        known = next((m for m in self.models if m.name == base), None)
        if known is not None:
            return known
        return Model(base, base, OTHER_GROUP, "python" if base.startswith("py_") else "cpp", 10_000)

    def baseline(self, track: str) -> str | None:
        """The model every other model of the track is measured against (group "baseline")."""
        return next((m.name for m in self.models if m.track == track and m.group == BASELINE_GROUP), None)

    def with_role(self, role: str) -> str | None:
        return next((m.name for m in self.models if role in m.roles), None)

    def in_group(self, group: str, track: str = "cpp") -> list[str]:
        return [m.name for m in sorted(self.models, key=lambda m: m.order)
                if m.group == group and m.track == track]

    def of_track(self, track: str) -> list[Model]:
        return sorted((m for m in self.models if m.track == track), key=lambda m: m.order)

    def groups(self, track: str = "cpp") -> list[str]:
        """The track's kinds of model in the models' order, the baseline's aside."""
        seen: list[str] = []
        for m in sorted(self.models, key=lambda m: m.order):
            if m.track == track and m.group != BASELINE_GROUP and m.group not in seen:
                seen.append(m.group)
        return seen

    def order_key(self, name: str) -> tuple:
        """Where a model sits in lists and colours: C++ before Python, then its order."""
        model = self.model(name)
        return (TRACKS.index(model.track) if model.track in TRACKS else 2, model.order, name)

    def to_json(self) -> dict:
        return {"parbench_catalogue": 1, "limits": self.limits,
                "models": [{**m.details, **{k: v for k, v in m.__dict__.items() if k != "details"},
                            "roles": list(m.roles)} for m in self.models],
                "workloads": list(self.workloads), "primitives": list(self.primitives)}


def _text(value, where: str, longest: int = 200) -> str:
    if not isinstance(value, str) or len(value) > longest:
        raise UserError(f"{where}: not a short text")
    return value


def _models(entries, track: str, where: str) -> list[Model]:
    if not isinstance(entries, list):
        raise UserError(f"{where}: 'models' is not a list")
    models = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise UserError(f"{where}: a model is not an object")
        order = entry.get("order", 100)
        roles = entry.get("roles", [])
        if isinstance(order, bool) or not isinstance(order, int) or not isinstance(roles, list):
            raise UserError(f"{where}: model {entry.get('name')!r}: bad order or roles")
        name = _text(entry.get("name"), f"{where}: a model's name", 64)
        models.append(Model(name=name, label=_text(entry.get("label") or name, f"{where}: {name}'s label"),
                            group=_text(entry.get("group") or OTHER_GROUP, f"{where}: {name}'s group", 32),
                            track=_text(entry.get("track", track), f"{where}: {name}'s track", 16),
                            order=order, parallel=bool(entry.get("parallel", True)),
                            roles=tuple(_text(r, f"{where}: {name}'s role", 32) for r in roles),
                            launch=_text(entry.get("launch", ""), f"{where}: {name}'s launch", 32),
                            summary=_text(entry.get("summary", ""), f"{where}: {name}'s summary", 400),
                            details={k: v for k, v in entry.items() if isinstance(v, (str, int, float, bool))}))
    return models


def from_json(data, where: str) -> Catalogue:
    """A catalogue from its JSON (a track's `list --json`, or a folder's catalogue.json), its
    types checked: a foreign one names models, it runs nothing."""
    if not isinstance(data, dict) or data.get("parbench_catalogue") != 1:
        raise UserError(f"{where}: not a parbench catalogue")
    lists = {key: data.get(key, []) for key in ("workloads", "primitives")}
    if not all(isinstance(v, list) and all(isinstance(e, dict) for e in v) for v in lists.values()) \
            or not isinstance(data.get("limits", {}), dict):
        raise UserError(f"{where}: malformed catalogue")
    return Catalogue(models=tuple(_models(data.get("models", []), "cpp", where)),
                     workloads=tuple(lists["workloads"]), primitives=tuple(lists["primitives"]),
                     limits=dict(data.get("limits", {})))


def merged(cpp: Catalogue, python: Catalogue) -> Catalogue:
    """One catalogue of both tracks: the C++ limits (the Python track's are the same: tested)."""
    return Catalogue(models=cpp.models + python.models, workloads=cpp.workloads + python.workloads,
                     primitives=cpp.primitives + python.primitives, limits=dict(cpp.limits))


def _binary() -> Path:
    return Path(os.environ.get("PARBENCH_BENCH", REPO_ROOT / "build" / "release" / "parbench_bench"))


def of_checkout(binary: Path | None = None) -> Catalogue:
    """This checkout's catalogue: the binary's `list --json` and the Python track's registry."""
    from pytrack.runner import catalogue as python_catalogue
    binary = binary or _binary()
    if not binary.exists():
        raise UserError(f"{binary}: benchmark binary not found, and the catalogue of models comes from it "
                        "(run ./parbench list, which builds it)")
    try:
        result = run_bounded([str(binary), "list", "--json"], timeout=120)
    except (OSError, subprocess.TimeoutExpired, OutputTooLarge) as error:
        raise UserError(f"{binary} list --json: {error}") from None
    if result.returncode != 0:
        raise UserError(f"{binary} list --json: failed ({(result.stderr or '').strip()[-200:]})")
    cpp = from_json(parse_json(result.stdout, f"{binary} list --json"), f"{binary} list --json")
    return merged(cpp, from_json(python_catalogue(), "the Python track's registry"))


def of_folder(directory: Path) -> Catalogue | None:
    """The catalogue a sweep recorded in its folder; None without one (then this checkout's is
    asked for when a name is first looked up)."""
    path = Path(directory) / CATALOGUE_FILE
    if path.exists() or path.is_symlink():
        return from_json(load_json(path), str(path))
    return None


_CHECKOUT: list[Catalogue] = []


def _checkout_once() -> Catalogue:
    """This checkout's catalogue, asked of the binary once per run."""
    if not _CHECKOUT:
        _CHECKOUT.append(of_checkout())
    return _CHECKOUT[0]


_ACTIVE: list[Catalogue] = []


def use(catalogue: Catalogue) -> None:
    """The catalogue the folder being read was made with: every name, group and baseline from
    here on comes from it."""
    _ACTIVE[:] = [catalogue]


@contextlib.contextmanager
def using(catalogue: Catalogue | None):
    """use(catalogue) while a folder is read (None: this checkout's), then the one before (an
    earlier sweep read for 'vs previous' has its own catalogue)."""
    before = list(_ACTIVE)
    _ACTIVE[:] = [catalogue] if catalogue is not None else []
    try:
        yield catalogue
    finally:
        _ACTIVE[:] = before


def current() -> Catalogue:
    return _ACTIVE[0] if _ACTIVE else _checkout_once()


def record(directory: Path, catalogue: Catalogue) -> None:
    """catalogue.json in a sweep's folder: its models read as they were when it ran."""
    atomic_write_text(Path(directory) / CATALOGUE_FILE, json.dumps(catalogue.to_json(), indent=1) + "\n")
