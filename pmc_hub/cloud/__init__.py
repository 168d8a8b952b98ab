"""Remote PMC Cloud source: the public ``pmc-oa-opendata`` bucket, over HTTPS (default) or S3.

One prefix per article version (``PMC<id>.<N>/``) holds the JATS XML, the metadata JSON and the
media files; every JSON is also under ``metadata/``. Articles are enumerated from that prefix or
from the daily S3 inventory (`versions`), reduced to the highest version per PMCID, filtered
(`selection`), fetched (`transfer`) into a local cache laid out like the bucket and yielded as
`ArticlePackage` (`source`); `mirror` is ``pmc-hub fetch``. With a state file a run is incremental
(`state`). The metadata JSON is read by one typed parser (`metadata`). See docs/sources.md.
"""
from __future__ import annotations

import importlib

# Public names and the module that holds each; loaded on first use, so that reading a metadata file
# (`pmc_hub.sources` imports `pmc_hub.cloud.metadata`) does not import the clients and the source.
_EXPORTS = {
    "bucket": ("BUCKET", "Bucket", "CloudError", "HttpBucket", "S3Bucket", "SpecError", "open_bucket", "parse_listing"),
    "metadata": ("CloudMetadata", "ObjectRef", "parse_metadata"),
    "mirror": ("STATE_NAME", "fetch_mirror", "summary"),
    "selection": ("Selection", "normalize_pmcid", "parse_since", "read_pmcid_file"),
    "source": ("IMAGE_SUFFIXES", "CloudOptions", "CloudSource", "FetchReport", "open_cloud_source", "options_from_spec"),
    "state": ("StateError", "SyncPlan", "SyncState", "plan_sync"),
    "versions": ("ArticleVersion", "inventory_dates", "latest_versions", "versions_from_inventory", "versions_from_listing"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
