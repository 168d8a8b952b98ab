"""Write docs/fields.md, the field-by-field reference, from the JSON Schemas (run after a schema change)."""
from __future__ import annotations

import sys
from pathlib import Path

from pmc_hub.schema import field_docs, load_schema

TITLES = {"figure": "Figure configs (`commercial`, `noncommercial`, `other`)", "article": "The `articles` config"}


def render() -> str:
    lines = ["# Fields", "", "Generated from `schemas/*.schema.json` by `python scripts/field_docs.py`; do not edit by hand.", ""]
    for name in ("figure", "article"):
        lines += [f"## {TITLES[name]}", "", load_schema(name)["description"], "",
                  "| field | type | null? | meaning | source |", "| --- | --- | --- | --- | --- |"]
        for f in field_docs(name):
            lines.append(f"| `{f['name']}` | {f['type']} | {'yes' if f['nullable'] else 'no'} | "
                         f"{f['description'].replace('|', '/')} | {('`' + f['source'].replace('|', '/') + '`') if f['source'] else ''} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "docs" / "fields.md"
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
