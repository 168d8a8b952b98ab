"""Split a figure caption into per-panel subcaptions by the panel labels it prints.

Handles labels before their text -- ``(A) ...``, ``A, ...``, ``A. ...``, ``a) ...``,
``(a-c) ...``, ``(C,D) ...``, ``(A and B) ...``, ``(i) ...``, ``(1) ...`` -- labels after their
text (``... the left coronary trunk (a). ...``), and position words (``Left: ...``,
``(top panel) ...``). A label is only taken when it continues the sequence (a, b, c...), so
references such as ``Panel (b) was rotated relative to (a)`` are ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"
_DASH = re.escape(_DASHES)  # for character classes
_ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"]
_TOKEN = r"(?:[A-Za-z]|[ivx]{1,4}|\d{1,2})"
_GROUP = rf"{_TOKEN}(?:\s*(?:[,{_DASH}]|and|&)\s*{_TOKEN})*"
# "(A)", "(a-c)", "(C,D)", "(A and B)", "(i)", "(1)", "(B)-(F)"; "Panel (A)" opening a sentence
_PAREN = re.compile(rf"(?:(?:^|(?<=[.;:])\s*)panels?\s*)?\((?P<g>{_GROUP}(?:\)\s*[{_DASH}]\s*\({_TOKEN})?)\)", re.IGNORECASE)
# "A) text" in running text
_CLOSE = re.compile(r"(?<![(\w])(?P<g>[A-Za-z])\)\s")
# "A, ", "A. ", "a) ", "A: ", "A-C. " at the caption start or after a sentence end
_BARE = re.compile(rf"(?:^|(?<=[.;:]\s)|(?<=[.;:]))\s*(?P<g>[A-Za-z](?:\s*[{_DASH}]\s*[A-Za-z])?)(?:[.,:]|\))\s")
_POSITION = re.compile(
    r"(?:^|(?<=[.;:])\s*|\()\s*(?P<w>left|right|top|bottom|upper|lower|middle|center|centre)(?:\s+(?:panel|figure|image|row|column))?\s*(?:\)|:|,)",
    re.IGNORECASE)
_REFERENCE = re.compile(r"(?:panels?|see|fig\.?|figure)\s*$", re.IGNORECASE)


@dataclass
class Subcaption:
    labels: list[str]  # normalised: "a", "b"... (roman and digit labels map to letters too)
    marker: str  # as printed: "(a-c)", "B.", "Left:"
    text: str
    position: str | None = None  # "left", "top"... for position-word labels


@dataclass
class CaptionSplit:
    caption: str
    preamble: str  # the text before the first label (the figure title, usually)
    subcaptions: list[Subcaption] = field(default_factory=list)
    style: str = "none"  # "prefix", "postfix", "position" or "none"

    @property
    def labels(self) -> list[str]:
        return [label for s in self.subcaptions for label in s.labels]

    def for_label(self, label: str) -> Subcaption | None:
        return next((s for s in self.subcaptions if label in s.labels), None)


@dataclass
class _Marker:
    start: int
    end: int
    kind: str  # "letter", "roman" or "digit"
    indices: list[int]
    text: str


def _index(token: str, kind: str) -> int | None:
    t = token.lower()
    if kind == "roman":
        return _ROMAN.index(t) if t in _ROMAN else None
    if kind == "digit":
        return int(t) - 1 if t.isdigit() and int(t) > 0 else None
    return ord(t) - ord("a") if len(t) == 1 and t.isalpha() else None


def _parse_group(group: str, kind: str) -> list[int] | None:
    parts = re.split(rf"(\s*(?:[,{_DASH}]|and|&)\s*)", group)
    tokens, seps = parts[0::2], [p.strip() for p in parts[1::2]]
    idx = [_index(t.strip(), kind) for t in tokens]
    if any(i is None for i in idx):
        return None
    out = [idx[0]]
    for sep, i in zip(seps, idx[1:]):
        if sep and sep in _DASHES:
            if i <= out[-1] or i - out[-1] > 12:
                return None
            out.extend(range(out[-1] + 1, i + 1))
        else:
            out.append(i)
    return out


def _kinds(group: str) -> list[str]:
    tokens = [t for t in re.split(rf"\s*(?:[,{_DASH}]|and|&)\s*", group) if t]
    if not tokens:
        return []
    if all(t.isdigit() for t in tokens):
        return ["digit"]
    if all(t.lower() in _ROMAN for t in tokens):
        return ["letter", "roman"] if all(len(t) == 1 for t in tokens) else ["roman"]
    return ["letter"] if all(len(t) == 1 and t.isalpha() for t in tokens) else []


def _candidates(caption: str) -> list[_Marker]:
    found = []
    for rx in (_PAREN, _BARE, _CLOSE):
        for m in rx.finditer(caption):
            if rx is _PAREN and _REFERENCE.search(caption[max(0, m.start() - 12):m.start()]):
                continue
            group = re.sub(r"\)\s*([" + _DASH + r"])\s*\(", r"\1", m.group("g"))  # "(B)-(F)" -> "B-F"
            for kind in _kinds(group):
                if rx is not _PAREN and kind != "letter":
                    continue
                idx = _parse_group(group, kind)
                if idx:
                    found.append(_Marker(m.start(), m.end(), kind, idx, m.group(0).strip()))
    return sorted(found, key=lambda k: (k.start, k.kind != "letter"))


def _sequence(cands: list[_Marker]) -> list[_Marker]:
    """The markers continuing a, b, c... (or i, ii... / 1, 2...) in order of appearance."""
    best: list[_Marker] = []
    for kind in ("letter", "roman", "digit"):
        chosen: list[_Marker] = []
        expected = 0
        for c in cands:
            if c.kind == kind and c.indices[0] == expected and (not chosen or c.start >= chosen[-1].end):
                chosen.append(c)
                expected = c.indices[-1] + 1
        if len(chosen) > len(best) or (len(chosen) == len(best) and sum(len(c.indices) for c in chosen) > sum(len(c.indices) for c in best)):
            best = chosen
    return best


def _letters(indices: list[int]) -> list[str]:
    return [chr(ord("a") + i) for i in indices]


def _clean(text: str) -> str:
    # "(a) X and (b) Y": the joining "and" belongs to neither panel
    return re.sub(r"(?:[\s,;]+(?:and|&))?[\s,;:]*$", "", text).strip(" \t\n;,:")


def _is_postfix(caption: str, markers: list[_Marker]) -> bool:
    """Labels that close their text: followed by a sentence end, and not the caption's start."""
    if markers[0].start <= 1:
        return False
    closing = sum(1 for m in markers if re.match(r"\s*(?:[.;]|$)", caption[m.end:]))
    return closing >= max(2, len(markers) - 1) and closing * 2 > len(markers)


