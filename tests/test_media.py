"""Media resolution and image inspection on real sample images and crafted bad ones."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import jpeg_bytes
from pmc_hub import media
from pmc_hub.models import Graphic
from pmc_hub.resources import sample_dir


def test_resolve_with_and_without_extension():
    names = ["pone.0046493.g001.jpg", "pone.0046493.g001.gif", "fig1.jpg", "ehp-116-1694f1.JPG", "sub/g003.png"]
    index = media.MediaIndex(names)
    assert index.resolve(Graphic("pone.0046493.g001")) == "pone.0046493.g001.jpg"  # .gif thumbnail loses
    assert index.resolve(Graphic("fig1.jpg")) == "fig1.jpg"
    assert index.resolve(Graphic("ehp-116-1694f1")) == "ehp-116-1694f1.JPG"
    assert index.resolve(Graphic("g003.png")) == "sub/g003.png"
    assert index.resolve(Graphic("g9.gif", alternates=["fig1.jpg"])) == "fig1.jpg"
    assert index.resolve(Graphic("missing")) is None


@pytest.mark.parametrize("rel, fmt", [
    ("elife-30274-v1/fig1.jpg", "JPEG"), ("plosone-0091296/g001.png", "PNG"), ("ijm-00202/ijm-00202-fig001.tif", "TIFF"),
])
def test_inspect_real_images_keeps_bytes(rel, fmt):
    data = (sample_dir() / rel).read_bytes()
    img = media.inspect(rel.split("/")[-1], data)
    assert img.data is data  # never re-encoded
    assert img.format == fmt
    with Image.open(io.BytesIO(data)) as im:
        assert (img.width, img.height) == im.size
    assert len(img.sha256) == 64 and len(img.phash) == 16


def test_phash_matches_imagehash_and_survives_reencoding():
    imagehash = pytest.importorskip("imagehash")
    data = (sample_dir() / "elife-46472-v3/fig1.jpg").read_bytes()
    ours = media.inspect("fig1.jpg", data).phash
    with Image.open(io.BytesIO(data)) as im:
        reference = str(imagehash.phash(im))
        buf = io.BytesIO()
        im.convert("RGB").resize((im.width // 2, im.height // 2)).save(buf, "JPEG", quality=60)
    assert media.hamming(ours, reference) <= 6  # JPEG draft decoding differs slightly from a full decode
    assert media.hamming(ours, media.inspect("small.jpg", buf.getvalue()).phash) <= 8
    other = media.inspect("other.jpg", (sample_dir() / "elife-46472-v3/fig5.jpg").read_bytes()).phash
    assert media.hamming(ours, other) > 16


def test_bad_images_are_refused_with_a_reason():
    with pytest.raises(media.MediaError) as e:
        media.inspect("empty.jpg", b"")
    assert e.value.reason == "empty image"
    with pytest.raises(media.MediaError) as e:
        media.inspect("junk.jpg", b"this is not an image at all")
    assert e.value.reason == "unreadable image"
    truncated = jpeg_bytes(1)[:300]
    with pytest.raises(media.MediaError) as e:
        media.inspect("truncated.jpg", truncated)
    assert e.value.reason == "unreadable image"


@pytest.mark.parametrize("fmt", ["PPM", "PCX", "TGA", "ICO"])
def test_images_in_formats_figures_do_not_come_in_are_refused_unread(fmt):
    """Pillow reads these; a figure named .png that is one of them is a skip, and so is PostScript
    (which Pillow would hand to Ghostscript), while the same picture as a PNG is inspected."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buf, fmt)
    with pytest.raises(media.MediaError) as e:
        media.inspect("fig1.png", buf.getvalue())
    assert e.value.reason == "unreadable image"
    with pytest.raises(media.MediaError) as e:
        media.inspect("fig1.jpg", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 48\nshowpage\n")
    assert e.value.reason == "unreadable image"
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buf, "PNG")
    assert media.inspect("fig1.png", buf.getvalue()).format == "PNG"


def test_decompression_bomb_guard():
    buf = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buf, "PNG")  # 144 Mpx in a tiny file
    with pytest.raises(media.MediaError) as e:
        media.inspect("bomb.png", buf.getvalue(), max_pixels=50_000_000)
    assert e.value.reason == "image too large"


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "LA", "I", "I;16", "CMYK"])
def test_every_common_image_mode_is_hashed(mode):
    """A real figure stored in each mode hashes like the same figure in RGB (imagehash's pHash of it)."""
    imagehash = pytest.importorskip("imagehash")
    with Image.open(sample_dir() / "elife-46472-v3/fig1.jpg") as src:
        rgb = src.convert("RGB").resize((900, 600))
    im = rgb.convert("I").point(lambda v: v * 256).convert("I;16") if mode == "I;16" else rgb.convert(mode)
    buf = io.BytesIO()
    fmt = "TIFF" if mode in ("I;16", "CMYK", "I") else "PNG"
    im.save(buf, fmt)
    img = media.inspect(f"x.{fmt.lower()}", buf.getvalue())
    assert (img.width, img.height) == (900, 600)
    reference = str(imagehash.phash(rgb))
    assert media.hamming(img.phash, reference) <= (12 if mode == "1" else 6), mode  # 1-bit: dithering


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "P", "I;16", "CMYK"])
@pytest.mark.parametrize("size", [(40, 700), (300, 300), (900, 600)])
def test_one_pass_gives_what_each_part_gives(mode, size):
    """`phash_and_thumbnail` shares one grey conversion between the hash and the grey image (and
    composites transparency once): the same hash, thumbnail and grey image as each function alone,
    pixel for pixel, in every mode the reduced decode branches on."""
    with Image.open(sample_dir() / "elife-46472-v3/fig1.jpg") as src:
        rgba = src.convert("RGBA").resize(size)
    rgba.putalpha(Image.linear_gradient("L").resize(size))  # partly transparent
    im = rgba.convert("I").point(lambda v: v * 256).convert("I;16") if mode == "I;16" else rgba.convert(mode)
    buf = io.BytesIO()
    im.save(buf, "TIFF" if mode in ("I;16", "CMYK") else "PNG")
    phash, thumb = media.phash_and_thumbnail(media.open_image(buf.getvalue()))
    reduced, colour = media.reduced_decode(media.open_image(buf.getvalue()))
    assert phash == media.phash_of(reduced)
    assert np.array_equal(thumb.rgb, media.rgb_thumbnail(colour if colour is not None else reduced))
    assert np.array_equal(thumb.grey, media.grey_detail(reduced))
    assert thumb.rgb.dtype == thumb.grey.dtype == np.uint8 and thumb.rgb.ndim == 3 and thumb.grey.ndim == 2
