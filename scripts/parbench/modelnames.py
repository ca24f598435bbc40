"""What a model's name says: its track, its interpreter tag and its baseline.

A C++ model ("threads") is measured against "serial". A Python model ("py_threads")
is measured against "py_serial"; when the sweep ran more than one interpreter, every
interpreter after the first tags its models with its version ("py_threads@3.13", or
"py_threads@3.13t-gil1" for a free-threaded build with the GIL forced on), and such a
model is measured against its own interpreter's "py_serial@3.13".
"""

BASELINE_MODEL = "serial"
PYTHON_BASELINE_MODEL = "py_serial"


def split_tag(model: str) -> tuple[str, str]:
    """("py_threads", "3.13") for "py_threads@3.13"; (model, "") without a tag."""
    base, _, tag = model.partition("@")
    return base, tag


def is_python(model: str) -> bool:
    return model.startswith("py_")


def baseline_of(model: str) -> str:
    """The model a model's speedup is measured against: its interpreter's py_serial for the
    Python track's py_ models, serial for the C++ models."""
    if not is_python(model):
        return BASELINE_MODEL
    tag = split_tag(model)[1]
    return PYTHON_BASELINE_MODEL + (f"@{tag}" if tag else "")


def is_baseline(model: str) -> bool:
    return split_tag(model)[0] in (BASELINE_MODEL, PYTHON_BASELINE_MODEL)


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
