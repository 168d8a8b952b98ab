"""Measure a labeler against hand labels (the development set ``tests/data/figures/labels.json``):
primary-label precision and coverage, per class, and panel-type accuracy."""
from __future__ import annotations

import json
import re
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


# Where a figure comes from, for measuring the labeler as a source it has never seen would meet it
# (`source_of`): the publisher, read from the article id or, for PMC articles, from the figure
# file's publisher-style name; collections with a style of their own are sources of their own.
_PMC_FILE_SOURCES = (
    (re.compile(r"^\d+_\d{4}_"), "Springer Nature"),  # 41598_2023_35951_fig3_html.jpg (BMC, Nature Portfolio)
    (re.compile(r"^f[a-z]+-\d+-\d{6,7}-g"), "Frontiers"),  # fimmu-14-1104560-g004.jpg
    (re.compile(r"^[a-z]+-\d+-\d{5}-g"), "MDPI"),  # ijms-24-09053-g002.jpg
    (re.compile(r"^p[a-z]+\.\d{7}\.g"), "PLOS"),  # pone.0278857.g006.jpg
    (re.compile(r"^elife-"), "eLife"),
    (re.compile(r"^peerj-"), "PeerJ"),
    (re.compile(r"^lsa-"), "Life Science Alliance"),
)
_ARTICLE_SOURCES = (
    (re.compile(r"^(elife-|medrxiv-)"), "eLife"),  # the medRxiv preprint comes from eLife's own packages
    (re.compile(r"^(pone\.|plosone-|pcbi\.|pntd\.)"), "PLOS"),
    (re.compile(r"^bmc-"), "Springer Nature"),
    (re.compile(r"^(hoehnea-|bjmbr-)"), "SciELO"),
)
# 2006-2007 PLOS ONE phylogenetics scans: a decade older than the other PLOS figures, one kind
# of figure (trees), no captions; their own source rather than more PLOS. Figures cut from the
# PDFs of ContentMine's Hindawi articles (round 10) are named fulltext.pdf__figN: their folder
# names the publisher.
_COLLECTIONS = {"rossmounce__plosone-phylo-figure-images": "PLOS ONE 2006-2007 scans",
                "contentmine__ami__src__test__resources__org__xmlcml__ami2__hindawiepmc": "Hindawi"}
# PMC articles whose figure files carry no publisher-style name (cut from their PDFs, round 10):
# the publisher their JATS names (tests/data/figures/SOURCES.md, "Added in round 10/11")
_PMC_ARTICLE_SOURCES = {
    "PMC12061466": "Wiley",  # Ecology and Evolution
    "PMC12124168": "Wiley",  # Conservation Biology
    "PMC12091794": "PLOS",
    "PMC4417228": "Springer Nature",  # Journal of Ethnobiology and Ethnomedicine (BMC)
    "PMC4521097": "Springer Nature",  # Behavioral Ecology and Sociobiology
    "PMC4632522": "Royal Society",  # Royal Society Open Science
}


def source_of(figure: LabelledFigure) -> str:
    """The source of a labelled figure (publisher or collection): what a leave-one-source-out
    measurement holds out together. Unknown articles are a source of their own."""
    name = figure.file.rsplit("/", 1)[-1]
    for prefix, source in _COLLECTIONS.items():
        if name.startswith(prefix):
            return source
    if figure.article in _PMC_ARTICLE_SOURCES:
        return _PMC_ARTICLE_SOURCES[figure.article]
    if figure.article.startswith("PMC"):
        tail = re.split(r"pmc\d+__", name)[-1]
        return next((source for pattern, source in _PMC_FILE_SOURCES if pattern.match(tail)), figure.article)
    article = figure.article.lower()
    return next((source for pattern, source in _ARTICLE_SOURCES if pattern.match(article)), figure.article.split(":")[0])


def load_labelled(path: Path) -> list[LabelledFigure]:
    """The hand-labelled figures of a labels file."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return [LabelledFigure(f["file"], f["primary"], tuple(f["secondary"]), f["panel_type"], f.get("caption"),
                               f["article"], f["split"], f.get("round")) for f in raw["figures"]]
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
