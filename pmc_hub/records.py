"""`Article` + `FigureImage` -> rows of the figure and article schemas (plain dicts)."""
from __future__ import annotations

import re
from typing import Optional

from . import jats
from .licenses import LicenseDecision, classify
from .models import Article, ArticlePackage, Figure, FigureImage

LABEL_FIELDS = (
    "image_label_id", "image_cluster_id", "image_panel_type", "image_panel_subtype",
    "image_primary_label", "image_secondary_label", "image_label_source", "image_label_score",
)


_PACKAGE_PMCID = re.compile(r"(PMC\d{1,12})(?:\.\d+)?", re.I)
_PMCID = re.compile(r"PMC\d{1,12}")


def clean_text(value: str) -> str:
    """Text any writer can store: lone surrogates (bad bytes in a file name, a broken JSON escape)
    and other code points UTF-8 cannot encode become U+FFFD."""
    return value.encode("utf-8", "replace").decode("utf-8") if isinstance(value, str) else value


def accession_id(article: Article, package: ArticlePackage) -> str:
    """The article's id. A package named by PMC (``PMC123.2/``, ``PMC123.tar.gz``) is that
    article whatever its files claim, so a metadata record naming another article cannot take its
    place; then the JATS PMCID, a well-formed metadata PMCID, and last the package's own name."""
    named = _PACKAGE_PMCID.fullmatch(package.package_id or "")
    if named:
        return named.group(1).upper()
    meta = str((package.metadata or {}).get("pmcid") or "").strip().upper()
    return article.pmcid or (meta if _PMCID.fullmatch(meta) else None) or clean_text(package.package_id)


def license_of(article: Article, package: ArticlePackage) -> LicenseDecision:
    """All the article's license signals, plus PMC Cloud's `license_code`; most restrictive wins
    (a `license_code` that is not text counts as an unknown license: `other`)."""
    code = package.metadata.get("license_code") if package.metadata else None
    if code is not None and not isinstance(code, str):
        code = "(not a license code)"
    statements = [(s.license_type, s.url, s.text) for s in article.licenses]
    return classify(code=code, extra=statements)


def article_fields(article: Article, package: ArticlePackage, lic: LicenseDecision) -> dict:
    """The article-level fields shared by figure rows and the article row."""
    refs = article.references
    return {
        "article_accession_id": accession_id(article, package),
        "article_pmid": article.pmid or _matching(package.metadata.get("pmid"), _PMID),
        "article_doi": article.doi or _matching(package.metadata.get("doi"), _DOI),
        "article_title": article.title,
        "article_journal": article.journal,
        "article_date": article.date,
        "article_abstract": article.abstract,
        "article_mesh_terms": None,
        "article_keywords": article.keywords,
        "article_subject": article.subjects,
        "article_reference_ids": [r.pmid for r in refs if r.pmid],
        "article_reference_count": len(refs),
        "article_reference_list": [{"ref_id": r.ref_id, "text": r.text, "pmid": r.pmid, "doi": r.doi} for r in refs],
        "article_citation": jats.citation(article),
        "article_license": lic.raw,
        "license_url": lic.url,
        "license_category": lic.category,
    }


_PMID = re.compile(r"\d{1,12}")
_DOI = re.compile(r"10\.\d{2,9}/[^\s\x00-\x1f\ud800-\udfff]{1,500}")


def _matching(value, pattern: re.Pattern) -> Optional[str]:
    """A metadata id (untrusted JSON) only when it is well formed: an int PMID counts, junk does not."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    return text if pattern.fullmatch(text) else None


def figure_row(shared: dict, article: Article, figure: Figure, image: FigureImage) -> dict:
    file_name = clean_text(image.file_name)
    row = {
        "image": {"bytes": image.data, "path": file_name},
        "caption": figure.caption,
        "image_key": f"{shared['article_accession_id']}/{figure.figure_id}/{file_name}",
        "image_file_name": file_name,
        "image_hash": image.sha256,
        "image_phash": image.phash,
        "image_format": image.format,
        "image_size": {"width": image.width, "height": image.height},
        **dict.fromkeys(LABEL_FIELDS),
        "image_set": [f.figure_id for f in article.figures],
        "image_context": list(figure.contexts),
        "figure_id": figure.figure_id,
        "figure_label": figure.label,
        **shared,  # the same objects in every row of the article: validated once (build.process_package)
    }
    return row


def article_row(shared: dict, article: Article) -> dict:
    return {
        "article_accession_id": shared["article_accession_id"],
        "article_pmid": shared["article_pmid"],
        "article_doi": shared["article_doi"],
        "article_title": article.title,
        "article_journal": article.journal,
        "article_issn": article.issn,
        "article_publisher": article.publisher,
        "article_date": article.date,
        "article_type": article.article_type,
        "article_subject": article.subjects,
        "article_keywords": article.keywords,
        "article_authors": article.authors,
        "article_abstract": article.abstract,
        "article_citation": shared["article_citation"],
        "article_license": shared["article_license"],
        "license_url": shared["license_url"],
        "license_category": shared["license_category"],
        "article_mesh_terms": shared["article_mesh_terms"],
        "article_reference_ids": shared["article_reference_ids"],
        "article_reference_count": shared["article_reference_count"],
        "article_text": article.text,
        "figure_count": len(article.figures),
    }
