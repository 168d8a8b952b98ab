"""Built folders for the publish tests: a build of the bundled sample as release 2026-11, once per
module, and a fresh copy of it per test (tests change it)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import run_build


def build_release(out: Path, release: str, sources: list | None = None) -> Path:
    run_build(sources or [], out, release=release)
    return out


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> Path:
    return build_release(tmp_path_factory.mktemp("build") / "out", "2026-11")


@pytest.fixture
def built(built_once, tmp_path) -> Path:
    return Path(shutil.copytree(built_once, tmp_path / "out", symlinks=True))
