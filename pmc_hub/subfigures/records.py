"""Figure rows -> subfigure rows (schemas/subfigure.schema.json).

`subfigure_rows(figure_row, detector)` crops each detected panel from the parent image's
decoded pixels into a lossless PNG, pairs it with its subcaption, and copies the parent's
article and license fields. `iter_subfigure_rows` does the same for a stream of figure rows,
running the detector on batches (one model call per batch on a GPU).
"""
from __future__ import annotations

import hashlib
import io
from itertools import islice
from typing import Iterable, Iterator, Sequence

from PIL import Image

from ..errors import DataError
from ..media import open_image
from ..schema import load_schema, validate
from .align import Alignment, align
from .boxes import Box, Detector
from .subcaptions import split_caption

# Modes a PNG stores as they are; anything else (CMYK, YCbCr, LAB, F...) is converted to RGB.
_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"}


class SubfigureError(DataError, ValueError):
    """A figure row whose subfigures cannot be made (names the image key and the reason)."""


def _parent_fields() -> list[str]:
    """The fields a subfigure row copies from its figure row: those both schemas define
    identically (article metadata, license, figure id/label)."""
    sub, fig = load_schema("subfigure")["properties"], load_schema("figure")["properties"]
    return [k for k in sub if k in fig and sub[k] == fig[k]]


def decode(figure_row: dict) -> Image.Image:
    """The parent figure's pixels (first frame), as stored: no EXIF rotation."""
    key = figure_row.get("image_key", "?")
    try:
        data = figure_row["image"]["bytes"]
        image = open_image(data)
        image.load()
    except (KeyError, TypeError) as e:
        raise SubfigureError(f"{key}: figure row has no image bytes") from e
    except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise SubfigureError(f"{key}: cannot decode image: {e}") from e
    return image


def crop_png(image: Image.Image, box: tuple[int, int, int, int]) -> bytes:
    """Lossless PNG of ``image`` inside ``box`` (x0, y0, x1, y1)."""
    piece = image.crop(box)
    if piece.mode not in _PNG_MODES:
        piece = piece.convert("RGBA" if "A" in piece.getbands() else "RGB")
    buf = io.BytesIO()
    piece.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def subfigure_rows(figure_row: dict, detector: Detector) -> Iterator[dict]:
    """The subfigure rows of one figure row, in reading order (validated); the detector is
    given the row's caption."""
    image = decode(figure_row)
    yield from _rows(figure_row, image, detector.detect([image], [figure_row.get("caption")])[0], detector.name)


def iter_subfigure_rows(figure_rows: Iterable[dict], detector: Detector, batch_size: int = 16,
                        on_error=None) -> Iterator[dict]:
    """Subfigure rows of a stream of figure rows, detecting ``batch_size`` figures at a time,
    each with its row's caption (the panels it names guide the split).

    A figure that cannot be decoded raises `SubfigureError`, or, with ``on_error``, is passed
    to ``on_error(figure_row, error)`` and skipped (the build reports it).
    """
    rows = iter(figure_rows)
    while batch := list(islice(rows, batch_size)):
        decoded: list[tuple[dict, Image.Image]] = []
        for row in batch:
            try:
                decoded.append((row, decode(row)))
            except SubfigureError as e:
                if on_error is None:
                    raise
                on_error(row, e)
        found = detector.detect([im for _, im in decoded], [row.get("caption") for row, _ in decoded]) if decoded else []
        for (row, image), boxes in zip(decoded, found):
            yield from _rows(row, image, boxes, detector.name)


def _rows(figure_row: dict, image: Image.Image, boxes: Sequence[Box], detector_name: str) -> Iterator[dict]:
    key = figure_row["image_key"]
    if not boxes:
        raise SubfigureError(f"{key}: detector {detector_name} returned no box (it must return the whole figure)")
    caption = figure_row["caption"]
    parent = {k: figure_row[k] for k in _parent_fields()}
    alignments = align(boxes, split_caption(caption))
    for a in alignments:
        yield validate("subfigure", _row(key, image, a, len(alignments), caption, detector_name, parent), f"{key}/{a.index}")


def _row(key: str, image: Image.Image, a: Alignment, count: int, caption: str, detector_name: str, parent: dict) -> dict:
    x0, y0, x1, y1 = a.box.to_pixels(image.width, image.height)
    png = crop_png(image, (x0, y0, x1, y1))
    return {
        "image": {"bytes": png, "path": f"{key.replace('/', '_')}_{a.index}.png"},
        "subcaption": a.subcaption,
        "caption": caption,
        "subfigure_key": f"{key}/{a.index}",
        "parent_image_key": key,
        "subfigure_index": a.index,
        "subfigure_count": count,
        "subfigure_box": [x0, y0, x1, y1],
        "subfigure_score": float(min(1.0, max(0.0, a.box.score))),
        "subfigure_detector": detector_name,
        "subfigure_label": a.label,
        "alignment_method": a.method,
        "alignment_confidence": float(a.confidence),
        "image_hash": hashlib.sha256(png).hexdigest(),
        "image_format": "PNG",
        "image_size": {"width": x1 - x0, "height": y1 - y0},
        **parent,
    }
