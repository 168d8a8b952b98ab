"""Schema-valid figure rows built from the real sample images, for tests that need rows without a
full build (or images that no article holds: re-encoded copies). Hashes come from pmc_hub.media."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from pmc_hub.media import inspect
from pmc_hub.resources import sample_dir
from pmc_hub.schema import validate


def sample_images() -> list[Path]:
    """Every figure image of the bundled sample articles (JPEG, PNG, TIFF)."""
    return sorted(p for p in sample_dir().glob("*/*") if p.suffix in (".jpg", ".png", ".tif"))


def figure_row(data: bytes, *, article: str, figure_id: str, file_name: str, caption: str = "a figure",
               license_category: str = "commercial", **fields) -> dict:
    img = inspect(file_name, data)
    row = {
        "image": {"bytes": data, "path": file_name},
        "caption": caption,
        "image_key": f"{article}/{figure_id}/{file_name}",
        "image_file_name": file_name,
        "image_hash": img.sha256,
        "image_phash": img.phash,
        "image_format": img.format,
        "image_size": {"width": img.width, "height": img.height},
        "image_label_id": None, "image_cluster_id": None, "image_panel_type": None,
        "image_panel_subtype": None, "image_primary_label": None, "image_secondary_label": None,
        "image_label_source": None, "image_label_score": None,
        "image_set": [figure_id], "image_context": [],
        "figure_id": figure_id, "figure_label": None,
        "article_accession_id": article, "article_pmid": None, "article_doi": None,
        "article_title": None, "article_journal": None, "article_date": None, "article_abstract": None,
        "article_mesh_terms": None, "article_keywords": [], "article_subject": [],
        "article_reference_ids": [], "article_reference_count": 0, "article_reference_list": [],
        "article_citation": None, "article_license": "CC BY", "license_url": None,
        "license_category": license_category,
    }
    row.update(fields)
    return validate("figure", row, row["image_key"])


def sample_rows() -> list[dict]:
    """One row per sample image; article = the sample folder, figure id = the file stem."""
    return [figure_row(p.read_bytes(), article=p.parent.name, figure_id=p.stem, file_name=p.name,
                       caption=f"Figure {p.stem} of {p.parent.name}.")
            for p in sample_images()]


def reencode(data: bytes, fmt: str, scale: float = 1.0, quality: int = 75) -> bytes:
    img = Image.open(io.BytesIO(data))
    img = img.convert("RGB")
    if scale != 1.0:
        img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))), Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buf.getvalue()
