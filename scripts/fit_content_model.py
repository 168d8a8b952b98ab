#!/usr/bin/env python
"""Fit the content labeler's parameters on the development set and write
``pmc_hub/labels/content_model.json`` (docs/taxonomy.md: "How the labeler was fitted", "Round 10").

    python scripts/make_chem_figures.py --count 160 --out /tmp/chem      # RDKit, dev-only
    python scripts/fit_content_model.py --drawn /tmp/chem/chem.labels.json [--labels FILE ...] [--out PATH]
    python scripts/fit_content_model.py --drawn /tmp/chem/chem.labels.json --by-source [--image-alone] [--json out.json]   # measure only

Every figure of the development set (`pmc_hub.labels.evaluate.DEVELOPMENT_FILES`: labels.json and
the worn second fresh set, labels.fresh2.json; never an unseen set, `evaluate.UNSEEN_FILES`) is fitted on (``--part
tune``: the tuning part only, as before round 10). Every estimate is made on figures of a source the
fit had not seen: each source (the labels file's ``source``: the publisher, or a collection with a
style of its own) is a fold (``--folds article``: whole articles dealt into `FOLDS` folds, as before round 10):
1. The image model (`pmc_hub.labels.image.ImageModel`): five logistic regressions over the
   image statistics: photograph-like or graphic; which graphic (a drawing, a table, an
   equation); a drawing of chemical structures or not (from the directions of its edges only;
   learnt from the drawn figures of ``--drawn`` against the real charts and diagrams, the drawn
   ones counting together as `DRAWN_SHARE` of them); chart or diagram (a drawing's kind, without
   the image's size); which photograph-like kind. Each L2 strength is chosen by the grouped
   cross-validated log loss of its step. The drawn figures teach the structure step only and are
   never scored.
2. The combination (`pmc_hub.labels.content.COMBINATION`): a conditional logit over the candidate
   classes of each figure, fitted on image probabilities from models that had not seen the
   figure's fold.
3. The image fallback (`image_fallback`): where an image-only decision beside a caption is unsure,
   the class that was right more often there, on decisions of combinations fitted without the
   figure's fold.
4. The score calibration: a logistic fit of "the label is right" on the winner's probability
   (one slope, an offset per `image.CALIBRATION_KEYS`: caption and image agreeing, caption alone,
   image alone beside a caption, image alone with no caption), on those decisions.
5. ``min_image_score``: on the same decisions, the score below which an image-only label is not
   written: the highest that still labels `MIN_COVERAGE` of the captioned figures (the build
   writes captioned figures only), and never below 0.5 (more likely wrong than right).
``--by-source`` measures all of this as a new source would meet it: each source left out in turn,
everything above fitted on the others, the source's figures labelled as a build would (with
``--image-alone``: from the image alone, captions removed and no floor).
Needs scipy (the ``ml`` extra).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

# One BLAS thread: the fit's matrices are small (hundreds of figures by a few statistics), so BLAS
# threads only wait on each other, and on a shared machine they spin (round 15, two by-source runs
# side by side on a busy 2-core machine: 2 of 25 sources in 6.5 minutes with OpenBLAS's threads,
# all 25 in about 4 with one). Set before numpy loads BLAS; a caller's setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pmc_hub.labels import RuleLabeler, load_taxonomy  # noqa: E402
from pmc_hub.labels.content import COMBINATION, PRIMARY_KINDS, ContentLabeler, calibration_key  # noqa: E402
from pmc_hub.errors import UsageError  # noqa: E402
from pmc_hub.labels.evaluate import (Evaluation, LabelledFigure, check_fittable, development_paths,  # noqa: E402
                                     figure_rows, load_labelled)
from pmc_hub.labels.image import (CALIBRATION_KEYS, DRAWING, FEATURES, MODEL_FILE, PHOTOGRAPHIC,  # noqa: E402
                                  STEPS, ImageModel, Logistic, image_features)

FOLDS = 10
L2_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
COMBINATION_L2 = 1.0
MIN_COVERAGE = 0.95
# The statistics each step of `image.STEPS` reads (image.FEATURES explains them). Chart or diagram
# reads the graphic step's less the image's size: with the round-5 figures the size told the
# diagrams of one source (large scans of 2007 trees) from the rest, not diagrams from charts.
# Which photograph-like kind reads grey mid-tones, flat colours and texture (round 20: with a left-out
# source's figures as the test, 56% of the 75 photograph-like figures right against 25% for the
# colour, grey and dark-border statistics it read before, log loss 1.03 against 1.26-1.39).
STEP_FEATURES = {
    "gate": ("white", "soft", "top8", "photo_area"),
    "graphic": ("grey", "bands", "full_rules", "log_height", "log_width", "aspect", "texture", "white"),
    "structure": ("bond_edges", "axis_edges", "edges"),
    "drawing": ("grey", "bands", "full_rules", "aspect", "texture", "white"),
    "photographic": ("grey", "top8", "texture"),
}
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


def folds_of(articles: list[str], k: int = FOLDS) -> np.ndarray:
    """Each figure's fold of ``k``: whole articles, dealt out in crc32 order."""
    order = sorted(set(articles), key=lambda a: (zlib.crc32(a.encode()), a))
    fold = {a: i % k for i, a in enumerate(order)}
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


