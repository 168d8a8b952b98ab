"""The project's data, loaded as package data with `importlib.resources`: the JSON Schemas
(`pmc_hub.schemas`, the repository's top-level ``schemas/``), the card templates
(`pmc_hub.templates`, its ``cards/``) and the bundled sample articles."""
from __future__ import annotations

from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path


def schema_text(name: str) -> str:
    """The text of ``schemas/<name>`` (e.g. ``figure.schema.json``, ``taxonomy.json``)."""
    return files("pmc_hub.schemas").joinpath(name).read_text(encoding="utf-8")


def templates() -> Traversable:
    """The folder of card templates (``cards/``)."""
    return files("pmc_hub.templates")


def sample_dir() -> Path:
    """The bundled real CC BY / CC0 articles with their figure images, as a folder on disk."""
    with as_file(files("pmc_hub").joinpath("sample_data")) as path:
        return Path(path)


def schemas_dir() -> Path:
    """The schemas folder on disk (for files read by path, such as a taxonomy a user may edit)."""
    with as_file(files("pmc_hub.schemas")) as path:
        return Path(path)
