"""Split a figure caption into per-panel subcaptions by the panel labels it prints.

Labels are found in every form captions use -- ``(A)``, ``(a-c)``, ``(C,D)``, ``(A and B)``,
``(A–B, E–F)``, ``Panels (B)–(F)``, ``a)``, ``A.``/``A,``/``A:`` opening a sentence, ``(i)``,
``(1)`` -- and each is read in its place in the sentence:

- a label opening a sentence (or after ``:``/``;``) heads the text after it;
- a label after a function word ("showed (a) ...", "of (a) 20 mg/l or (b) 40 mg/l") also heads
  the text after it, and the words before it in the sentence are shared by its group;
- a label after a content word ("... consumption (c) and body temperature (d) included ...",
  "... trunk (a).") closes the text before it.

Labels must cover the letters a, b, c... in order: a label counts only when its letters are new
and its first letter is the first one not yet covered, so references to earlier panels ("relative
to (a)", "for active (A, E) and silent (B, F) genes" inside the group ``(A–B, E–F)``) stay in the
text, and grouped labels (``(A–B, E–F) ... (C–D, G–H)``) each take their letters. Labels of one
sentence joined by "and", "or" or commas share the words around them: "(a) MA consumption and
(b) total volume consumed, when MA was offered" gives panel a "MA consumption, when MA was
offered". Position words (``Left: ...``, ``(top panel) ...``, "... active (left) and silent
(right)") are used when the caption prints no labels.

Every pattern here is linear in the caption length (no nested or adjacent unbounded repeats),
so a hostile caption costs time in proportion to its size.
"""
from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass, field

_DASHES = "-~\u2010\u2011\u2012\u2013\u2014\u2212"
_DASH = re.escape(_DASHES)
_ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"]
_TOKEN = r"(?:[ivx]{1,4}|[A-Za-z]|\d{1,2})"
_SEP = rf"(?:[,{_DASH}] ?| and | ?& ?)"  # captions are whitespace-normalised: one space at most
_GROUP = rf"{_TOKEN}(?: ?{_SEP}{_TOKEN}){{0,12}}"
# "(A)", "(a-c)", "(C,D)", "(A and B)", "(i)", "(1)", "(B)-(F)", "Panel (A)"
_PAREN = re.compile(rf"(?:\b[Pp]anels? )?\((?P<g>{_GROUP}(?:\) ?[{_DASH}] ?\({_TOKEN})?)\)")
# "A) text": after a space, a sentence end or the caption start, never after a symbol ("°C) ")
_CLOSE = re.compile(rf"(?<![^ .;:,])(?P<g>[A-Za-z](?: ?[{_DASH}] ?[A-Za-z])?)\) ")
# "A, ", "A. ", "A: ", "A-C. " opening the caption or a sentence
_BARE = re.compile(rf"(?:^|(?<=[.;:] )|(?<=[.;:]))(?P<g>[A-Za-z](?: ?[{_DASH}] ?[A-Za-z])?)[.,:] ")
_POSITION = re.compile(r"(?P<open>\(?)(?P<w>left|right|top|bottom|upper|lower|middle|center|centre)"
                       r"(?: (?:panel|figure|image|row|column|panels|images))? ?(?P<close>[):,])", re.IGNORECASE)
_POSITION_NAMES = {"upper": "top", "lower": "bottom", "centre": "middle", "center": "middle"}
_REFERENCE = re.compile(r"(?:\b(?:see|fig|figs|figure|figures|cf)\.?(?: ?\d{1,3})? ?)$", re.IGNORECASE)
_FUNCTION_WORDS = frozenset(
    "of or and for in at with to from by on as than that which showed show shows shown showing are is "
    "were was between after before during under over into vs versus including using via both either "
    "per the a an its their our this these displaying depicting illustrating indicating comparing "
    "represent represents representing plotted against whereas while".split())
_CLOSING = ("close", "trail")
_WINDOW = 48  # characters read on either side of a label to judge its role
_WORD = re.compile(r"[a-z]+\b")


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
    style: str = "none"  # "prefix", "postfix", "mixed", "position" or "none"

    @property
    def labels(self) -> list[str]:
        return [label for s in self.subcaptions for label in s.labels]

    def for_label(self, label: str) -> Subcaption | None:
        return next((s for s in self.subcaptions if label in s.labels), None)

    @property
    def panel_count(self) -> int:
        """How many panels the caption names: its letters, else its position words; 0 when none."""
        return len(set(self.labels)) or len(self.subcaptions)


