"""One catalogue: `./parbench list --json` merges the binary's registry and the Python track's;
both languages enforce the same limits; and the driver writes no model's name of its own (every
name, group, label and baseline comes from the catalogue)."""
import ast
import json
import re
import subprocess

from support import ROOT, bench_path

# The config and the environment record name models by design (the config's tables; the
# libraries the build links): they may.
ALLOWED = {"config.py", "envinfo.py"}


def catalogue() -> dict:
    result = subprocess.run([str(ROOT / "parbench"), "list", "--json"], capture_output=True, text=True, timeout=600,
                            env={"PATH": "/usr/bin:/bin", "PARBENCH_BENCH": str(bench_path()), "HOME": "/root"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_list_json_merges_both_tracks_with_one_set_of_limits():
    merged = catalogue()
    tracks = {m["track"] for m in merged["models"]}
    assert tracks == {"cpp", "python"}
    for track in tracks:
        groups = [m["group"] for m in merged["models"] if m["track"] == track]
        assert groups.count("baseline") == 1, (track, groups)
        assert all(m["label"] and isinstance(m["order"], int) for m in merged["models"])
    binary = json.loads(subprocess.run([str(bench_path()), "list", "--json"], capture_output=True, text=True,
                                       timeout=300).stdout)
    from pytrack import registry
    assert binary["limits"] == registry.LIMITS == merged["limits"]
    assert {m["name"] for m in binary["models"]} < {m["name"] for m in merged["models"]}
    assert {w["name"] for w in merged["workloads"]} >= {w["name"] for w in binary["workloads"]}


def _strings(path) -> list[tuple[int, str]]:
    """The string constants of a module, its docstrings aside (they describe, they name nothing)."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_model_name_is_written_in_the_driver():
    merged = catalogue()
    models = {m["name"] for m in merged["models"]}
    # names that are also a group's or a primitive family's (the "threads" group, the "mpi/"
    # family): a constant of theirs names the group or the family, not the model
    other_meanings = {m["group"] for m in merged["models"]} | {p["family"].split("/")[0] for p in merged["primitives"]}
    python_models = {m for m in models if m.startswith("py_")}
    found = []
    for path in sorted((ROOT / "scripts" / "parbench").rglob("*.py")):
        if path.name in ALLOWED:
            continue
        for line, text in _strings(path):
            if text in models - other_meanings:
                found.append(f"{path.relative_to(ROOT)}:{line}: {text!r}")
            for word in set(re.findall(r"\bpy_[a-z_]+\b", text)) & python_models:
                found.append(f"{path.relative_to(ROOT)}:{line}: {word} in {text[:60]!r}")
    assert not found, "\n".join(found)