def choose_l2(x: np.ndarray, kinds: list[str], folds: np.ndarray, drawn: np.ndarray, train: np.ndarray,
              fold_ids: list[int], say=print) -> dict[str, float]:
    """Per step, the L2 strength with the best cross-validated log loss of that step on the figures
    ``train`` (the structure step: weighted as it is fitted). Log loss, not accuracy: the steps'
    probabilities are what the combination and the calibration read, and with folds by source a
    step whose statistics do not carry over is best left near its prior."""
    chosen = {}
    for step, classes in STEPS.items():
        names = STEP_FEATURES[step]
        use, y = step_data(step, kinds, drawn)
        use = use & train
        weight = step_weight(step, use, drawn)
        scores = {}
        for l2 in L2_GRID:
            loss, total = 0.0, 0.0
            for fold in fold_ids:
                test, fit_on = use & (folds == fold), use & (folds != fold)
                if not test.any() or len(set(y[fit_on])) < 2:
                    continue
                model = fit_logistic(x[fit_on], y[fit_on], names, classes, l2, weight[fit_on])
                weights, bias = model.affine()
                logits = x[test] @ weights.T + bias
                logits -= logits.max(axis=1, keepdims=True)
                log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
                loss -= float(weight[test] @ log_p[np.arange(len(log_p)), y[test]])
                total += float(weight[test].sum())
            scores[l2] = loss / total if total else 0.0
        chosen[step] = min(L2_GRID, key=lambda v: (scores[v], v))  # ties: the weaker penalty
        say(f"{step}: cross-validated log loss by L2 {({k: round(v, 3) for k, v in scores.items()})} -> {chosen[step]}")
    return chosen


def fit_combination(candidates: list[dict[str, tuple]], truth: list[str]) -> np.ndarray:
    """Conditional-logit weights over `COMBINATION` (the true class among each figure's candidates).
    The figures' candidate lists are padded into one array (padding masked out), so each step of
    the optimiser is a few array operations, not a loop over figures."""
    items = [(c, list(c).index(t)) for c, t in zip(candidates, truth) if t in c]
    n, width = len(items), max((len(c) for c, _ in items), default=1)
    inputs = np.zeros((n, width, len(COMBINATION)))
    padding = np.ones((n, width), dtype=bool)
    for row, (c, _) in enumerate(items):
        inputs[row, :len(c)] = list(c.values())
        padding[row, :len(c)] = False
    right = inputs[np.arange(n), [r for _, r in items]]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = np.where(padding, -np.inf, inputs @ w)
        s_max = s.max(axis=1, keepdims=True)
        p = np.exp(s - s_max)
        total = p.sum(axis=1, keepdims=True)
        p /= total
        log_right = right @ w - s_max[:, 0] - np.log(total[:, 0])
        value = -np.log(np.exp(log_right) + 1e-12).sum()
        grad = -(right - np.einsum("nc,ncd->nd", p, inputs)).sum(axis=0)
        return value / n + COMBINATION_L2 * (w @ w) / (2 * n), grad / n + COMBINATION_L2 * w / n

    return minimize(loss, np.zeros(len(COMBINATION)), jac=True, method="L-BFGS-B").x