@dataclass
class _Marker:
    start: int
    end: int
    kind: str  # "letter", "roman" or "digit"
    indices: list[int]
    text: str
    role: str = ""  # "lead", "inner" (heads its text mid-sentence), "close" (ends its text) or "trail"
    opens: int = -1  # start of the group label this one stands in for: earlier text ends there


def _index(token: str, kind: str) -> int | None:
    t = token.lower()
    if kind == "roman":
        return _ROMAN.index(t) if t in _ROMAN else None
    if kind == "digit":
        return int(t) - 1 if t.isdigit() and int(t) > 0 else None
    return ord(t) - ord("a") if len(t) == 1 and t.isalpha() else None


def _tokens(group: str) -> tuple[list[str], list[str]]:
    parts = re.split(rf"( ?{_SEP})", group)
    return [p.strip() for p in parts[0::2]], [p.strip() for p in parts[1::2]]


def _parse_group(group: str, kind: str) -> list[int] | None:
    tokens, seps = _tokens(group)
    idx = [_index(t, kind) for t in tokens]
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
    return out if len(set(out)) == len(out) else None


def _kinds(group: str) -> list[str]:
    tokens = [t for t in _tokens(group)[0] if t]
    if not tokens:
        return []
    if all(t.isdigit() for t in tokens):
        return ["digit"]
    if all(t.lower() in _ROMAN for t in tokens):
        return ["letter", "roman"] if all(len(t) == 1 for t in tokens) else ["roman"]
    return ["letter"] if all(len(t) == 1 and t.isalpha() for t in tokens) else []


def _role(caption: str, start: int, end: int) -> str:
    """"lead": heads the text after it at a sentence start; "inner": heads it mid-sentence, after
    a comma or a function word; "close": ends the words before it; "trail": between two content
    words, closes unless the next label heads its text ("... treatment (A) in the cTACE group and
    (B) in the TILA-TACE group")."""
    before = caption[max(0, start - _WINDOW):start].rstrip()  # the caption is whitespace-normalised
    after = caption[end:end + _WINDOW].lstrip()
    if not before or before[-1] in ".;:(":
        return "lead"
    if not after or after[0] in ",.;)" or after.startswith(("and ", "or ")):
        return "close"
    if before[-1] == ",":
        return "inner"
    word = before.rsplit(" ", 1)[-1].lower()
    if word in _FUNCTION_WORDS:
        return "inner"
    # a missing full stop ("... per gene (C-E) Venn diagrams", "H=1.3 (C) τn=10 s"), unless a
    # plain word follows ("A375 (E, F) cells treated")
    if after[0].isupper() or before[-1].isdigit() and not _WORD.match(after):
        return "lead"
    return "trail"


def _candidates(caption: str) -> list[_Marker]:
    found = []
    for rx in (_PAREN, _BARE, _CLOSE):
        for m in rx.finditer(caption):
            if rx is _PAREN and _REFERENCE.search(caption[max(0, m.start() - 12):m.start()]):
                continue
            group = re.sub(rf"\) ?([{_DASH}]) ?\(", r"\1", m.group("g"))  # "(B)-(F)" -> "B-F"
            for kind in _kinds(group):
                if rx is not _PAREN and kind != "letter":
                    continue
                idx = _parse_group(group, kind)
                if idx:
                    role = "lead" if rx is _BARE else _role(caption, m.start(), m.end())
                    found.append(_Marker(m.start(), m.end(), kind, idx, m.group(0).strip(), role))
    return _adjoined(sorted(found, key=lambda k: (k.start, k.kind != "letter")))


def _adjoined(found: list[_Marker]) -> list[_Marker]:
    """"(a)(c)(d)" is one label listing three panels."""
    out: list[_Marker] = []
    by_end: dict[tuple[str, int], _Marker] = {}
    merged: set[int] = set()  # id() of the markers folded into a longer one
    for m in found:
        prev = by_end.get((m.kind, m.start))
        if prev is not None and m.text.startswith("(") and prev.text.endswith(")") and min(m.indices) > max(prev.indices):
            merged.add(id(prev))
            m = _Marker(prev.start, m.end, m.kind, prev.indices + m.indices, prev.text + m.text, prev.role)
        by_end[(m.kind, m.end)] = m
        out.append(m)
    return sorted((m for m in out if id(m) not in merged), key=lambda k: (k.start, k.kind != "letter"))


