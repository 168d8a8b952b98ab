"""The field reference and README stay true to the code."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_field_reference_is_generated_from_the_schema():
    spec = importlib.util.spec_from_file_location("field_docs", ROOT / "scripts" / "field_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "fields.md").read_text(encoding="utf-8") == module.render(), \
        "docs/fields.md is out of date: run python scripts/field_docs.py"


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = next(line.strip() for line in ci.splitlines() if "pytest" in line)
    assert command in readme

