"""analysis.json is published with a JSON Schema (schemas/analysis.schema.json): what analyze
writes for the reference sweep and for a small sweep validates against it, and the schema
rejects what is not an analysis."""
import json
import shutil

import jsonschema
import pytest

from support import ROOT, run_cli

SCHEMA = json.loads((ROOT / "schemas" / "analysis.schema.json").read_text())


def analysed(folder) -> dict:
    result = run_cli("analyze", folder)
    assert result.returncode == 0, result.stderr
    return json.loads((folder / "analysis.json").read_text())


def test_the_schema_is_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_reference_analysis_validates(tmp_path):
    copy = tmp_path / "reference"
    shutil.copytree(ROOT / "results" / "reference", copy,
                    ignore=shutil.ignore_patterns("plots", "*.csv", "analysis.json", "report.*"))
    jsonschema.validate(analysed(copy), SCHEMA)


def test_a_small_analysis_validates_and_damage_does_not(result_dir):
    analysis = analysed(result_dir)
    jsonschema.validate(analysis, SCHEMA)
    for damage in ({"parbench_analysis": 2}, {"points": "none"}, {"cores": {"physical": "two"}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(dict(analysis, **damage), SCHEMA)
    missing = dict(analysis)
    del missing["verdicts"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(missing, SCHEMA)