def _mex(covered: set[int]) -> int:
    k = 0
    while k in covered:
        k += 1
    return k


def _sequence(cands: list[_Marker]) -> list[_Marker]:
    """The markers covering a, b, c... (or i, ii... / 1, 2...): labels that head their text
    first, then labels that close theirs for the letters still missing, until no label adds one."""
    best: list[_Marker] = []
    for kind in ("letter", "roman", "digit"):
        chosen: list[_Marker] = []
        covered: set[int] = set()
        grown = True
        while grown:
            grown = False
            for roles in (("lead", "inner"), _CLOSING):
                for c in cands:
                    if c.kind != kind or c.role not in roles or covered & set(c.indices):
                        continue
                    if min(c.indices) != _mex(covered) or any(c.start < o.end and o.start < c.end for o in chosen):
                        continue
                    chosen.append(c)
                    covered |= set(c.indices)
                    grown = True
        chosen.sort(key=lambda c: c.start)
        if len(covered) > sum(len(c.indices) for c in best):
            best = chosen
    return best


def _settle(caption: _Caption, markers: list[_Marker]) -> list[_Marker]:
    """A "trail" label heads its text like the next label of its sentence when that one does,
    and closes it otherwise."""
    out = []
    for k, m in enumerate(markers):
        if m.role == "trail":
            nxt = markers[k + 1] if k + 1 < len(markers) else None
            heads = nxt is not None and nxt.role == "inner" and caption.same_sentence(m.end, nxt.start)
            m = dataclasses.replace(m, role="inner" if heads else "close")
        out.append(m)
    return out


def _split_groups(caption: str, markers: list[_Marker], cands: list[_Marker]) -> tuple[list[_Marker], dict[int, str]]:
    """A label for several panels followed, in its text, by labels for each of them ("(A-C)
    Venn diagrams for: (A) ...; (B) ... and (C) ...") gives way to those labels; the words
    between it and the first of them are shared (returned by marker start)."""
    out: list[_Marker] = []
    heads: dict[int, str] = {}
    for k, g in enumerate(markers):
        end = markers[k + 1].start if k + 1 < len(markers) else len(caption)
        inner: list[_Marker] = []
        if len(g.indices) > 1:
            todo = sorted(g.indices)
            for c in cands:
                if g.end <= c.start < end and c.kind == g.kind and set(c.indices) <= set(todo) and min(c.indices) == todo[0] \
                        and not any(c.start < o.end and o.start < c.end for o in inner):
                    inner.append(c)
                    todo = [i for i in todo if i not in c.indices]
                    if not todo:
                        break
        if inner and not todo:
            head = _clean(caption[g.end:inner[0].start]) if inner[0].role not in _CLOSING else ""
            for c in inner:
                if head:
                    heads[c.start] = head
            inner[0] = _Marker(inner[0].start, inner[0].end, inner[0].kind, inner[0].indices, inner[0].text,
                               inner[0].role, g.start if inner[0].role not in _CLOSING else g.end)
            out.extend(inner)
        else:
            out.append(g)
    return out, heads


def _letters(indices: list[int]) -> list[str]:
    return [chr(ord("a") + i) for i in sorted(indices)]


def _clean(text: str) -> str:
    """Trim the joining words and punctuation left at the ends of a piece of caption."""
    text = text.strip(" \t\n;,:")
    if text.endswith((" and", " or", " whereas", " while")):
        text = text.rsplit(" ", 1)[0].rstrip(" ;,:")
    elif text.endswith("&"):
        text = text[:-1].rstrip(" ;,:")
    return text


# a full stop after an abbreviation ("vs.", "e.g.", "Fig.", "et al.") does not end a sentence
_STOP = re.compile(r"(?<!\bvs)(?<!\bcf)(?<!\be\.g)(?<!\bi\.e)(?<!\bFig)(?<!\bFigs)(?<!\bal)(?<!\bapprox)"
                   r"(?<!\bresp)(?<!\bca)(?<!\bNo)(?:\. |\.\(|; )")


