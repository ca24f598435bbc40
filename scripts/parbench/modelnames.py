"""What a model's name says: its track, its interpreter tag and its baseline.

A C++ model is measured against the C++ track's baseline model, a Python model (the
registry gives every one the py_ prefix) against the Python track's (the catalogue says
which: the model of group "baseline"). When the sweep ran more than one interpreter, every
interpreter after the first tags its models with its version ("<model>@3.13", or
"<model>@3.13t-gil1" for a free-threaded build with the GIL forced on), and such a model is
measured against its own interpreter's baseline ("<baseline>@3.13"). A run whose workers
were bound by an affinity policy carries the policy the same way ("threads@compact",
"py_threads@spread"), and an interleaved one its memory policy ("threads@interleave",
"threads@compact+interleave"): that is a placement, not an interpreter, and it has the untagged
baseline.
"""
from pytrack.executor import AFFINITY_POLICIES

from .config import MEMORY_POLICIES

from .catalogue import BASELINE_GROUP, current


def split_tag(model: str) -> tuple[str, str]:
    """("<model>", "3.13") for "<model>@3.13"; (model, "") without a tag, and ("<model>", "")
    for a binding policy's "<model>@compact"."""
    base, _, tag = model.partition("@")
    return base, "" if is_placement(tag) else tag


def placement_of(model: str) -> tuple[str, str, str]:
    """(model, affinity policy, memory policy) of a name, "" where it has none:
    ("threads", "compact", "interleave") for "threads@compact+interleave"; an interpreter's tag
    stays with its model ("py_threads@3.13", "", "")."""
    base, _, tag = model.partition("@")
    if not is_placement(tag):
        return model, "", ""
    parts = tag.split("+")
    return (base, next((part for part in parts if part in AFFINITY_POLICIES), ""),
            next((part for part in parts if part in MEMORY_POLICIES), ""))


def placed(model: str, affinity: str = "", memory: str = "") -> str:
    """The name of a model's variant: placed("threads", "compact", "interleave") is
    "threads@compact+interleave"; without a placement, the model's own name."""
    tag = "+".join(part for part in (affinity, memory) if part)
    return f"{model}@{tag}" if tag else model


def without_placement(model: str) -> str:
    """The model as its registry names it, its placement aside: "threads" for "threads@compact"
    (an interpreter's tag stays: "py_threads@3.13")."""
    base, _, tag = model.partition("@")
    return base if is_placement(tag) else model


def is_placement(tag: str) -> bool:
    """Whether a model's tag says where its workers or pages were placed ("compact",
    "spread+interleave"), not which interpreter ran it."""
    return bool(tag) and all(part in AFFINITY_POLICIES or part in MEMORY_POLICIES for part in tag.split("+"))


def is_python(model: str) -> bool:
    return model.startswith("py_")


def baseline_of(model: str) -> str:
    """The model a model's speedup is measured against: its track's baseline model (for a
    Python model, its own interpreter's)."""
    baseline = current().baseline("python" if is_python(model) else "cpp") or ""
    tag = split_tag(model)[1]
    return baseline + (f"@{tag}" if tag and is_python(model) else "")


def is_baseline(model: str) -> bool:
    return current().model(model).group == BASELINE_GROUP


def track_of(model: str) -> str:
    """"cpp" for the binary's models; "python" for the first interpreter's py_ models,
    "python@3.13" for another interpreter's."""
    if not is_python(model):
        return "cpp"
    tag = split_tag(model)[1]
    return "python" + (f"@{tag}" if tag else "")


def track_label(track: str) -> str:
    """How the report names a track: "", "Python track", "Python 3.13 track"."""
    if track in ("", "cpp"):
        return ""
    tag = track.partition("@")[2]
    return f"Python {tag} track" if tag else "Python track"
