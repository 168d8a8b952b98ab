"""Where the project's data folders (schemas/, cards/, the bundled sample) are found."""
from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    # A source checkout or editable install keeps schemas/ and cards/ at the top level;
    # a wheel installs them under {prefix}/share/pmc-hub (pyproject data-files).
    for candidate in (_PACKAGE.parent / name, Path(sys.prefix) / "share" / "pmc-hub" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"pmc-hub data folder {name!r} not found next to {_PACKAGE}")


def schemas_dir() -> Path:
    return _find("schemas")


def cards_dir() -> Path:
    return _find("cards")


def sample_dir() -> Path:
    """The bundled real CC BY / CC0 articles with their figure images."""
    return _PACKAGE / "sample_data"
