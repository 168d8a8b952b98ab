"""Draw chemistry figures the way articles show them, with their truth, for tuning only.

No real chemistry figure with an established licence could be found for the development sets
(tests/data/figures/SOURCES.md, round 8/9), so this script draws them with RDKit (a dev-only
tool: ``pip install rdkit``; nothing in pmc_hub imports it): reaction schemes of one or two
steps with reagents over the arrows, two-row schemes, grids of numbered structures, and lettered
schemes ((a), (b)...). It writes the PNGs, a COCO file in the format of
``tests/data/figures/subfigures.coco.json`` (an unlettered scheme or grid is ONE box, as the
annotation rules say; a lettered one a box per letter) and a labels file in the format of
``labels.json`` (primary *Chemical Structures*). Drawn figures tell what such figures look like;
they measure nothing about real ones.

    python scripts/make_chem_figures.py --count 120 --out /tmp/chem
"""
from __future__ import annotations

import argparse
import json
import random
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SMILES = (
    "CC(=O)Oc1ccccc1C(=O)O", "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "c1ccc2c(c1)cc[nH]2", "O=C(O)c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "COc1ccc2[nH]cc(CCN)c2c1",
    "OC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O", "C=CC(=O)OC", "O=C1CCCCC1", "Brc1ccccc1",
    "OB(O)c1ccccc1", "c1ccc(-c2ccccc2)cc1", "CC1=CC(=O)c2ccccc2C1=O", "NC(Cc1ccccc1)C(=O)O",
    "CN1CCC[C@H]1c1cccnc1", "O=C(Cl)c1ccccc1", "CCOC(=O)CC(=O)OCC", "C#Cc1ccccc1",
    "O=Cc1ccc(O)c(OC)c1", "Oc1ccc(cc1)/C=C/c1cc(O)cc(O)c1", "CC(C)(C)OC(=O)N1CCCC1C(=O)O",
    "Clc1ccc(cc1)C(c1ccccc1)N1CCNCC1", "O=C1NC(=O)C(=C1)", "c1ccc2ncccc2c1", "c1cnc2[nH]ccc2c1",
    "CC[C@H](C)[C@H](N)C(=O)O", "O=C(O)CCC(=O)O", "COC(=O)c1ccc(N)cc1", "Nc1ncnc2nc[nH]c12",
    "O=c1cc(-c2ccc(O)c(O)c2)oc2cc(O)cc(O)c12", "CC(=O)c1ccc(F)cc1", "OCc1ccco1",
    "C1CCC2(CC1)OCCO2", "CS(=O)(=O)Cl", "O=C(O)/C=C/c1ccc(O)cc1", "N#Cc1ccc(Br)cc1",
    "CC1(C)C2CCC1(C)C(=O)C2", "O=[N+]([O-])c1ccc(Cl)cc1", "Oc1ccc2ccccc2c1",
)
REAGENTS = (
    "Pd(PPh3)4, K2CO3", "THF, reflux", "NaBH4, MeOH", "DCM, rt, 2 h", "TFA", "LiAlH4, Et2O",
    "EDC, HOBt, DMF", "H2, Pd/C", "Boc2O, Et3N", "NaH, DMF, 0 °C", "m-CPBA", "K2CO3, acetone",
    "toluene, 110 °C", "AcOH, 80 °C", "DIPEA, CH2Cl2", "CuI, L-proline", "i) n-BuLi ii) CO2",
)


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _mol(smiles: str, rng: random.Random, scale: float) -> Image.Image:
    """One structure, drawn at the figure's bond length (``scale``) as a drawing program would."""
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    draw = rdMolDraw2D.MolDraw2DCairo(-1, -1)
    opts = draw.drawOptions()
    opts.fixedBondLength = 28 * scale
    opts.bondLineWidth = 1.5 * scale
    opts.padding = 0.08
    opts.useBWAtomPalette()
    opts.minFontSize = int(12 * scale)
    draw.DrawMolecule(Chem.MolFromSmiles(smiles))
    draw.FinishDrawing()
    return _trim(Image.open(BytesIO(draw.GetDrawingText())).convert("RGB"))


def _trim(img: Image.Image, pad: int = 4) -> Image.Image:
    ink = np.asarray(img.convert("L")) < 200
    ys, xs = np.nonzero(ink)
    if not len(xs):
        return img
    return img.crop((max(xs.min() - pad, 0), max(ys.min() - pad, 0), xs.max() + pad + 1, ys.max() + pad + 1))


