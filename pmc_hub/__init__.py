"""pmc-hub: PubMed Central Open Access articles to Hugging Face datasets, kept published.

    from pmc_hub import BuildConfig, RunOptions, build, update
    report = build(BuildConfig(sources=("articles/",)), RunOptions(out_dir="out"))

(`pmc_hub.build` is the function; its module is `importlib.import_module("pmc_hub.build")`.)
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
from .builder import FiguresBuilder  # noqa: E402
from .publish import PublishOptions, publish  # noqa: E402

__all__ = ["__version__", "build", "update", "merge_builds", "carve_benchmark", "publish", "BuildConfig", "RunOptions",
           "ShardLayout", "BuildReport", "ArticleStage", "FiguresBuilder", "PublishOptions", "PmcHubError", "UsageError",
           "DataError"]
