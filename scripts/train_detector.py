#!/usr/bin/env python
"""Train a subfigure detector (DAB-DETR by default) on synthetic compound figures.

Toy run on the CPU (minutes):
    python scripts/train_detector.py --synthetic 8 --steps 2 --tiny --out /tmp/det
Full scale (GPU; Open-PMC-18M used 500k synthetic figures):
    python scripts/make_compound_figures.py --count 500000 --out data/compound --panels single_panels/
    python scripts/train_detector.py --data data/compound --init IDEA-Research/dab-detr-resnet-50 \
        --steps 200000 --batch-size 32 --lr 1e-4 --eval-count 2000 --out models/subfig-dab-detr
The output folder loads with `pmc_hub.subfigures.detector.TransformerDetector(out)` (or
`pmc-hub build --subfigures --subfigure-model out`), and holds eval.json: the ImageCLEF accuracy,
precision/recall and AP of the trained model on held-out synthetic figures.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from pmc_hub import torchvision_fix
from pmc_hub.subfigures import metrics
from pmc_hub.subfigures.boxes import Box
from pmc_hub.subfigures.detector import DetectorSettings, TransformerDetector
from pmc_hub.subfigures.synthetic import make_figure

torchvision_fix.install()  # transformers' image processors import torchvision

LABELS = {"id2label": {0: "subfigure"}, "label2id": {"subfigure": 0}}


def tiny_config():
    """A DAB-DETR small enough to train on a laptop CPU (for tests and smoke runs)."""
    from transformers import DabDetrConfig, ResNetConfig

    backbone = ResNetConfig(embedding_size=16, hidden_sizes=[16, 32, 32, 64], depths=[1, 1, 1, 1], out_features=["stage4"])
    return DabDetrConfig(backbone_config=backbone, num_queries=30, encoder_layers=1, decoder_layers=1,
                         encoder_ffn_dim=64, decoder_ffn_dim=64, hidden_size=32, encoder_attention_heads=2,
                         decoder_attention_heads=2, num_labels=1, **LABELS)


def base_config():
    """DAB-DETR ResNet-50 architecture with a randomly initialised backbone (no download)."""
    from transformers import DabDetrConfig, ResNetConfig

    return DabDetrConfig(backbone_config=ResNetConfig(out_features=["stage4"]), num_queries=100, num_labels=1, **LABELS)


def build_model(args):
    from transformers import AutoImageProcessor, AutoModelForObjectDetection, ConditionalDetrImageProcessor, DabDetrForObjectDetection

    size = {"shortest_edge": args.short_edge, "longest_edge": args.long_edge}
    if args.init:
        model = AutoModelForObjectDetection.from_pretrained(args.init, num_labels=1, ignore_mismatched_sizes=True, **LABELS)
        processor = AutoImageProcessor.from_pretrained(args.init, size=size)
    else:
        model = DabDetrForObjectDetection(tiny_config() if args.tiny else base_config())
        processor = ConditionalDetrImageProcessor(size=size)
    return model, processor


def training_examples(args):
    """(PIL image, boxes) pairs: from a COCO folder (make_compound_figures.py) or generated."""
    if args.data:
        root = Path(args.data)
        coco = json.loads((root / "annotations.json").read_text(encoding="utf-8"))
        boxes: dict[int, list[Box]] = {im["id"]: [] for im in coco["images"]}
        for a in coco["annotations"]:
            boxes[a["image_id"]].append(Box.from_xywh(a["bbox"]))
        items = [(root / im["file_name"], boxes[im["id"]]) for im in coco["images"]]
        return lambda i: (Image.open(items[i % len(items)][0]).convert("RGB"), items[i % len(items)][1]), len(items)
    return lambda i: (lambda f: (f.image, f.boxes))(make_figure(args.seed, i % args.synthetic)), args.synthetic


def coco_target(image_id: int, boxes: list[Box]) -> dict:
    return {"image_id": image_id, "annotations": [
        {"bbox": b.to_xywh(), "category_id": 0, "area": b.area, "iscrowd": 0} for b in boxes]}


def train(args) -> Path:
    torch.manual_seed(args.seed)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model, processor = build_model(args)
    model.to(device).train()
    backbone = [p for n, p in model.named_parameters() if "backbone" in n]
    rest = [p for n, p in model.named_parameters() if "backbone" not in n]
    optim = torch.optim.AdamW([{"params": rest}, {"params": backbone, "lr": args.lr * 0.1}], lr=args.lr, weight_decay=1e-4)
    example, count = training_examples(args)
    order = list(range(count))
    rng = random.Random(args.seed)
    start = time.time()
    for step in range(args.steps):
        if step % max(1, count // args.batch_size) == 0:
            rng.shuffle(order)
        idx = [order[(step * args.batch_size + k) % count] for k in range(args.batch_size)]
        pairs = [example(i) for i in idx]
        enc = processor(images=[im for im, _ in pairs], annotations=[coco_target(i, b) for i, (_, b) in zip(idx, pairs)], return_tensors="pt")
        labels = [{k: v.to(device) for k, v in lab.items()} for lab in enc.pop("labels")]
        out = model(**{k: v.to(device) for k, v in enc.items()}, labels=labels)
        optim.zero_grad()
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optim.step()
        if step % args.log_every == 0 or step == args.steps - 1:
            print(f"step {step + 1}/{args.steps} loss {out.loss.item():.4f} ({time.time() - start:.0f}s)", flush=True)
    out_dir = Path(args.out)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return out_dir


def evaluate(model_dir: Path, args) -> metrics.SubfigureScores:
    """ImageCLEF accuracy etc. of the saved model on held-out synthetic figures (another seed)."""
    detector = TransformerDetector(str(model_dir), DetectorSettings(device=args.device, batch_size=args.batch_size))
    figs = [make_figure(args.seed + 1, i) for i in range(args.eval_count)]
    preds = detector.detect([f.image for f in figs])
    return metrics.score(preds, [f.boxes for f in figs])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="folder written by make_compound_figures.py (images/ + annotations.json)")
    src.add_argument("--synthetic", type=int, help="generate this many training figures on the fly")
    p.add_argument("--init", help="model folder or Hub id to fine-tune (default: new DAB-DETR)")
    p.add_argument("--tiny", action="store_true", help="a tiny DAB-DETR (smoke tests)")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--short-edge", type=int, default=512)
    p.add_argument("--long-edge", type=int, default=800)
    p.add_argument("--eval-count", type=int, default=200, help="held-out synthetic figures to score (0: skip)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--log-every", type=int, default=50)
    args = p.parse_args(argv)
    model_dir = train(args)
    if args.eval_count:
        scores = evaluate(model_dir, args)
        (model_dir / "eval.json").write_text(json.dumps(scores.to_dict(), indent=1), encoding="utf-8")
        print(json.dumps(scores.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
