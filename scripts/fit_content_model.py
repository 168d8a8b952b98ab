#!/usr/bin/env python
"""Fit the content labeler's parameters on the tuning part of the development set and write
``pmc_hub/labels/content_model.json`` (docs/taxonomy.md: "How the labeler was fitted").

    python scripts/fit_content_model.py [--labels tests/data/figures/labels.json] [--out PATH]

1. The image model (`pmc_hub.labels.image.ImageModel`): three logistic regressions over a few
   thumbnail statistics each: photograph-like or graphic; which graphic kind; which
   photograph-like kind. Each L2 strength is chosen by leave-one-article-out accuracy on the
   tuning figures.
2. The caption/image combination weights (`image_weight`, `caption_weight`, `cue_weight`), by grid search on the
   tuning figures, each scored with image probabilities from models fitted without its article
   (so the weights are not chosen on images the model has seen).
3. The score calibration: a logistic fit of "the label is right" on the winner's probability,
   on the same out-of-article decisions.
The held-out figures (``split: holdout``) are never used here; scripts/eval_labels.py reports them.
Needs scipy (the ``ml`` extra).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pmc_hub.labels import RuleLabeler, load_taxonomy  # noqa: E402
from pmc_hub.labels.content import PRIMARY_KINDS, ContentLabeler  # noqa: E402
from pmc_hub.labels.evaluate import figure_rows, load_labelled  # noqa: E402
from pmc_hub.labels.image import (FEATURES, GRAPHIC, MODEL_FILE, PHOTOGRAPHIC, ImageModel, Logistic,  # noqa: E402
                                  image_features)

L2_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)
IMAGE_WEIGHTS = (0.25, 0.5, 0.75, 1.0)
# An image-only label estimated more likely wrong than right is not written (it is also where the
# tuning figures' precision peaks: 0.878 at 88% coverage; 0.863 writing every label).
MIN_IMAGE_SCORE = 0.5
CAPTION_WEIGHTS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
CUE_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)
# The statistics each step reads (image.FEATURES explains them).
GATE_FEATURES = ("ink", "white", "black", "top8", "soft", "grey_levels", "colours", "vivid", "texture", "photo_area")
GRAPHIC_FEATURES = ("texture", "white", "grey", "bands", "full_rules", "h_rules", "v_rules", "log_height", "log_width",
                    "aspect", "top8", "colourful", "axes", "diagonal", "row_bands", "ink")
PHOTOGRAPHIC_FEATURES = ("colourful", "grey", "dark_border", "hue_red", "hue_blue")
# Too few photograph-like figures of each kind to choose by held-out accuracy: a fixed, firm L2.
PHOTOGRAPHIC_L2 = 3.0
STEPS = {"gate": (GATE_FEATURES, ("graphic", "photographic")), "graphic": (GRAPHIC_FEATURES, GRAPHIC),
         "photographic": (PHOTOGRAPHIC_FEATURES, PHOTOGRAPHIC)}


def fit_logistic(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], classes: tuple[str, ...], l2: float) -> Logistic:
    """Softmax regression on standardised features ``names`` of ``x``, L2 penalty ``l2`` (L-BFGS)."""
    x = x[:, [FEATURES.index(f) for f in names]]
    kinds = len(classes)
    n, d = x.shape
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    onehot = np.eye(kinds)[y]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:kinds * d].reshape(kinds, d), theta[kinds * d:]
        logits = z @ w.T + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.log(p[np.arange(n), y] + 1e-12).mean() + l2 * (w ** 2).sum() / (2 * n)
        g = (p - onehot) / n
        return value, np.concatenate([(g.T @ z + l2 * w / n).ravel(), g.sum(axis=0)])

    theta = minimize(loss, np.zeros(kinds * d + kinds), jac=True, method="L-BFGS-B", options={"maxiter": 5000}).x
    return Logistic.from_dict({"features": names, "classes": classes, "mean": mean, "scale": scale,
                               "weights": theta[:kinds * d].reshape(kinds, d), "bias": theta[kinds * d:]})


def step_data(step: str, kinds: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Which figures a step learns from, and their class index in that step."""
    classes = STEPS[step][1]
    if step == "gate":
        return np.ones(len(kinds), bool), np.array([int(k in PHOTOGRAPHIC) for k in kinds])
    mask = np.array([k in classes for k in kinds])
    return mask, np.array([classes.index(k) if k in classes else -1 for k in kinds])


def fit_model(x: np.ndarray, kinds: list[str], mask: np.ndarray, l2: dict[str, float]) -> ImageModel:
    steps = {}
    for step, (names, classes) in STEPS.items():
        use, y = step_data(step, kinds)
        use = use & mask
        steps[step] = fit_logistic(x[use], y[use], names, classes, l2[step])
    return ImageModel(**steps)


