"""What importing pmc_hub costs (issue 13): the package's public names are imported when asked for,
a build worker imports only what it runs, and a build's main process never imports pandas.
Each check runs in a fresh interpreter, where nothing is imported yet."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import pmc_hub

ROOT = Path(__file__).resolve().parent.parent


def fresh(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", pmc_hub.__all__)
def test_every_public_name_imports_from_the_package(name):
    found = fresh(f"import inspect, json\nfrom pmc_hub import {name}\n"
                  f"print(json.dumps([type({name}).__name__, getattr({name}, '__module__', None)]))")
    kind, module = found
    assert kind != "module"  # the function or class, never the module of the same name
    if name != "__version__":
        assert module == f"pmc_hub{pmc_hub._LAZY.get(name, '.errors')}"


def test_the_build_and_update_functions_stay_after_their_modules_are_imported():
    found = fresh("import importlib, json\nimport pmc_hub.build, pmc_hub.update\nimport pmc_hub\n"
                  "from pmc_hub import build, update\n"
                  "print(json.dumps([callable(pmc_hub.build), pmc_hub.build is build, callable(update),\n"
                  "                  importlib.import_module('pmc_hub.build').__name__, 'pmc_hub.merge' in dir(pmc_hub)]))")
    assert found == [True, True, True, "pmc_hub.build", False]


def test_importing_the_package_imports_no_library():
    found = fresh("import json, sys\nimport pmc_hub\n"
                  "print(json.dumps(sorted(m for m in ('pyarrow', 'numpy', 'PIL', 'lxml', 'pmc_hub.config') if m in sys.modules)))")
    assert found == []


def test_a_worker_imports_neither_the_build_nor_parquet():
    # the modules the worker server preloads (engines.local) and what their first article imports
    found = fresh("import json, sys\nimport pmc_hub.stage, pmc_hub.spool\n"
                  "print(json.dumps(sorted(m for m in ('pmc_hub.build', 'pmc_hub.update', 'pmc_hub.merge', 'pmc_hub.writers',\n"
                  "                                    'pyarrow.parquet', 'pyarrow.fs', 'pandas') if m in sys.modules)))")
    assert found == []


def test_a_build_never_imports_pandas(tmp_path):
    found = fresh("import json, sys\nfrom pathlib import Path\nfrom pmc_hub import BuildConfig, RunOptions, build\n"
                  f"build(BuildConfig(), RunOptions(out_dir=Path({str(tmp_path / 'out')!r}), progress=False))\n"
                  "print(json.dumps(['pandas' in sys.modules, (Path("
                  f"{str(tmp_path / 'out')!r}) / '.pmc-hub/index/articles.parquet').is_file()]))")
    assert found == [False, True]