@dataclass
class DevData:
    """Everything a fit reads, computed once: the real labelled figures (their rows, thumbnails,
    caption evidence, truth, source) and the image statistics of the real and the drawn figures
    (real first)."""

    figures: list[LabelledFigure]
    rows: list[dict]
    thumbs: dict
    evidence: list
    x: np.ndarray  # real and drawn figures
    kinds: list[str]  # the image kind of each, real and drawn
    drawn: np.ndarray  # bool, real and drawn
    drawn_articles: list[str]

    @property
    def truth(self) -> list[str]:
        return [f.primary for f in self.figures]

    @property
    def sources(self) -> list[str]:
        """The real figures' sources."""
        return [f.source for f in self.figures]

    @property
    def captioned(self) -> np.ndarray:
        return np.array([bool((f.caption or "").strip()) for f in self.figures])


def load_data(labels: list[Path], part: str, drawn_labels: Optional[Path], rules: RuleLabeler) -> DevData:
    figures = [f for f in load_labelled(*labels) if part == "all" or f.split == part]
    rows, thumbs = figure_rows(figures, ROOT)
    # drawn figures teach the image model what a structure drawing looks like; they are never scored
    drawn = load_labelled(drawn_labels) if drawn_labels else []
    drawn_rows, drawn_thumbs = figure_rows(drawn, ROOT)
    x = np.vstack([features_of(rows, thumbs), features_of(drawn_rows, drawn_thumbs)])
    kinds = [PRIMARY_KINDS[f.primary][0] for f in figures + drawn]
    return DevData(figures, rows, thumbs, [rules.evidence(r, context=False) for r in rows], x, kinds,
                   np.arange(len(kinds)) >= len(figures), [f.article for f in drawn])


def folds_for(data: DevData, by: str) -> np.ndarray:
    """Each figure's fold, real and drawn: ``by`` "article" deals whole articles into `FOLDS` folds
    (crc32 order), "source" makes each source (`LabelledFigure.source`) a fold of its own. Drawn
    figures are dealt round the same folds (each fold's model has seen most of them)."""
    if by == "source":
        names = sorted(set(data.sources))
        real = np.array([names.index(s) for s in data.sources])
    else:
        real = folds_of([f.article for f in data.figures])
    k = int(real.max()) + 1
    return np.concatenate([real, folds_of(data.drawn_articles, k)]) if data.drawn_articles else real


