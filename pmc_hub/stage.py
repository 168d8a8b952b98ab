"""The per-article stage: one `ArticlePackage` in, one `ArticleResult` (rows + skips) out.

It is the failure boundary of a build: whatever one package holds, the stage returns a result,
never raises. Parse, media, records, labels and subfigures all run here; an unexpected exception
anywhere becomes an `article failed` skip naming the article, the step and the error. Every
engine (local processes, Ray, the `datasets` builder) runs this same stage; an `ArticleStage`
holds the per-worker state (loaded models), so each worker makes one and reuses it.
"""
from __future__ import annotations

import hashlib
from typing import Iterator, Optional

from . import jats, media, records
from .config import BuildConfig
from .errors import one_line
from .models import Article, ArticlePackage, ArticleResult, Figure, Skip
from .report import ARTICLE_FAILED, BAD_XML, INVALID_RECORD, MISSING_IMAGE, NO_CAPTION, NO_GRAPHIC, NO_XML, SUBFIGURE_FAILED
from .schema import InvalidRecord, validate, validate_fields


def package_version(package: ArticlePackage) -> str:
    """What identifies this version of an article's package: its id and a hash of its XML."""
    return f"{package.package_id}@{hashlib.sha256(package.xml or b'').hexdigest()[:16]}"


class ArticleStage:
    """Callable per-article stage with its worker's models, loaded on first use."""

    def __init__(self, config: BuildConfig, subfigure_batch: int = 16):
        self.config = config
        self.subfigure_batch = subfigure_batch
        self._labelers: Optional[list] = None
        self._detector = None

    def __call__(self, package: ArticlePackage) -> ArticleResult:
        result = ArticleResult(package.origin or package.package_id, package.package_id, version=package_version(package))
        step = "reading"
        try:
            result.skips.extend(Skip(package.package_id, reason, detail) for reason, detail in package.skips)
            step = "parsing"
            article = self._parse(package, result)
            if article is not None:
                step = "making rows"
                self._rows(package, article, result)
        except Exception as exc:  # the failure boundary: one article never stops a build
            return failed(package, f"{step}: {type(exc).__name__}: {one_line(exc)}", result)
        return result

    def _parse(self, package: ArticlePackage, result: ArticleResult) -> Optional[Article]:
        if not package.xml:
            if not package.skips:
                result.skips.append(Skip(package.package_id, NO_XML, "package holds no article XML"))
            return None
        try:
            return jats.parse(package.xml)
        except jats.JATSError as exc:
            result.skips.append(Skip(package.package_id, BAD_XML, str(exc)))
            return None

    def _rows(self, package: ArticlePackage, article: Article, result: ArticleResult) -> None:
        lic = records.license_of(article, package)
        shared = records.article_fields(article, package, lic)
        result.article_id = shared["article_accession_id"]
        result.license_category, result.license_code = lic.category, lic.code
        result.figures_in = len(article.figures)
        try:  # the article fields every figure row shares: checked once here, not once per row
            validate_fields("figure", shared, result.article_id)
        except InvalidRecord as exc:
            result.skips.append(Skip(result.article_id, INVALID_RECORD, "; ".join(exc.errors)))
            result.images_in = sum(len(f.graphics) for f in article.figures)
            return
        names = media.MediaIndex(package.media)
        thumbnails: dict = {}  # image_key -> the thumbnail media.inspect made, for the content labeler
        rows = [row for figure in article.figures
                for row in self._figure_rows(result, shared, article, figure, package, names, thumbnails)]
        for row in self._label(rows, thumbnails):
            try:
                result.figure_rows.append(validate("figure", row, result.article_id, shared))
            except InvalidRecord as exc:
                result.skips.append(Skip(result.article_id, INVALID_RECORD, "; ".join(exc.errors), row.get("figure_id")))
        if self.config.subfigures:
            self._subfigures(result)
        try:
            result.article_row = validate("article", records.article_row(shared, article), result.article_id)
        except InvalidRecord as exc:
            result.skips.append(Skip(result.article_id, INVALID_RECORD, "; ".join(exc.errors)))

    def _figure_rows(self, result: ArticleResult, shared: dict, article: Article, figure: Figure,
                     package: ArticlePackage, names: "media.MediaIndex", thumbnails: dict) -> Iterator[dict]:
        aid = result.article_id
        if not figure.graphics:
            result.skips.append(Skip(aid, NO_GRAPHIC, "the <fig> has no <graphic>", figure.figure_id))
            return
        result.images_in += len(figure.graphics)
        if not figure.caption:
            result.skips.append(Skip(aid, NO_CAPTION, f"{len(figure.graphics)} image(s) not written", figure.figure_id))
            return
        for graphic in figure.graphics:
            name = names.resolve(graphic)
            if name is None:
                result.skips.append(Skip(aid, MISSING_IMAGE, f"no file for href {graphic.href!r}", figure.figure_id))
                continue
            try:
                image = media.inspect(name, package.media[name](), self.config.max_pixels)
            except media.MediaError as exc:
                result.skips.append(Skip(aid, exc.reason, str(exc), figure.figure_id))
                continue
            row = records.figure_row(shared, article, figure, image)
            thumbnails[row["image_key"]] = image.thumbnail
            yield row

    def _label(self, rows: list[dict], thumbnails: dict) -> Iterator[dict]:
        from .labels import chain

        if self._labelers is None:
            from .labels import ContentLabeler, RuleLabeler, ZeroShotLabeler

            kinds = {"auto": ContentLabeler, "rules": RuleLabeler}  # (only the one named is built: each compiles its rules)
            self._labelers = [kinds[self.config.labels]()] if self.config.labels in kinds else []
            if self.config.label_model:
                self._labelers.append(ZeroShotLabeler(self.config.label_model))
        return chain(rows, *(labeler.for_thumbnails(thumbnails) for labeler in self._labelers))

    def _subfigures(self, result: ArticleResult) -> None:
        from .labels import SubfigurePanelLabeler
        from .subfigures.detector import load_detector
        from .subfigures.records import iter_subfigure_rows

        if self._detector is None:
            self._detector = load_detector(self.config.subfigure_model)

        def failed_figure(row: dict, exc: Exception) -> None:
            result.skips.append(Skip(result.article_id, SUBFIGURE_FAILED, str(exc), row["figure_id"]))

        result.subfigure_rows = list(iter_subfigure_rows(result.figure_rows, self._detector, self.subfigure_batch,
                                                         on_error=failed_figure))
        # The detector's panel count decides single / multiple for the parent figure.
        counts = {r["parent_image_key"]: r["subfigure_count"] for r in result.subfigure_rows}
        result.figure_rows = list(SubfigurePanelLabeler(counts).label(result.figure_rows))
        for row in result.figure_rows:
            validate_fields("figure", {k: row[k] for k in ("image_panel_type", "image_panel_subtype")}, row["image_key"])


def failed(package: ArticlePackage, detail: str, partial: Optional[ArticleResult] = None,
           reason: str = ARTICLE_FAILED) -> ArticleResult:
    """The result of an article the stage could not finish: no rows, one skip saying why, and
    what was counted before it failed (so the report's in-counts stay whole)."""
    result = ArticleResult(package.origin or package.package_id, package.package_id, version=package_version(package))
    if partial is not None:
        result.article_id = partial.article_id
        result.figures_in, result.images_in = partial.figures_in, partial.images_in
    result.skips.append(Skip(result.article_id, reason, detail))
    return result
