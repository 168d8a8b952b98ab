"""pmc-hub: PubMed Central Open Access articles to Hugging Face datasets, kept published.

    from pmc_hub import BuildConfig, RunOptions, build, update
    report = build(BuildConfig(sources=("articles/",)), RunOptions(out_dir="out"))

(`pmc_hub.build` is the function; its module is `importlib.import_module("pmc_hub.build")`.
Publishing and access review: `pmc_hub.publish.publish`, `pmc_hub.access`.)
"""

from .version import __version__

from .errors import DataError, PmcHubError, UsageError  # noqa: E402
from .config import BuildConfig, RunOptions, ShardLayout  # noqa: E402
from .report import BuildReport  # noqa: E402
from .stage import ArticleStage  # noqa: E402
from .build import build  # noqa: E402
from .update import update  # noqa: E402
from .merge import merge_builds  # noqa: E402
from .benchmark import carve_benchmark  # noqa: E402

__all__ = ["__version__", "build", "update", "merge_builds", "carve_benchmark", "BuildConfig", "RunOptions",
           "ShardLayout", "BuildReport", "ArticleStage", "FiguresBuilder", "PmcHubError", "UsageError", "DataError"]


def __getattr__(name: str):
    if name == "FiguresBuilder":  # its module subclasses a `datasets` builder: imported when asked for
        from .builder import FiguresBuilder

        return FiguresBuilder
    raise AttributeError(f"module 'pmc_hub' has no attribute {name!r}")