def fit_labeler(data: DevData, train: np.ndarray, folds: np.ndarray, rules: RuleLabeler,
                taxonomy, verbose: bool = True) -> dict:
    """The content model fitted on the real figures ``train`` (a mask over real and drawn figures;
    drawn ones are always used), every estimate made on a fold (``folds``) the fit had not seen.
    Returns the model dict `ContentLabeler` takes (the image model as an `ImageModel`)."""
    say = print if verbose else (lambda *a, **k: None)
    real = ~data.drawn
    use = train | data.drawn
    x, kinds = data.x, data.kinds
    fold_ids = sorted(set(folds[train & real].tolist()))

    # 1. the image model, and P(kind) of every training figure from a model that had not seen its fold
    l2 = choose_l2(x, kinds, folds, data.drawn, use, fold_ids, say)
    probs: list[dict] = [{} for _ in kinds]
    for fold in fold_ids:
        model = fit_image_model(x, kinds, use & (folds != fold), l2, data.drawn)
        for i in np.flatnonzero(train & (folds == fold)):
            probs[i] = model.probabilities(x[i])
    index = np.flatnonzero(train & real)
    top = [max(probs[i], key=probs[i].get) for i in index]
    say("image kind accuracy, cross-validated:", round(float(np.mean([t == kinds[i] for t, i in zip(top, index)])), 3))
    image = fit_image_model(x, kinds, use, l2, data.drawn)

    # 2. the combination, on those probabilities; its decisions on folds it had not seen
    truth = data.truth

    def labeler(weights: np.ndarray, fallback: Optional[dict] = None) -> ContentLabeler:
        return ContentLabeler(taxonomy, rules=rules, model={
            "image": image, "weights": dict(zip(COMBINATION, weights.tolist())),
            "calibration": {"slope": 1.0, **dict.fromkeys(CALIBRATION_KEYS, 0.0)},
            "min_image_score": 0.0, "image_fallback": fallback})

    blank = labeler(np.zeros(len(COMBINATION)))
    candidates = {i: blank.candidates(data.evidence[i], probs[i]) for i in index}
    weights = fit_combination([candidates[i] for i in index], [truth[i] for i in index])
    say("combination weights:", {k: round(float(v), 3) for k, v in zip(COMBINATION, weights)})
    fold_weights = {fold: fit_combination([candidates[i] for i in index if folds[i] != fold],
                                          [truth[i] for i in index if folds[i] != fold]) for fold in fold_ids}

    def decisions_with(fallback: Optional[dict]) -> dict[int, tuple]:
        """Each training figure's decision by the combination fitted without its fold."""
        out = {}
        for fold in fold_ids:
            fold_labeler = labeler(fold_weights[fold], fallback)
            for i in index[folds[index] == fold]:
                out[i] = fold_labeler.decide(data.evidence[i], probs[i], captioned=bool(data.captioned[i]))
        return out

    decisions = decisions_with(None)
    fallback = image_fallback(decisions, truth, data.captioned, say)
    if fallback is not None:
        decisions = decisions_with(fallback)

    # 3. calibration of the winner's probability on those decisions, an offset per calibration key
    captioned = data.captioned[index]
    chosen = [decisions[i] for i in index]
    p = np.array([d[1] for d in chosen])
    right = np.array([d[0] == truth[i] for d, i in zip(chosen, index)], dtype=float)
    source = np.array([[calibration_key(d[2], c) == k for k in CALIBRATION_KEYS] for d, c in zip(chosen, captioned)],
                      dtype=float)

    def logistic_loss(theta: np.ndarray) -> float:
        q = 1 / (1 + np.exp(-(theta[0] * p + source @ theta[1:])))
        return -(right * np.log(q + 1e-9) + (1 - right) * np.log(1 - q + 1e-9)).mean() + 1e-3 * (theta ** 2).sum()

    theta = minimize(logistic_loss, np.zeros(1 + len(CALIBRATION_KEYS)), method="Nelder-Mead",
                     options={"maxiter": 4000}).x
    calibration = {"slope": round(float(theta[0]), 4),
                   **{k: round(float(v), 4) for k, v in zip(CALIBRATION_KEYS, theta[1:])}}
    score = 1 / (1 + np.exp(-(theta[0] * p + source @ theta[1:])))
    say(f"calibration: P(right) = sigmoid(slope * p + offset[key]): {calibration}")
    for k in CALIBRATION_KEYS:
        m = source[:, CALIBRATION_KEYS.index(k)] == 1
        if m.any():
            say(f"  {k}: {int(m.sum())} decisions, {right[m].mean():.3f} right, mean score {score[m].mean():.3f}")

    # 4. the image-only floor
    image_only = np.array([d[2] == "image" for d in chosen])

    def written(floor: float) -> np.ndarray:
        return ~image_only | (score >= floor)

    floors = [t for t in np.arange(0.5, 0.96, 0.01) if written(t)[captioned].mean() >= MIN_COVERAGE]
    floor = round(float(max(floors)), 2) if floors else 0.5
    keep = written(floor)
    estimate = {"precision": round(float(right[keep].mean()), 3), "coverage": round(float(keep.mean()), 3),
                "captioned_precision": round(float(right[keep & captioned].mean()), 3),
                "captioned_coverage": round(float(keep[captioned].mean()), 3),
                "mean_score": round(float(score[keep].mean()), 3)}
    say(f"min_image_score {floor}; cross-validated on the fitted figures: {estimate}")
    return {"cross_validated": estimate, "weights": {k: round(float(v), 4) for k, v in zip(COMBINATION, weights)},
            "calibration": calibration, "min_image_score": floor, "image_fallback": fallback, "image": image}


