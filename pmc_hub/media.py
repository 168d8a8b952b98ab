"""Figure media: find the file a <graphic> names, and inspect its bytes without re-encoding them."""
from __future__ import annotations

import hashlib
import io
import posixpath
import warnings
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import DataError
from .models import FigureImage, Graphic

# Pillow's decompression-bomb guard stays on; past this many pixels an image is refused.
MAX_PIXELS = 178_956_970
THUMBNAIL_SIZE = 112  # the RGB thumbnail the image labeler reads: longest side at most this, half of it at least
DETAIL_SIZE = 384  # the grey image the labeler's panel search reads: longest side at most this
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".gif", ".bmp", ".webp")
# The formats figures come in ("JPEG" opens multi-picture JPEGs too). Pillow reads some forty
# more, each with its own decoder, and opening EPS runs Ghostscript: untrusted bytes in any other
# format are refused unread.
IMAGE_FORMATS = ("JPEG", "PNG", "TIFF", "GIF", "BMP", "WEBP")
# Where <alternatives> offer several files, the richer format wins (PMC also ships .gif thumbnails).
_PREFERENCE = {".tif": 0, ".tiff": 0, ".png": 1, ".jpg": 2, ".jpeg": 2, ".webp": 3, ".bmp": 4, ".gif": 5}


class MediaError(DataError, ValueError):
    """An image that cannot be used; ``reason`` is a short report category."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


class MediaIndex:
    """The files of one package, indexed once by lower-cased name and base name, so resolving a
    graphic costs a few dictionary look-ups whatever the package holds (bulk packages: 50,000
    members)."""

    def __init__(self, names: Iterable[str]):
        self.by_lower = {}
        self.by_base = {}
        for name in names:
            self.by_lower.setdefault(name.lower(), name)
            self.by_base.setdefault(posixpath.basename(name).lower(), name)

    def resolve(self, graphic: Graphic) -> Optional[str]:
        """The file a graphic names: exact name, else the name plus an image extension; among
        `<alternatives>` the richer format wins. PMC hrefs usually lack the extension
        (``pone.0046493.g001`` is ``pone.0046493.g001.jpg``)."""
        candidates = []
        for href in (graphic.href, *graphic.alternates):
            base = posixpath.basename(href.replace("\\", "/")).lower()
            for key in (href.lower(), base):
                for name in (key, *(key + ext for ext in IMAGE_EXTENSIONS)):
                    found = self.by_lower.get(name) or self.by_base.get(posixpath.basename(name))
                    if found and found not in candidates:
                        candidates.append(found)
        if not candidates:
            return None
        return min(candidates, key=lambda n: _PREFERENCE.get(posixpath.splitext(n)[1].lower(), 6))


def resolve(graphic: Graphic, names: Iterable[str]) -> Optional[str]:
    """`MediaIndex.resolve` for a one-off look-up."""
    return MediaIndex(names).resolve(graphic)


@dataclass(frozen=True)
class Thumbnail:
    """What the image labeler reads of a figure, both made from the reduced decode the pHash needs
    anyway: a small RGB thumbnail for its colour and texture statistics, and a larger grey image
    for the gutters between panels, which the thumbnail loses."""

    rgb: np.ndarray  # uint8, height x width x 3, longest side `THUMBNAIL_SIZE` (half of it at least)
    grey: np.ndarray  # uint8, height x width, longest side `DETAIL_SIZE` or less


def open_image(data: bytes) -> Image.Image:
    """Untrusted image bytes opened (not yet decoded) by Pillow, in `IMAGE_FORMATS` only, with its
    decompression-bomb warning raised as an error. Raises what `Image.open` raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)