class _Caption(str):
    """A whitespace-normalised caption that knows where its sentences end."""

    stops: list[int]  # index of each sentence-ending "." or ";"

    def __new__(cls, text: str) -> _Caption:
        self = super().__new__(cls, " ".join(text.split()))
        self.stops = [m.start() for m in _STOP.finditer(self)]
        return self

    def sentence_start(self, pos: int, floor: int) -> int:
        """Where the sentence holding ``pos`` starts (not before ``floor``)."""
        k = bisect.bisect_left(self.stops, pos - 1) - 1
        if k < 0 or self.stops[k] < floor:
            return floor
        return min(self.stops[k] + 2 if self[self.stops[k] + 1] == " " else self.stops[k] + 1, pos)

    def sentence_end(self, pos: int, limit: int) -> int:
        k = bisect.bisect_left(self.stops, pos)
        return self.stops[k] + 1 if k < len(self.stops) and self.stops[k] + 1 < limit else limit

    def same_sentence(self, a: int, b: int) -> bool:
        k = bisect.bisect_left(self.stops, a)
        return k >= len(self.stops) or self.stops[k] + 1 >= b


def _segments(caption: _Caption, markers: list[_Marker]) -> list[tuple[int, int]]:
    """[start, end) of each marker's own text: after a heading label up to the next label's
    text, before a closing label back to the previous label or the sentence start."""
    spans = []
    for k, m in enumerate(markers):
        if m.role == "close":
            floor = max(markers[k - 1].end if k else 0, m.opens)
            spans.append((caption.sentence_start(m.start, floor), m.start))
            continue
        nxt = markers[k + 1] if k + 1 < len(markers) else None
        if nxt is None:
            end = len(caption)
        elif nxt.opens >= 0:
            end = min(nxt.start, nxt.opens)
        elif nxt.role != "lead" and not caption.same_sentence(m.end, nxt.start):
            end = max(m.end, caption.sentence_start(nxt.start, m.end))
        else:
            end = nxt.start
        spans.append((m.end, end))
    return spans


def _groups(caption: _Caption, markers: list[_Marker]) -> list[list[int]]:
    """Runs of labels of one role in one sentence, joined by "and", "or" or commas."""
    groups: list[list[int]] = []
    for k, m in enumerate(markers):
        prev = markers[k - 1] if k else None
        joined = (prev is not None and (prev.role == "close") == (m.role == "close")
                  and caption.same_sentence(prev.end, m.start) and m.role != "lead"
                  and (m.role != "close" or len(caption[prev.end:m.start].split()) <= 12))
        if joined:
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


_PREPOSITIONS = frozenset("of for in from with between at on after before during".split())
_TAIL = re.compile(rf", | (?:{'|'.join(sorted(_PREPOSITIONS))}) ")


def _tail(own: str) -> str:
    """What a group's last label shares with the others: the words after its first comma, or
    after a preposition following its first few words ("relative weight | of the turning
    distribution")."""
    m = _TAIL.search(own)
    if m is None or (m.group(0) != ", " and len(own[:m.start()].split()) > 4):
        return ""
    return own[m.end() if m.group(0) == ", " else m.start() + 1:]


def _join(*pieces: str) -> str:
    """The non-empty pieces joined by spaces, none before punctuation."""
    out = ""
    for piece in filter(None, pieces):
        out = f"{out}{piece}" if not out or piece[0] in ".,;:)" else f"{out} {piece}"
    return out


def _subject(first: str, own: str) -> str:
    """The words of a group's first text that a later label's text leaves out: "(E) PETHs from all
    D2-MSNs and (F) from all D1-MSNs" gives (F) "PETHs"."""
    word = own.split(" ", 1)[0]
    if word not in _PREPOSITIONS:
        return ""
    cut = first.find(f" {word} ")
    return first[:cut] if cut > 0 else ""