def split_caption(caption: str) -> CaptionSplit:
    """Split ``caption`` into subcaptions; ``style`` says how (``none`` when no labels)."""
    caption = " ".join(caption.split())
    markers = _sequence(_candidates(caption))
    total = sum(len(m.indices) for m in markers)
    if len(markers) >= 2 or (markers and total >= 2):
        if _is_postfix(caption, markers):
            return _postfix(caption, markers)
        subs = []
        for k, m in enumerate(markers):
            end = markers[k + 1].start if k + 1 < len(markers) else len(caption)
            subs.append(Subcaption(_letters(m.indices), m.text, _clean(caption[m.end:end])))
        return CaptionSplit(caption, _clean(caption[:markers[0].start]), subs, "prefix")
    return _positions(caption)


def _postfix(caption: str, markers: list[_Marker]) -> CaptionSplit:
    subs, prev_end = [], 0
    for m in markers:
        head = caption[prev_end:m.start]
        # the text of a closing label starts at its sentence's start
        cut = max(head.rfind(". "), head.rfind("; "))
        start = prev_end + cut + 2 if cut >= 0 else prev_end
        subs.append(Subcaption(_letters(m.indices), m.text, _clean(caption[start:m.start])))
        nxt = re.match(r"\s*[.;]?", caption[m.end:])
        prev_end = m.end + (nxt.end() if nxt else 0)
    first = markers[0].start
    head = caption[:first]
    cut = max(head.rfind(". "), head.rfind("; "))
    return CaptionSplit(caption, _clean(head[:cut + 1]) if cut >= 0 else "", subs, "postfix")


def _positions(caption: str) -> CaptionSplit:
    marks = list(_POSITION.finditer(caption))
    if len(marks) < 2 or len({m.group("w").lower() for m in marks}) < 2:
        return CaptionSplit(caption, caption, [], "none")
    subs = []
    for k, m in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(caption)
        word = m.group("w").lower()
        word = {"upper": "top", "lower": "bottom", "centre": "middle", "center": "middle"}.get(word, word)
        subs.append(Subcaption([], m.group(0).strip(" ("), _clean(caption[m.end():end]), position=word))
    return CaptionSplit(caption, _clean(caption[:marks[0].start()]), subs, "position")