def inspect(file_name: str, data: bytes, max_pixels: int = MAX_PIXELS) -> FigureImage:
    """Format, size, sha256, pHash and the labeler's `Thumbnail` of an image; raises `MediaError`
    when it is unusable."""
    if not data:
        raise MediaError("empty image", f"{file_name} is zero bytes")
    try:
        with open_image(data) as im:
            width, height = im.size
            fmt = im.format or "UNKNOWN"
            if width * height > max_pixels:
                raise MediaError("image too large", f"{file_name} has {width}x{height} pixels (limit {max_pixels})")
            digest, thumbnail = phash_and_thumbnail(im)
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError("image too large", f"{file_name}: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError("unreadable image", f"{file_name}: {exc}") from None
    return FigureImage(file_name, data, fmt, width, height, hashlib.sha256(data).hexdigest(), digest, thumbnail)


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    return 2 * np.cos(np.pi * k * (2 * np.arange(n)[None, :] + 1) / (2 * n))


_DCT32 = _dct_matrix(32)


_WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def _grey8(im: Image.Image) -> Image.Image:
    """16/32-bit and float images (microscopy, scans) stretched to 8-bit grey: Pillow's own
    conversion clips at 255, which turns most 16-bit images white."""
    arr = np.asarray(im, dtype=np.float32)
    step = max(1, min(arr.shape[:2]) // 256)  # subsample first: the hash needs little
    arr = arr[::step, ::step]
    lo, hi = float(arr.min()), float(arr.max())
    scaled = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    return Image.fromarray(scaled.astype(np.uint8), "L")


def phash_and_thumbnail(im: Image.Image) -> tuple[str, Thumbnail]:
    """64-bit DCT perceptual hash (imagehash's phash algorithm) as 16 hex digits, and the labeler's
    `Thumbnail` (`rgb_thumbnail`, `grey_detail`), all from one decode at reduced scale."""
    reduced, colour = reduced_decode(im)
    grey = _grey(reduced)  # one conversion for the hash and, unless transparency is composited first, the grey image
    white = _on_white(reduced)
    detail = grey if white is reduced else _grey(white)
    return _phash_of_grey(grey), Thumbnail(_rgb_thumbnail_of(colour if colour is not None else white), _grey_detail_of(detail))


def reduced_decode(im: Image.Image) -> tuple[Image.Image, Optional[Image.Image]]:
    """The image decoded as small as its format allows: JPEGs at reduced scale (``draft``; the
    hash only needs 32x32 pixels), PNG/TIFF (no draft) fully, then box-reduced to a short side of
    128-255 pixels. Colour JPEGs are drafted as YCbCr, whose Y plane is exactly the grey image an
    "L" draft gives, while Cb/Cr still carry the colour. Returns the reduced image, and for palette
    images (which lose their colours on the way to grey) a reduced RGB copy."""
    if im.format == "JPEG":
        im.draft("YCbCr" if im.mode == "RGB" else im.mode, (128, 128))
    colour = im.convert("RGB") if im.mode == "P" else None
    if im.mode in _WIDE_MODES:
        im = _grey8(im)
    elif im.mode in ("1", "P", "La", "LAB"):
        im = im.convert("L")  # modes Pillow cannot box-reduce
    factor = min(im.size) // 128
    if factor > 1:  # box-reduce large images before any per-pixel work (PNG/TIFF have no draft)
        im = im.reduce(factor)
        colour = colour.reduce(factor) if colour is not None else None
    return im, colour


def phash_of(reduced: Image.Image) -> str:
    """The perceptual hash of a `reduced_decode` image."""
    return _phash_of_grey(_grey(reduced))


def _phash_of_grey(grey: Image.Image) -> str:
    small = np.asarray(grey.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    dct = _DCT32 @ small @ _DCT32.T
    low = dct[:8, :8]
    bits = (low > np.median(low)).flatten()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def rgb_thumbnail(im: Image.Image) -> np.ndarray:
    """The RGB thumbnail of a `reduced_decode` image: box-reduced by the smallest whole factor that
    brings its longest side to `THUMBNAIL_SIZE` or less (half of it at least; a whole-factor
    reduce costs a third of a resize to an exact size)."""
    return _rgb_thumbnail_of(_on_white(im))


def _rgb_thumbnail_of(opaque: Image.Image) -> np.ndarray:
    small = _reduced_to(opaque, THUMBNAIL_SIZE)
    return np.asarray(small if small.mode == "RGB" else small.convert("RGB"), dtype=np.uint8)


def grey_detail(im: Image.Image) -> np.ndarray:
    """The grey image of a `reduced_decode` image, box-reduced by the smallest whole factor that
    brings its longest side to `DETAIL_SIZE` or less. The reduced decode keeps a short side of at
    least 128 pixels, so this holds two to three times the thumbnail's pixels a side: enough for
    the few-pixel gutters between panels."""
    return _grey_detail_of(_grey(_on_white(im)))


def _grey_detail_of(grey: Image.Image) -> np.ndarray:
    return np.asarray(_reduced_to(grey, DETAIL_SIZE), dtype=np.uint8)


def _grey(im: Image.Image) -> Image.Image:
    """``im`` in mode "L": itself when it is (``convert`` would copy it; nothing here writes to it)."""
    return im if im.mode == "L" else im.convert("L")


def _on_white(im: Image.Image) -> Image.Image:
    """Transparent pixels show the page: white."""
    if "A" not in im.mode:
        return im
    return Image.alpha_composite(Image.new("RGBA", im.size, "white"), im.convert("RGBA"))


def _reduced_to(im: Image.Image, size: int) -> Image.Image:
    factor = -(-max(im.size) // size)
    return im.reduce(factor) if factor > 1 else im


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex perceptual hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
