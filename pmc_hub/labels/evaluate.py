"""Measure a labeler against hand labels (the development set, `DEVELOPMENT_FILES`): primary-label
precision and coverage, per class, and panel-type accuracy."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from ..errors import UsageError
from ..media import inspect
from .labeler import Labeler


@dataclass(frozen=True)
class LabelledFigure:
    file: str  # relative to the repository root
    primary: str
    secondary: tuple[str, ...]
    panel_type: str
    caption: Optional[str]
    article: str
    split: str  # "tune" (used to fit and choose parameters) or "holdout"
    round: Optional[int] = None  # the round of labels.json that added it (rounds 7 and 8 are marked)
    # Where it comes from (the publisher, or a collection with a style of its own): what a
    # leave-one-source-out measurement holds out together. The labels file's `source`; a figure
    # without one is a source of its own, its article.
    source: str = ""

    def __post_init__(self) -> None:
        if not self.source:
            object.__setattr__(self, "source", self.article)


# The development set: every labels file the labeler may be fitted and tuned on (relative to the
# repository root). labels.json holds rounds 1-8, 10 and 14 (round 7, the first fresh test set, is
# worn); labels.fresh2.json the second fresh test set (round 9, worn since round 12).
DEVELOPMENT_FILES = ("tests/data/figures/labels.json", "tests/data/figures/labels.fresh2.json")
# The unseen test sets: scored once at a stop's end, never fitted or tuned on. A set moves to
# DEVELOPMENT_FILES once it is worn (its errors read, or scored at several stops).
UNSEEN_FILES = ("tests/data/figures/labels.fresh3.json", "tests/data/figures/labels.fresh4.json",
                "tests/data/figures/labels.fresh5.json", "tests/data/figures/labels.fresh6.json")


def check_fittable(paths: Iterable[Path]) -> None:
    """Raise `UsageError` if any of ``paths`` is an unseen test set (`UNSEEN_FILES`)."""
    unseen = {Path(f).name for f in UNSEEN_FILES}
    for path in paths:
        if Path(path).name in unseen:
            raise UsageError(f"{path}: an unseen test set, never fitted or tuned on (evaluate.UNSEEN_FILES)")


def development_paths(root: Path) -> list[Path]:
    """The development set's labels files (`DEVELOPMENT_FILES`) in the repository at ``root``."""
    return [Path(root) / f for f in DEVELOPMENT_FILES]


def load_labelled(*paths: Path) -> list[LabelledFigure]:
    """The hand-labelled figures of one or more labels files, in order."""
    return [f for path in paths for f in _load_one(path)]


def _load_one(path: Path) -> list[LabelledFigure]:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return [LabelledFigure(f["file"], f["primary"], tuple(f["secondary"]), f["panel_type"], f.get("caption"),
                               f["article"], f["split"], f.get("round"), f.get("source") or "")
                for f in raw["figures"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: not a labels file: {exc}") from exc


def figure_rows(figures: Iterable[LabelledFigure], root: Path) -> tuple[list[dict], dict]:
    """Figure rows (caption, image bytes, size, key) for labelled figures, and the thumbnails
    `pmc_hub.media.inspect` makes of them (by ``image_key``), as a build would pass them."""
    rows, thumbnails = [], {}
    for fig in figures:
        data = (Path(root) / fig.file).read_bytes()
        image = inspect(fig.file, data)
        key = fig.file
        rows.append({"image_key": key, "caption": fig.caption or "", "image_context": [],
                     "image": {"bytes": data, "path": Path(fig.file).name},
                     "image_size": {"width": image.width, "height": image.height}})
        thumbnails[key] = image.thumbnail
    return rows, thumbnails


@dataclass
class ClassScore:
    n: int = 0  # figures of this class
    labelled: int = 0  # ... that got some primary label
    predicted: int = 0  # figures labelled with this class
    correct: int = 0  # ... rightly

    @property
    def precision(self) -> Optional[float]:
        return self.correct / self.predicted if self.predicted else None

    @property
    def recall(self) -> Optional[float]:
        return self.correct / self.n if self.n else None


@dataclass
class Evaluation:
    figures: int = 0
    labelled: int = 0
    correct: int = 0
    panel_correct: int = 0
    classes: dict[str, ClassScore] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        return self.labelled / self.figures if self.figures else 0.0

    @property
    def precision(self) -> float:
        return self.correct / self.labelled if self.labelled else 0.0

    @property
    def panel_accuracy(self) -> float:
        return self.panel_correct / self.figures if self.figures else 0.0

    def add(self, truth: LabelledFigure, row: dict) -> None:
        got = row.get("image_primary_label")
        self.figures += 1
        self.labelled += got is not None
        self.correct += got == truth.primary
        self.panel_correct += row.get("image_panel_type") == truth.panel_type
        true_class = self.classes.setdefault(truth.primary, ClassScore())
        true_class.n += 1
        true_class.labelled += got is not None
        if got is not None:
            predicted = self.classes.setdefault(got, ClassScore())
            predicted.predicted += 1
            predicted.correct += got == truth.primary


def evaluate(labeler: Labeler, figures: list[LabelledFigure], rows: list[dict]) -> Evaluation:
    """Label ``rows`` (made from ``figures`` by `figure_rows`, same order) and score them."""
    result = Evaluation()
    for truth, row in zip(figures, labeler.label(rows)):
        result.add(truth, row)
    return result