def _arrow(width: int, height: int, text: str, rng: random.Random, scale: float) -> Image.Image:
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    y = height // 2
    lw = max(1, int(rng.choice((1, 2, 2, 3)) * scale))
    d.line((6, y, width - 8, y), fill="black", width=lw)
    d.polygon([(width - 4, y), (width - 16, y - 6), (width - 16, y + 6)], fill="black")
    font = _font(int(rng.uniform(11, 15) * scale))
    parts = text.split(", ")
    above, below = ", ".join(parts[: max(1, len(parts) // 2)]), ", ".join(parts[max(1, len(parts) // 2):])
    d.text((width // 2, y - 6), above, fill="black", font=font, anchor="md")
    if below:
        d.text((width // 2, y + 6), below, fill="black", font=font, anchor="ma")
    return img


def _row(items: list[Image.Image], gap: int) -> Image.Image:
    height = max(i.height for i in items)
    out = Image.new("RGB", (sum(i.width for i in items) + gap * (len(items) - 1), height), "white")
    x = 0
    for item in items:
        out.paste(item, (x, (height - item.height) // 2))
        x += item.width + gap
    return out


def _numbered(mol: Image.Image, number: str, rng: random.Random, scale: float) -> Image.Image:
    font = _font(int(rng.uniform(13, 18) * scale))
    out = Image.new("RGB", (mol.width, mol.height + int(24 * scale)), "white")
    out.paste(mol, (0, 0))
    ImageDraw.Draw(out).text((mol.width // 2, mol.height + 3), number, fill="black", font=font, anchor="ma")
    return out


def _scheme_row(rng: random.Random, scale: float, steps: int) -> Image.Image:
    items: list[Image.Image] = []
    number = rng.randint(1, 9)
    for step in range(steps + 1):
        mols = [_mol(s, rng, scale) for s in rng.sample(SMILES, 2 if step == 0 and rng.random() < 0.3 else 1)]
        for k, mol in enumerate(mols):
            if k:
                items.append(_plus(rng, scale))
            items.append(_numbered(mol, str(number), rng, scale) if rng.random() < 0.7 else mol)
            number += 1
        if step < steps:
            items.append(_arrow(int(rng.uniform(110, 170) * scale), int(70 * scale), rng.choice(REAGENTS), rng, scale))
    return _row(items, int(rng.uniform(4, 14) * scale))


def _plus(rng: random.Random, scale: float) -> Image.Image:
    side = int(30 * scale)
    img = Image.new("RGB", (side, side), "white")
    ImageDraw.Draw(img).text((side // 2, side // 2), "+", fill="black", font=_font(int(22 * scale)), anchor="mm")
    return img


def _grid(rng: random.Random, scale: float) -> Image.Image:
    per_row, rows = rng.choice(((3, 1), (4, 1), (3, 2), (4, 2), (5, 2)))
    names = rng.sample(SMILES, per_row * rows)
    first = rng.randint(1, 12)
    cells = [_numbered(_mol(s, rng, scale), str(first + i), rng, scale) for i, s in enumerate(names)]
    lines = [_row(cells[r * per_row:(r + 1) * per_row], int(rng.uniform(20, 50) * scale)) for r in range(rows)]
    return _stack(lines, int(rng.uniform(15, 40) * scale))


def _stack(rows: list[Image.Image], gap: int) -> Image.Image:
    width = max(r.width for r in rows)
    out = Image.new("RGB", (width, sum(r.height for r in rows) + gap * (len(rows) - 1)), "white")
    y = 0
    for r in rows:
        out.paste(r, ((width - r.width) // 2, y))
        y += r.height + gap
    return out


def _bbox(img: Image.Image, box: tuple[int, int, int, int]) -> list[int]:
    x0, y0, x1, y1 = box
    ink = np.asarray(img.convert("L").crop(box)) < 200
    ys, xs = np.nonzero(ink)
    return [int(x0 + xs.min()), int(y0 + ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def figure(rng: random.Random) -> tuple[Image.Image, list[tuple[list[int], str | None]], str]:
    """One drawn figure: the image, its boxes with letters, and its kind of scheme."""
    scale = rng.uniform(0.8, 1.4)
    kind = rng.choice(("scheme", "scheme", "two_rows", "grid", "grid", "lettered"))
    if kind == "grid":
        img = _grid(rng, scale)
        return img, [(_bbox(img, (0, 0) + img.size), None)], kind
    if kind == "scheme":
        img = _scheme_row(rng, scale, rng.choice((1, 1, 2)))
        return img, [(_bbox(img, (0, 0) + img.size), None)], kind
    rows = [_scheme_row(rng, scale, 1) for _ in range(rng.choice((2, 2, 3)))]
    if kind == "two_rows":
        img = _stack(rows, int(rng.uniform(20, 45) * scale))
        return img, [(_bbox(img, (0, 0) + img.size), None)], kind
    style = rng.choice(("({})", "{}", "{}."))
    upper = rng.random() < 0.5
    font = _font(int(rng.uniform(18, 26) * scale))
    gap, margin = int(rng.uniform(30, 60) * scale), int(36 * scale)
    width = max(r.width for r in rows) + margin
    img = Image.new("RGB", (width, sum(r.height for r in rows) + gap * (len(rows) - 1)), "white")
    d, y, boxes = ImageDraw.Draw(img), 0, []
    for i, row in enumerate(rows):
        letter = "abcd"[i].upper() if upper else "abcd"[i]
        img.paste(row, (margin, y))
        d.text((2, y + 2), style.format(letter), fill="black", font=font)
        boxes.append((_bbox(img, (0, y, width, y + row.height)), letter))
        y += row.height + gap
    return img, boxes, kind


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=120)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    images, annotations, labels = [], [], []
    for n in range(args.count):
        img, boxes, kind = figure(rng)
        name = f"chem_{n:04d}.png"
        img.save(args.out / name)
        compound = len(boxes) > 1
        images.append({"id": n + 1, "file_name": str(args.out / name), "width": img.width, "height": img.height,
                       "kind": "compound" if compound else "single", "split": "tune", "scheme": kind})
        for box, letter in boxes:
            annotations.append({"id": len(annotations) + 1, "image_id": n + 1, "category_id": 1, "bbox": box,
                                "area": box[2] * box[3], "iscrowd": 0, "label": letter})
        secondary = ["chemical structure"] if kind == "grid" else ["reaction scheme", "chemical structure"]
        labels.append({"file": str(args.out / name), "primary": "Chemical Structures", "secondary": secondary,
                       "panel_type": "multiple" if compound else "single", "caption": None,
                       "article": f"drawn-{n:04d}", "split": "tune"})
    coco = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "subfigure"}]}
    (args.out / "chem.coco.json").write_text(json.dumps(coco, indent=1))
    (args.out / "chem.labels.json").write_text(json.dumps({"version": 1, "figures": labels}, indent=1))
    print(f"{args.count} figures in {args.out}")


if __name__ == "__main__":
    main()
