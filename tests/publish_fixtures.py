"""Built folders for the publish tests: a build of the bundled sample as release 2026-11, once per
module, and a fresh copy of it per test (tests change it)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pmc_hub.build import BuildOptions, build


def build_release(out: Path, release: str, sources: list | None = None) -> Path:
    build(BuildOptions(sources=sources or [], out_dir=out, workers=1, progress=False, release=release))
    return out


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> Path:
    return build_release(tmp_path_factory.mktemp("build") / "out", "2026-11")


@pytest.fixture
def built(built_once, tmp_path) -> Path:
    return Path(shutil.copytree(built_once, tmp_path / "out", symlinks=True))
