"""Remote PMC Cloud source: the public ``pmc-oa-opendata`` bucket, over HTTPS (default) or S3.

One prefix per article version (``PMC<id>.<N>/``) holds the JATS XML, the metadata JSON and the
media files; every JSON is also under ``metadata/``. Articles are enumerated from that prefix or
from the daily S3 inventory (`versions`), reduced to the highest version per PMCID, filtered
(`selection`), fetched (`transfer`) into a local cache laid out like the bucket and yielded as
`ArticlePackage` (`source`); `mirror` is ``pmc-hub fetch``. With a state file a run is incremental
(`state`). The metadata JSON is read by one typed parser (`metadata`). See docs/sources.md.
"""
from .bucket import BUCKET, Bucket, CloudError, HttpBucket, S3Bucket, SpecError, open_bucket, parse_listing
from .metadata import CloudMetadata, ObjectRef, parse_metadata
from .mirror import STATE_NAME, mirror, summary
from .selection import Selection, normalize_pmcid, parse_since, read_pmcid_file
from .source import IMAGE_SUFFIXES, CloudOptions, CloudSource, FetchReport, open_cloud_source, options_from_spec
from .state import StateError, SyncPlan, SyncState, plan_sync
from .versions import ArticleVersion, inventory_dates, latest_versions, versions_from_inventory, versions_from_listing

__all__ = [
    "BUCKET", "Bucket", "CloudError", "HttpBucket", "S3Bucket", "SpecError", "open_bucket", "parse_listing",
    "CloudMetadata", "ObjectRef", "parse_metadata",
    "STATE_NAME", "mirror", "summary",
    "Selection", "normalize_pmcid", "parse_since", "read_pmcid_file",
    "IMAGE_SUFFIXES", "CloudOptions", "CloudSource", "FetchReport", "open_cloud_source", "options_from_spec",
    "StateError", "SyncPlan", "SyncState", "plan_sync",
    "ArticleVersion", "inventory_dates", "latest_versions", "versions_from_inventory", "versions_from_listing",
]
