"""pmc-hub: PubMed Central Open Access articles to Hugging Face datasets, kept published.

    from pmc_hub import BuildConfig, RunOptions, build, update
    report = build(BuildConfig(sources=("articles/",)), RunOptions(out_dir="out"))

(`pmc_hub.build` is the function; its module is `importlib.import_module("pmc_hub.build")`.
Publishing and access review: `pmc_hub.publish.publish`, `pmc_hub.access`.)

The public names are imported when first asked for: a build worker imports ``pmc_hub.stage``
and must not pay for the build, update and merge modules (and ``pyarrow.parquet``) it never runs.
"""
import importlib
import sys
import types

from .version import __version__
from .errors import DataError, PmcHubError, UsageError  # noqa: E402  (no imports of their own)

_LAZY = {  # public name -> the module that defines it
    "build": ".build", "update": ".update", "merge_builds": ".merge", "carve_benchmark": ".benchmark",
    "BuildConfig": ".config", "RunOptions": ".config", "ShardLayout": ".config", "BuildReport": ".report",
    "ArticleStage": ".stage", "FiguresBuilder": ".builder",
}

__all__ = ["__version__", "build", "update", "merge_builds", "carve_benchmark", "BuildConfig", "RunOptions",
           "ShardLayout", "BuildReport", "ArticleStage", "FiguresBuilder", "PmcHubError", "UsageError", "DataError"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pmc_hub' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """Keeps ``pmc_hub.build`` and ``pmc_hub.update`` the functions: importing the module of the
    same name sets the package's attribute to that module, which would shadow the function."""

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == f".{name}":
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