def _shared(caption: _Caption, markers: list[_Marker], spans: list[tuple[int, int]], texts: list[str],
            heads: dict[int, str]) -> list[str]:
    """Each grouped label's text with the words its group shares: the sentence's words before
    the first label (or the head of the group label it stands in for), and what follows the last
    label's own words."""
    out = [f"{heads[m.start]} {t}" if m.start in heads else t for m, t in zip(markers, texts)]
    for group in _groups(caption, markers):
        if len(group) < 2:
            continue
        first, last = markers[group[0]], markers[group[-1]]
        sentence_end = caption.sentence_end(last.end, len(caption))
        if last.role == "close":
            tail = _clean(caption[last.end:sentence_end])
            own = [_clean(re.sub(r"^(?:,? ?(?:and|or) |, )", "", texts[k])) for k in group]
            words = max(1, round(sum(len(o.split()) for o in own[1:]) / (len(own) - 1)))
            head_words = texts[group[0]].split()
            head = " ".join(head_words[:-words]) if len(head_words) > words else ""
            for j, k in enumerate(group):
                body = texts[k] if j == 0 else _join(head, own[j])
                out[k] = _join(body, tail)
            continue
        floor = markers[group[0] - 1].end if group[0] else 0
        if first.opens >= 0:
            head = heads.get(first.start, "")
        elif first.role == "inner":
            head = _clean(caption[caption.sentence_start(first.start, floor):first.start])
        else:
            head = ""
        first_own = _clean(caption[spans[group[0]][0]:spans[group[0]][1]])
        tail = _tail(_clean(caption[last.end:sentence_end]))
        for k in group:
            own = texts[k] if k == group[-1] else _clean(caption[spans[k][0]:spans[k][1]])
            lead = heads.get(markers[k].start) or (
                _subject(first_own, own) if first.role == "lead" and k != group[0] else head)
            pieces = [lead, own] if k == group[-1] or not tail else [lead, own + ",", tail]
            out[k] = _join(*pieces)
    return out


def split_caption(caption: str) -> CaptionSplit:
    """Split ``caption`` into subcaptions; ``style`` says how (``none`` when no labels)."""
    caption = _Caption(caption)
    cands = _candidates(caption)
    markers, heads = _split_groups(caption, _sequence(cands), cands)
    markers = _settle(caption, markers)
    if sum(len(m.indices) for m in markers) >= 2:
        spans = _segments(caption, markers)
        texts = _shared(caption, markers, spans, [_clean(caption[s:e]) for s, e in spans], heads)
        subs = [Subcaption(_letters(m.indices), m.text, text) for m, text in zip(markers, texts)]
        roles = {m.role == "close" for m in markers}
        style = "postfix" if roles == {True} else "prefix" if roles == {False} else "mixed"
        first = markers[0]
        # the words before a label inside a sentence belong to its text, not to the title
        preamble_end = first.start if first.role == "lead" else caption.sentence_start(first.start, 0)
        return CaptionSplit(str(caption), _clean(caption[:preamble_end]), subs, style)
    return _positions(caption)


def _positions(caption: _Caption) -> CaptionSplit:
    marks = []
    for m in _POSITION.finditer(caption):
        before = caption[max(0, m.start() - _WINDOW):m.start()].rstrip()
        heads = (not before or before[-1] in ".;:") and m.group("close") != ")" or (m.group("open") and m.group("close") == ")")
        if heads or m.group("open"):
            marks.append(m)
    if len(marks) < 2 or len({m.group("w").lower() for m in marks}) < 2:
        return CaptionSplit(str(caption), str(caption), [], "none")
    subs = []
    closing = all(m.group("open") and _role(caption, m.start(), m.end()) in _CLOSING for m in marks)
    for k, m in enumerate(marks):
        word = m.group("w").lower()
        word = _POSITION_NAMES.get(word, word)
        if closing:
            start = marks[k - 1].end() if k else caption.sentence_start(m.start(), 0)
            text = _clean(re.sub(r"^(?:,? ?(?:and|or) |, )", "", caption[start:m.start()].strip()))
        else:
            end = marks[k + 1].start() if k + 1 < len(marks) else len(caption)
            text = _clean(caption[m.end():end])
        subs.append(Subcaption([], m.group(0).strip(" ()"), text, position=word))
    preamble_end = caption.sentence_start(marks[0].start(), 0) if closing else marks[0].start()
    return CaptionSplit(str(caption), _clean(caption[:preamble_end]), subs, "position")