def image_fallback(decisions: dict[int, tuple], truth: list[str], captioned: np.ndarray, say=print) -> Optional[dict]:
    """Where an image-only decision beside a caption is unsure, the class it is better replaced
    with: the commonest true class of those decisions (out-of-fold), below the winner's probability
    ("below") that makes the most of them right; None where replacing none does as well."""
    image_only = [i for i, d in decisions.items() if d[2] == "image" and captioned[i]]
    if not image_only:
        return None
    common = max(sorted({truth[i] for i in image_only}), key=lambda c: sum(truth[i] == c for i in image_only))
    other = sorted((i for i in image_only if decisions[i][0] != common), key=lambda i: decisions[i][1])
    # replacing the k least sure: right = the replaced that are `common` + the kept that were right
    gains = np.cumsum([0] + [int(truth[i] == common) - int(decisions[i][0] == truth[i]) for i in other])
    k = int(np.argmax(gains))  # ties: the fewest replaced
    own = sum(decisions[i][0] == truth[i] for i in other)
    say(f"image-only decisions beside a caption: {len(image_only)}; of the {len(other)} not {common!r}, {own} right "
        f"as decided; replacing the {k} least sure makes {int(gains[k])} more right")
    if k == 0:
        return None
    below = decisions[other[k - 1]][1] if k == len(other) else (decisions[other[k - 1]][1] + decisions[other[k]][1]) / 2
    return {"class": common, "below": round(float(below) + (1e-6 if k == len(other) else 0.0), 6)}


def measure_by_source(data: DevData, rules: RuleLabeler, taxonomy, inner: str, image_alone: bool = False) -> dict:
    """Leave one source out: for each source, the whole labeler (image model, combination,
    calibration, floor) fitted on the other sources (its own estimates on folds ``inner`` of
    those), then the held-out source's figures labelled as a build would, or with ``image_alone``
    as the image alone would label them (captions removed, no floor: every decision of the image
    model, `scripts/eval_labels.py`'s image-only column out of source). Precision, coverage and
    panel type overall, on the captioned figures, per label source and per class."""
    folds = folds_for(data, inner)
    out_rows: list[Optional[dict]] = [None] * len(data.figures)
    real_n = len(data.figures)
    for source in sorted(set(data.sources)):
        held = np.array([s == source for s in data.sources] + [False] * int(data.drawn.sum()))
        train = ~held & ~data.drawn
        model = fit_labeler(data, train, folds, rules, taxonomy, verbose=False)
        if image_alone:
            model = dict(model, min_image_score=0.0)
        labeler = ContentLabeler(taxonomy, rules=rules, model=model).for_thumbnails(data.thumbs)
        index = np.flatnonzero(held[:real_n])
        rows = [dict(data.rows[i], caption="") if image_alone else data.rows[i] for i in index]
        for i, row in zip(index, labeler.label(rows)):
            out_rows[i] = row
        got = [out_rows[i].get("image_primary_label") for i in index]
        print(f"  {source}: {len(index)} figures, {sum(g is not None for g in got)} labelled, "
              f"{sum(g == data.figures[i].primary for g, i in zip(got, index))} right", flush=True)
    summary = summarise(data.figures, out_rows)
    summary["figures"] = [{"file": f.file, "source": f.source, "round": f.round, "primary": f.primary,
                           "label": r.get("image_primary_label"), "label_source": r.get("image_label_source"),
                           "score": r.get("image_label_score"), "panel_type": f.panel_type,
                           "panel": r.get("image_panel_type")} for f, r in zip(data.figures, out_rows)]
    return summary