def out_of_article(x: np.ndarray, kinds: list[str], articles: list[str], l2: dict[str, float]) -> list[dict]:
    """P(kind) for every figure from a model fitted on the other articles."""
    probs: list[dict] = [{} for _ in kinds]
    for article in sorted(set(articles)):
        test = np.array([a == article for a in articles])
        model = fit_model(x, kinds, ~test, l2)
        for i in np.flatnonzero(test):
            probs[i] = model.probabilities(x[i])
    return probs


def choose_l2(x: np.ndarray, kinds: list[str], articles: list[str]) -> dict[str, float]:
    """Per step, the L2 strength with the best leave-one-article-out accuracy of that step."""
    chosen = {"photographic": PHOTOGRAPHIC_L2}
    for step, (names, classes) in STEPS.items():
        if step in chosen:
            continue
        use, y = step_data(step, kinds)
        scores = {}
        for l2 in L2_GRID:
            right = []
            for article in sorted(set(a for a, u in zip(articles, use) if u)):
                test = np.array([a == article for a in articles]) & use
                train = use & ~test
                if len(set(y[train])) < 2:
                    continue
                model = fit_logistic(x[train], y[train], names, classes, l2)
                right += [int(np.argmax(model.probabilities(x[i]))) == y[i] for i in np.flatnonzero(test)]
            scores[l2] = float(np.mean(right))
        chosen[step] = max(L2_GRID, key=lambda v: (scores[v], -v))  # ties: the weakest penalty
        print(f"{step}: leave-one-article-out accuracy by L2 {scores} -> {chosen[step]}")
    return chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", type=Path, default=ROOT / "tests/data/figures/labels.json")
    ap.add_argument("--out", type=Path, default=MODEL_FILE)
    args = ap.parse_args()

    figures = [f for f in load_labelled(args.labels) if f.split == "tune"]
    rows, thumbs = figure_rows(figures, ROOT)
    x = np.array([image_features(thumbs[r["image_key"]], r["image_size"]["width"], r["image_size"]["height"])
                  for r in rows])
    kinds = [PRIMARY_KINDS[f.primary][0] for f in figures]
    articles = [f.article for f in figures]

    l2 = choose_l2(x, kinds, articles)
    held_out_probs = out_of_article(x, kinds, articles, l2)
    print("image kind accuracy, leave one article out:",
          round(float(np.mean([max(p, key=p.get) == k for p, k in zip(held_out_probs, kinds)])), 3))
    image = fit_model(x, kinds, np.ones(len(kinds), bool), l2)

    taxonomy = load_taxonomy()
    rules = RuleLabeler(taxonomy)
    evidence = [rules.evidence(r) for r in rows]

    def decisions(weights: tuple[float, float, float]) -> list[tuple[str, float, str]]:
        labeler = ContentLabeler(taxonomy, rules=rules, model={
            "image": image, "image_weight": weights[0], "caption_weight": weights[1], "cue_weight": weights[2],
            "calibration": [1, 0], "min_image_score": 0.0})
        return [labeler.decide(ev, p) for ev, p in zip(evidence, held_out_probs)]

    grid = {(iw, cw, cue): np.mean([d[0] == f.primary for d, f in zip(decisions((iw, cw, cue)), figures)])
            for iw in IMAGE_WEIGHTS for cw in CAPTION_WEIGHTS for cue in CUE_WEIGHTS}
    # ties: the weights closest to the middle of the grid
    weights = max(grid, key=lambda k: (grid[k], -abs(k[0] - 0.5) - abs(k[1] - 2.0) - abs(k[2] - 1.0)))
    print(f"image_weight {weights[0]}, caption_weight {weights[1]}, cue_weight {weights[2]}: tuning accuracy "
          f"{grid[weights]:.3f} (out-of-article image probabilities)")

    chosen = decisions(weights)
    p = np.array([d[1] for d in chosen])
    right = np.array([d[0] == f.primary for d, f in zip(chosen, figures)], dtype=float)

    def platt(theta: np.ndarray) -> float:
        q = 1 / (1 + np.exp(-(theta[0] * p + theta[1])))
        return -(right * np.log(q + 1e-9) + (1 - right) * np.log(1 - q + 1e-9)).mean() + 1e-3 * theta[0] ** 2

    a, b = minimize(platt, np.array([1.0, 0.0]), method="Nelder-Mead").x
    print(f"calibration: P(right) = sigmoid({a:.3f} * p + {b:.3f})")

    model = {"fitted_on": f"{len(figures)} tuning figures of {args.labels.name} (split: tune)",
             "image_weight": weights[0], "caption_weight": weights[1], "cue_weight": weights[2],
             "calibration": [round(float(a), 4), round(float(b), 4)], "min_image_score": MIN_IMAGE_SCORE,
             "image": image.to_dict()}
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
