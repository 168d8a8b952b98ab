"""The box type every subfigure detector returns, and the geometry on it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from PIL import Image


@dataclass(frozen=True)
class Box:
    """A subfigure box in the parent image's pixels: x0, y0 inclusive, x1, y1 exclusive;
    ``label``: the panel letter drawn on the figure ("a".."z"), when the detector read one."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0
    label: str | None = None

    @property
    def width(self) -> float:
        return max(0.0, self.x1 - self.x0)

    @property
    def height(self) -> float:
        return max(0.0, self.y1 - self.y0)

    @property
    def area(self) -> float:
        return self.width * self.height

    def intersection(self, other: "Box") -> float:
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return w * h if w > 0 and h > 0 else 0.0

    def iou(self, other: "Box") -> float:
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def clipped(self, width: int, height: int) -> "Box":
        return Box(max(0.0, self.x0), max(0.0, self.y0), min(float(width), self.x1), min(float(height), self.y1),
                   self.score, self.label)

    def to_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Integer [x0, y0, x1, y1] clipped to the image, at least one pixel wide and high."""
        x0 = min(max(0, int(round(self.x0))), width - 1)
        y0 = min(max(0, int(round(self.y0))), height - 1)
        x1 = max(x0 + 1, min(width, int(round(self.x1))))
        y1 = max(y0 + 1, min(height, int(round(self.y1))))
        return x0, y0, x1, y1

    def to_xywh(self) -> list[float]:
        return [self.x0, self.y0, self.width, self.height]

    @classmethod
    def from_xywh(cls, xywh: Sequence[float], score: float = 1.0) -> "Box":
        x, y, w, h = (float(v) for v in xywh)
        return cls(x, y, x + w, y + h, score)


def whole(image: Image.Image, score: float = 0.0) -> Box:
    """The box covering the whole image: what a detector returns when it finds no panels."""
    return Box(0.0, 0.0, float(image.width), float(image.height), score)


class Detector(Protocol):
    """Anything that finds subfigure boxes: one list of boxes per image, never empty.

    ``captions`` (optional, one per image, None where unknown) is the figure's caption: a
    detector may use the panels it names as evidence; without it, it judges the image alone."""

    name: str

    def detect(self, images: Sequence[Image.Image], captions: Sequence[str | None] | None = None) -> list[list[Box]]: ...