def summarise(figures: list[LabelledFigure], rows: list[dict]) -> dict:
    """Precision, coverage and panel type of labelled rows against their figures: all, captioned,
    per label source, per round, per figure source and per true class."""
    def scored(pairs: list[tuple[LabelledFigure, dict]]) -> Evaluation:
        result = Evaluation()
        for f, r in pairs:
            result.add(f, r)
        return result

    def stats(pairs: list[tuple[LabelledFigure, dict]]) -> dict:
        e = scored(pairs)
        return {"figures": e.figures, "labelled": e.labelled, "right": e.correct,
                "precision": round(e.precision, 3) if e.labelled else None,
                "coverage": round(e.coverage, 3) if e.figures else None,
                "panel_type": round(e.panel_accuracy, 3) if e.figures else None}

    pairs = list(zip(figures, rows))
    summary = {"all": stats(pairs),
               "captioned": stats([(f, r) for f, r in pairs if (f.caption or "").strip()])}
    for source in ("caption+image", "caption", "image"):
        summary[f"label source: {source}"] = stats([(f, r) for f, r in pairs if r.get("image_label_source") == source])
    rounds = sorted({f.round for f in figures if f.round is not None})
    if rounds:
        summary["per round"] = {r: stats([(f, row) for f, row in pairs if f.round == r]) for r in rounds}
    summary["per source"] = {source: stats([(f, r) for f, r in pairs if f.source == source])
                             for source in sorted({f.source for f in figures})}
    classes = scored(pairs).classes
    summary["per class (predicted, right, figures)"] = {c: [classes[c].predicted, classes[c].correct, classes[c].n]
                                                         for c in sorted(classes)}
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", type=Path, nargs="+", default=development_paths(ROOT),
                    help="the labels files to fit on (default: the development set, evaluate.DEVELOPMENT_FILES)")
    ap.add_argument("--out", type=Path, default=MODEL_FILE)
    ap.add_argument("--drawn", type=Path, help="the labels file of drawn chemistry figures (scripts/make_chem_figures.py), "
                    "for the image model only")
    ap.add_argument("--part", choices=("tune", "all"), default="all",
                    help="the figures to fit on (default: all of the labels file)")
    ap.add_argument("--folds", choices=("source", "article"), default="source",
                    help="what the fit's own estimates hold out together (default: a source)")
    ap.add_argument("--by-source", action="store_true",
                    help="only measure: leave each source out, fit on the others, label it; write nothing")
    ap.add_argument("--image-alone", action="store_true",
                    help="with --by-source: label the left-out source's figures from the image alone (captions "
                         "removed, no floor)")
    ap.add_argument("--json", type=Path, help="with --by-source: also write the measurement (and each figure's label) here")
    args = ap.parse_args()
    try:
        check_fittable(args.labels)
    except UsageError as exc:
        ap.error(str(exc))

    taxonomy = load_taxonomy()
    rules = RuleLabeler(taxonomy)
    data = load_data(args.labels, args.part, args.drawn, rules)
    if args.by_source:
        summary = measure_by_source(data, rules, taxonomy, args.folds, args.image_alone)
        print(json.dumps({k: v for k, v in summary.items() if k != "figures"}, indent=1))
        if args.json:
            args.json.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        return
    model = fit_labeler(data, ~data.drawn, folds_for(data, args.folds), rules, taxonomy)
    n_drawn = int(data.drawn.sum())
    names = " + ".join(path.name for path in args.labels)
    model = {"fitted_on": f"{len(data.figures)} figures of {names} (part: {args.part}; estimates on "
                          f"folds by {args.folds})"
                          + (f", and {n_drawn} drawn chemistry figures for the image model" if n_drawn else ""),
             **model, "image": model["image"].to_dict()}
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
