"""`Article` + `FigureImage` -> rows of the figure and article schemas (plain dicts)."""
from __future__ import annotations

from typing import Optional

from . import jats
from .licenses import LicenseDecision, classify
from .models import Article, ArticlePackage, Figure, FigureImage

LABEL_FIELDS = (
    "image_label_id", "image_cluster_id", "image_panel_type", "image_panel_subtype",
    "image_primary_label", "image_secondary_label", "image_label_source", "image_label_score",
)


def accession_id(article: Article, package: ArticlePackage) -> str:
    """PMCID when the article has one, else the package's own id."""
    return article.pmcid or (package.metadata.get("pmcid") if package.metadata else None) or package.package_id


def license_of(article: Article, package: ArticlePackage) -> LicenseDecision:
    """All the article's license signals, plus PMC Cloud's `license_code`; most restrictive wins."""
    code = package.metadata.get("license_code") if package.metadata else None
    statements = [(s.license_type, s.url, s.text) for s in article.licenses]
    return classify(code=code, extra=statements)


def article_fields(article: Article, package: ArticlePackage, lic: LicenseDecision) -> dict:
    """The article-level fields shared by figure rows and the article row."""
    refs = article.references
    return {
        "article_accession_id": accession_id(article, package),
        "article_pmid": article.pmid or _str(package.metadata.get("pmid")),
        "article_doi": article.doi or _str(package.metadata.get("doi")),
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


def _str(value) -> Optional[str]:
    return str(value) if value not in (None, "") else None


def figure_row(shared: dict, article: Article, figure: Figure, image: FigureImage) -> dict:
    row = {
        "image": {"bytes": image.data, "path": image.file_name},
        "caption": figure.caption,
        "image_key": f"{shared['article_accession_id']}/{figure.figure_id}/{image.file_name}",
        "image_file_name": image.file_name,
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
