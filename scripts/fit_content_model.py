#!/usr/bin/env python
"""Fit the content labeler's parameters on the tuning part of the development set and write
``pmc_hub/labels/content_model.json`` (docs/taxonomy.md: "How the labeler was fitted").

    python scripts/make_chem_figures.py --count 160 --out /tmp/chem      # RDKit, dev-only
    python scripts/fit_content_model.py --drawn /tmp/chem/chem.labels.json [--labels tests/data/figures/labels.json] [--out PATH]

Figures are split into `FOLDS` groups of whole articles (crc32 order), so no estimate is made on
an article the fit has seen:
1. The image model (`pmc_hub.labels.image.ImageModel`): five logistic regressions over the
   image statistics: photograph-like or graphic; which graphic (a drawing, a table, an
   equation); a drawing of chemical structures or not (from the directions of its edges only;
   learnt from the drawn figures of ``--drawn`` against the real charts and diagrams, the drawn
   ones counting together as `DRAWN_SHARE` of them: no real chemistry figure with an established
   licence was found for the tuning part); chart or diagram (a drawing's kind, without the
   image's size); which photograph-like kind. Each L2 strength is chosen by the grouped
   cross-validated accuracy of its step. The drawn figures teach the structure step only and are
   never scored.
2. The combination (`pmc_hub.labels.content.COMBINATION`): a conditional logit over the candidate
   classes of each figure, fitted on image probabilities from models that had not seen the
   figure's article.
3. The score calibration: a logistic fit of "the label is right" on the winner's probability
   (one slope, an offset per `image.CALIBRATION_KEYS`: caption and image agreeing, caption alone,
   image alone beside a caption, image alone with no caption), on decisions made by combinations
   fitted without the figure's article.
4. ``min_image_score``: on the same decisions, the score below which an image-only label is not
   written: the highest that still labels `MIN_COVERAGE` of the captioned figures (the build
   writes captioned figures only), and never below 0.5 (more likely wrong than right).
The held-out figures (``split: holdout``) are never used here; scripts/eval_labels.py reports them.
Needs scipy (the ``ml`` extra).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import zlib
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pmc_hub.labels import RuleLabeler, load_taxonomy  # noqa: E402
from pmc_hub.labels.content import COMBINATION, PRIMARY_KINDS, ContentLabeler, calibration_key  # noqa: E402
from pmc_hub.labels.evaluate import figure_rows, load_labelled  # noqa: E402
from pmc_hub.labels.image import (CALIBRATION_KEYS, DRAWING, FEATURES, MODEL_FILE, PHOTOGRAPHIC,  # noqa: E402
                                  STEPS, ImageModel, Logistic, image_features)

FOLDS = 10
L2_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)
COMBINATION_L2 = 1.0
MIN_COVERAGE = 0.95
# The statistics each step of `image.STEPS` reads (image.FEATURES explains them). Chart or diagram
# reads the graphic step's less the image's size: with the round-5 figures the size told the
# diagrams of one source (large scans of 2007 trees) from the rest, not diagrams from charts.
STEP_FEATURES = {
    "gate": ("white", "soft", "top8", "photo_area"),
    "graphic": ("grey", "bands", "full_rules", "log_height", "log_width", "aspect", "texture", "white"),
    "structure": ("bond_edges", "axis_edges", "edges"),
    "drawing": ("grey", "bands", "full_rules", "aspect", "texture", "white"),
    "photographic": ("colourful", "grey", "dark_border"),
}
# Too few photograph-like figures of each kind to choose by held-out accuracy: a fixed, firm L2.
PHOTOGRAPHIC_L2 = 3.0
# The drawn chemistry figures' share of the structure step's figures (`step_weight`).
DRAWN_SHARE = 0.02


def fit_logistic(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], classes: tuple[str, ...], l2: float,
                 weight: np.ndarray | None = None) -> Logistic:
    """Softmax regression on standardised features ``names`` of ``x``, L2 penalty ``l2`` (L-BFGS),
    each figure counted ``weight`` times (default once)."""
    x = x[:, [FEATURES.index(f) for f in names]]
    kinds = len(classes)
    n, d = x.shape
    weight = np.ones(n) if weight is None else weight * n / weight.sum()
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    onehot = np.eye(kinds)[y]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:kinds * d].reshape(kinds, d), theta[kinds * d:]
        logits = z @ w.T + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        value = -(weight * np.log(p[np.arange(n), y] + 1e-12)).mean() + l2 * (w ** 2).sum() / (2 * n)
        g = weight[:, None] * (p - onehot) / n
        return value, np.concatenate([(g.T @ z + l2 * w / n).ravel(), g.sum(axis=0)])

    theta = minimize(loss, np.zeros(kinds * d + kinds), jac=True, method="L-BFGS-B", options={"maxiter": 5000}).x
    return Logistic.from_dict({"features": names, "classes": classes, "mean": mean, "scale": scale,
                               "weights": theta[:kinds * d].reshape(kinds, d), "bias": theta[kinds * d:]})


def folds_of(articles: list[str]) -> np.ndarray:
    """Each figure's fold: whole articles, dealt out in crc32 order."""
    order = sorted(set(articles), key=lambda a: (zlib.crc32(a.encode()), a))
    fold = {a: i % FOLDS for i, a in enumerate(order)}
    return np.array([fold[a] for a in articles])


