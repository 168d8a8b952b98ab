"""`Article` + `FigureImage` -> rows of the figure and article schemas (plain dicts)."""
from __future__ import annotations

import re
from typing import Optional

from . import jats
from .licenses import LicenseDecision, classify
from .text import clean_text
from .models import Article, ArticlePackage, Figure, FigureImage

LABEL_FIELDS = (
    "image_label_id", "image_cluster_id", "image_panel_type", "image_panel_subtype",
    "image_primary_label", "image_secondary_label", "image_label_source", "image_label_score",
)


_PACKAGE_PMCID = re.compile(r"(PMC\d{1,12})(?:\.\d+)?", re.I)


def package_pmcid(package_id: str) -> Optional[str]:
    """The PMC id of a package PMC named (``PMC123`` for ``PMC123.2`` or ``PMC123``), else None."""
    m = _PACKAGE_PMCID.fullmatch(package_id or "")
    return m.group(1).upper() if m else None


def accession_id(article: Article, package: ArticlePackage) -> str:
    """The article's id. A package named by PMC (``PMC123.2/``, ``PMC123.tar.gz``) is that
    article whatever its files claim, so a metadata record naming another article cannot take its
    place; then the JATS PMCID, a well-formed metadata PMCID, and last the package's own name."""
    named = package_pmcid(package.package_id)
    if named:
        return named
    return article.pmcid or _metadata_id(package, "pmcid", jats.valid_pmcid) or clean_text(package.package_id)


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
        "article_pmid": article.pmid or _metadata_id(package, "pmid", jats.valid_pmid),
        "article_doi": article.doi or _metadata_id(package, "doi", jats.valid_doi),
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


def _metadata_id(package: ArticlePackage, field: str, valid) -> Optional[str]:
    """An id from the package's metadata JSON (untrusted), only when it is well formed (the same
    rules as the JATS ids); an int PMID counts, junk does not."""
    value = (package.metadata or {}).get(field)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return valid(clean_text(str(value)))


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