def features_of(rows: list[dict], thumbs: dict) -> np.ndarray:
    """The `image.FEATURES` of figure rows, from their thumbnails."""
    return np.array([image_features(thumbs[r["image_key"]].rgb, thumbs[r["image_key"]].grey,
                                    r["image_size"]["width"], r["image_size"]["height"]) for r in rows]).reshape(-1, len(FEATURES))


def step_data(step: str, kinds: list[str], drawn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which figures a step learns from, and their class index in that step. Drawn figures teach
    the structure step only: in everything but their strokes they are one generator's output."""
    classes = STEPS[step]
    real = ~drawn
    if step == "gate":
        return real, np.array([int(k in PHOTOGRAPHIC) for k in kinds])
    if step == "structure":
        return np.array([k in DRAWING or k == "structure" for k in kinds]), np.array([int(k != "structure") for k in kinds])
    if step == "graphic":  # charts, diagrams and structure drawings are its drawings
        kinds = ["drawing" if k in DRAWING or k == "structure" else k for k in kinds]
    mask = np.array([k in classes for k in kinds]) & real
    return mask, np.array([classes.index(k) if k in classes else -1 for k in kinds])


def step_weight(step: str, use: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """Each figure's weight in a step (as long as ``use``): 1, except that the structure step
    counts the drawn figures together as `DRAWN_SHARE` of its figures: how many are drawn is up
    to the generator, not how common such figures are."""
    weight = np.ones(len(use))
    if step == "structure" and (drawn & use).any():
        n_drawn, n_real = np.count_nonzero(drawn & use), np.count_nonzero(~drawn & use)
        weight[drawn] = DRAWN_SHARE / (1 - DRAWN_SHARE) * n_real / n_drawn
    return weight


def fit_image_model(x: np.ndarray, kinds: list[str], mask: np.ndarray, l2: dict[str, float],
                    drawn: np.ndarray) -> ImageModel:
    steps = {}
    for step, classes in STEPS.items():
        use, y = step_data(step, kinds, drawn)
        use = use & mask
        steps[step] = fit_logistic(x[use], y[use], STEP_FEATURES[step], classes, l2[step], step_weight(step, use, drawn)[use])
    return ImageModel(**steps)


def choose_l2(x: np.ndarray, kinds: list[str], folds: np.ndarray, drawn: np.ndarray) -> dict[str, float]:
    """Per step, the L2 strength with the best cross-validated accuracy of that step (the
    structure step: weighted as it is fitted)."""
    chosen = {"photographic": PHOTOGRAPHIC_L2}
    for step, classes in STEPS.items():
        if step in chosen:
            continue
        names = STEP_FEATURES[step]
        use, y = step_data(step, kinds, drawn)
        weight = step_weight(step, use, drawn)
        scores = {}
        for l2 in L2_GRID:
            right, total = 0.0, 0.0
            for fold in range(FOLDS):
                test, train = use & (folds == fold), use & (folds != fold)
                if not test.any() or len(set(y[train])) < 2:
                    continue
                model = fit_logistic(x[train], y[train], names, classes, l2, weight[train])
                hits = np.array([int(np.argmax(model.probabilities(x[i]))) == y[i] for i in np.flatnonzero(test)])
                right += float(weight[test] @ hits)
                total += float(weight[test].sum())
            scores[l2] = right / total
        chosen[step] = max(L2_GRID, key=lambda v: (scores[v], -v))  # ties: the weakest penalty
        print(f"{step}: cross-validated accuracy by L2 {({k: round(v, 3) for k, v in scores.items()})} -> {chosen[step]}")
    return chosen


def fit_combination(candidates: list[dict[str, tuple]], truth: list[str]) -> np.ndarray:
    """Conditional-logit weights over `COMBINATION` (the true class among each figure's candidates)."""
    items = [(np.array(list(c.values())), list(c).index(t)) for c, t in zip(candidates, truth) if t in c]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = 0.0, np.zeros_like(w)
        for inputs, right in items:
            s = inputs @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            value -= math.log(p[right] + 1e-12)
            grad -= inputs[right] - p @ inputs
        n = len(items)
        return value / n + COMBINATION_L2 * (w @ w) / (2 * n), grad / n + COMBINATION_L2 * w / n

    return minimize(loss, np.zeros(len(COMBINATION)), jac=True, method="L-BFGS-B").x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", type=Path, default=ROOT / "tests/data/figures/labels.json")
    ap.add_argument("--out", type=Path, default=MODEL_FILE)
    ap.add_argument("--drawn", type=Path, help="the labels file of drawn chemistry figures (scripts/make_chem_figures.py), "
                    "for the image model only")
    args = ap.parse_args()

    figures = [f for f in load_labelled(args.labels) if f.split == "tune"]
    rows, thumbs = figure_rows(figures, ROOT)
    x = features_of(rows, thumbs)
    kinds = [PRIMARY_KINDS[f.primary][0] for f in figures]
    truth = [f.primary for f in figures]
    folds = folds_of([f.article for f in figures])
    # drawn figures teach the image model what a structure drawing looks like; they are never
    # scored, and their folds are their own (each fold's model has seen 9 of 10 of them)
    drawn = load_labelled(args.drawn) if args.drawn else []
    drawn_rows, drawn_thumbs = figure_rows(drawn, ROOT)
    x_all = np.vstack([x, features_of(drawn_rows, drawn_thumbs)]) if drawn else x
    kinds_all = kinds + [PRIMARY_KINDS[f.primary][0] for f in drawn]
    folds_all = np.concatenate([folds, folds_of([f.article for f in drawn])]) if drawn else folds
    real = np.arange(len(kinds_all)) < len(figures)

    # 1. the image model, and P(kind) of every figure from a model that had not seen its article
    l2 = choose_l2(x_all, kinds_all, folds_all, ~real)
    held_out_probs: list[dict] = [{} for _ in kinds_all]
    for fold in range(FOLDS):
        model = fit_image_model(x_all, kinds_all, folds_all != fold, l2, ~real)
        for i in np.flatnonzero(folds_all == fold):
            held_out_probs[i] = model.probabilities(x_all[i])
    top = [max(p, key=p.get) for p in held_out_probs]
    print("image kind accuracy, cross-validated:",
          round(float(np.mean([t == k for t, k, r in zip(top, kinds_all, real) if r])), 3))
    if drawn:
        print(f"drawn figures taken for structure drawings, cross-validated: "
              f"{sum(t == 'structure' for t, r in zip(top, real) if not r)} of {len(drawn)}; "
              f"real tuning figures taken for one: {sum(t == 'structure' for t, r in zip(top, real) if r)} of {len(figures)}")
    held_out_probs = held_out_probs[:len(figures)]
    image = fit_image_model(x_all, kinds_all, np.ones(len(kinds_all), bool), l2, ~real)

    # 2. the combination, on those probabilities; its decisions on articles it had not seen
    taxonomy = load_taxonomy()
    rules = RuleLabeler(taxonomy)
    evidence = [rules.evidence(r, context=False) for r in rows]

    def labeler(weights: np.ndarray) -> ContentLabeler:
        return ContentLabeler(taxonomy, rules=rules, model={
            "image": image, "weights": dict(zip(COMBINATION, weights.tolist())),
            "calibration": {"slope": 1.0, **dict.fromkeys(CALIBRATION_KEYS, 0.0)},
            "min_image_score": 0.0})

    candidates = [labeler(np.zeros(len(COMBINATION))).candidates(ev, p) for ev, p in zip(evidence, held_out_probs)]
    weights = fit_combination(candidates, truth)
    print("combination weights:", {k: round(float(v), 3) for k, v in zip(COMBINATION, weights)})
    decisions: list[tuple] = [()] * len(figures)
    for fold in range(FOLDS):
        train = np.flatnonzero(folds != fold)
        fold_labeler = labeler(fit_combination([candidates[i] for i in train], [truth[i] for i in train]))
        for i in np.flatnonzero(folds == fold):
            decisions[i] = fold_labeler.decide(evidence[i], held_out_probs[i])

    # 3. calibration of the winner's probability on those decisions, an offset per calibration key
    captioned = np.array([bool((f.caption or "").strip()) for f in figures])
    p = np.array([d[1] for d in decisions])
    right = np.array([d[0] == t for d, t in zip(decisions, truth)], dtype=float)
    source = np.array([[calibration_key(d[2], c) == k for k in CALIBRATION_KEYS] for d, c in zip(decisions, captioned)],
                      dtype=float)

    def logistic_loss(theta: np.ndarray) -> float:
        q = 1 / (1 + np.exp(-(theta[0] * p + source @ theta[1:])))
        return -(right * np.log(q + 1e-9) + (1 - right) * np.log(1 - q + 1e-9)).mean() + 1e-3 * (theta ** 2).sum()

    theta = minimize(logistic_loss, np.zeros(1 + len(CALIBRATION_KEYS)), method="Nelder-Mead",
                     options={"maxiter": 4000}).x
    calibration = {"slope": round(float(theta[0]), 4),
                   **{k: round(float(v), 4) for k, v in zip(CALIBRATION_KEYS, theta[1:])}}
    score = 1 / (1 + np.exp(-(theta[0] * p + source @ theta[1:])))
    print(f"calibration: P(right) = sigmoid(slope * p + offset[key]): {calibration}")
    for k in CALIBRATION_KEYS:
        m = source[:, CALIBRATION_KEYS.index(k)] == 1
        print(f"  {k}: {int(m.sum())} decisions, {right[m].mean():.3f} right, mean score {score[m].mean():.3f}")

    # 4. the image-only floor
    image_only = np.array([d[2] == "image" for d in decisions])

    def written(floor: float) -> np.ndarray:
        return ~image_only | (score >= floor)

    for t in (0.5, 0.6, 0.7, 0.8):
        keep = written(t)
        print(f"  floor {t}: captioned figures precision {right[keep & captioned].mean():.3f} coverage "
              f"{keep[captioned].mean():.3f}; all figures precision {right[keep].mean():.3f} coverage {keep.mean():.3f}")
    floors = [t for t in np.arange(0.5, 0.96, 0.01) if written(t)[captioned].mean() >= MIN_COVERAGE]
    floor = round(float(max(floors)), 2) if floors else 0.5
    keep = written(floor)
    estimate = {"precision": round(float(right[keep].mean()), 3), "coverage": round(float(keep.mean()), 3),
                "captioned_precision": round(float(right[keep & captioned].mean()), 3),
                "captioned_coverage": round(float(keep[captioned].mean()), 3),
                "mean_score": round(float(score[keep].mean()), 3)}
    print(f"min_image_score {floor}; cross-validated on the tuning figures: {estimate}")

    model = {"fitted_on": f"{len(figures)} tuning figures of {args.labels.name} (split: tune)"
                          + (f", and {len(drawn)} drawn chemistry figures for the image model" if drawn else ""),
             "cross_validated": estimate,
             "weights": {k: round(float(v), 4) for k, v in zip(COMBINATION, weights)},
             "calibration": calibration, "min_image_score": floor,
             "image": image.to_dict()}
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
