"""Caption rules: the taxonomy's terms and abbreviations found in a caption and its citing
paragraphs, and the panel letters a caption names.

All cues of all classes are scanned in one left-to-right pass per text: at each word start only
the alternatives whose first two characters can match there are tried (a prefix index built from
the regexes), with the semantics of one big alternation (leftmost match, the first class listed
in the taxonomy wins at a position, matches do not overlap).
"""
from __future__ import annotations

import re
import re._constants as sre_c
import re._parser as sre_parse
from dataclasses import dataclass, field
from typing import Optional

from .labeler import Labeler, with_label
from .taxonomy import Taxonomy, TaxonomyError, load_taxonomy

# ---------------------------------------------------------------- panel letters

_PAREN_PANELS = re.compile(r"\(\s*([A-Za-z])(?:\s*[,–—\-]\s*([A-Za-z]))*\s*\)")
_RANGE = re.compile(r"([A-Za-z])\s*[–—\-]\s*([A-Za-z])")
_LETTER = re.compile(r"[A-Za-z]")
# Bare panel letters: "A. The ...", "A, Growth ..." (sentence start); "of A, THL and B, MmPPOX";
# lowercase at a sentence start ("a Major ...") or after a comma ("..., b FESEM image"), where
# English would not put a lone lowercase letter (except the article "a" after a comma).
_BARE_PANELS = (
    re.compile(r"(?:^|[.;:]\s*)([A-H])[.,:)]\s+"),
    re.compile(r"(?<![\w(\-])([A-H]),\s+(?=[A-Z])"),
    re.compile(r"(?:^|[.;:]\s+)([a-h])[.,:)]?\s+"),
    re.compile(r",\s+([b-h])[.,:)]?\s+"),
)


def panel_letters(caption: str) -> set[str]:
    """The panel letters a caption names: "(A)", "(A–C)", "(a, b)", "A, ...", "b FESEM ..."."""
    letters: set[str] = set()
    for m in _PAREN_PANELS.finditer(caption):
        group = m.group(0)
        letters.update(ch.lower() for ch in _LETTER.findall(group))
        for lo, hi in _RANGE.findall(group):  # "(A–C, E–G)" names B, F too
            letters.update(chr(c) for c in range(ord(lo.lower()), ord(hi.lower()) + 1))
    for pattern in _BARE_PANELS:
        letters.update(m.group(1).lower() for m in pattern.finditer(caption))
    return letters


def caption_panel_type(caption: str) -> Optional[str]:
    """``multiple`` when the caption names panels a and b; else None (absence proves nothing)."""
    letters = panel_letters(caption)
    return "multiple" if {"a", "b"} <= letters else None


# ---------------------------------------------------------------- one-pass cue scanner

_UNSAFE_LOWER = re.compile(r"\\[SWDBAZ]|\[[^\]]*[A-Z]-[A-Z]")
_MAX_PREFIXES = 400


def _prefixes(items, k: int = 3) -> Optional[set[str]]:
    """Every string of length <= k that a match of the parsed pattern ``items`` can start with
    (a string shorter than k means "any character may follow"), or None when that set is not
    small (a category like \\w, a negated set, a backreference). Zero-width items are skipped,
    which only widens the set."""
    items = list(items)
    if k == 0 or not items:
        return {""}
    op, av = items[0]
    rest = items[1:]
    if op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
        return _prefixes(rest, k)
    if op == sre_c.LITERAL:
        heads = {chr(av)}
    elif op == sre_c.IN:
        heads = _charset(av)
    elif op == sre_c.SUBPATTERN:
        return _prefixes(list(av[-1]) + rest, k)
    elif op == sre_c.BRANCH:
        out: set[str] = set()
        for alt in av[1]:
            sub = _prefixes(list(alt) + rest, k)
            if sub is None:
                return None
            out |= sub
        return out if len(out) <= _MAX_PREFIXES else None
    elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
        lo, hi, body = av
        once = list(body)
        if hi == 0:
            return _prefixes(rest, k)
        more = [(op, (max(lo - 1, 0), hi - 1 if hi != sre_c.MAXREPEAT else hi, body))] if hi != 1 else []
        out = _prefixes(once + more + rest, k)
        if lo == 0:
            skip = _prefixes(rest, k)
            out = None if out is None or skip is None else out | skip
        return out
    else:
        return None
    if heads is None:
        return None
    tails = _prefixes(rest, k - 1)
    if tails is None:
        return {h for h in heads}  # the first character is known, the second is not
    out = {h + t for h in heads for t in tails}
    return out if len(out) <= _MAX_PREFIXES else None


def _charset(av) -> Optional[set[str]]:
    chars: set[str] = set()
    for op, val in av:
        if op == sre_c.LITERAL:
            chars.add(chr(val))
        elif op == sre_c.RANGE and val[1] - val[0] < 64:
            chars.update(chr(c) for c in range(val[0], val[1] + 1))
        else:  # NEGATE, CATEGORY, wide ranges
            return None
    return chars


def _trie_regex(prefixes: set[str]) -> str:
    """A regex matching exactly the strings that start with one of ``prefixes``, as a trie (so the
    engine compares one character per level instead of trying every prefix)."""
    if "" in prefixes:
        return ""
    children: dict[str, set[str]] = {}
    for p in prefixes:
        children.setdefault(p[0], set()).add(p[1:])
    leaves = sorted(c for c, rest in children.items() if "" in rest)
    branches = ([f"[{re.escape(''.join(leaves))}]"] if leaves else []) + [
        re.escape(c) + "(?:" + _trie_regex(rest) + ")" for c, rest in sorted(children.items()) if "" not in rest]
    return "|".join(branches)


@dataclass
class _Scanner:
    """Leftmost, non-overlapping matches of alternatives (named ``g<class index>``) over a text."""

    starts: re.Pattern  # positions whose first two characters some alternative can start with
    by_head: dict[str, re.Pattern]  # first character -> alternation of the alternatives that can start so

    @classmethod
    def build(cls, alternatives: list[tuple[int, str]], boundary_before: str, boundary_after: str) -> "_Scanner":
        heads: dict[str, dict[int, list[str]]] = {}
        prefixes: set[str] = set()
        for index, pattern in alternatives:
            found = _prefixes(sre_parse.parse(pattern))
            if found is None or "" in found:
                raise TaxonomyError(f"cue {pattern!r} must start with a known character (a letter, a digit, "
                                    "a small [set]); \\w, '.' or an empty match cannot be indexed")
            prefixes |= found
            for head in {p[0] for p in found}:
                heads.setdefault(head, {}).setdefault(index, []).append(pattern)
        # classes keep the taxonomy's order inside every bucket: the first class listed wins at a position
        by_head = {head: re.compile(boundary_before + "(?:" + "|".join(
            f"(?P<g{i}>" + "|".join(ps) + ")" for i, ps in sorted(grouped.items())) + ")" + boundary_after)
            for head, grouped in heads.items()}
        starts = re.compile(boundary_before + "(?=" + _trie_regex(prefixes) + ")")
        return cls(starts, by_head)

    def scan(self, text: str, first: dict[int, int]) -> None:
        """Record, per class index, the offset of its first match in ``text`` into ``first``."""
        end = 0
        by_head = self.by_head
        for s in self.starts.finditer(text):
            pos = s.start()
            if pos < end:
                continue
            m = by_head[text[pos]].match(text, pos)
            if m is not None:
                index = int(m.lastgroup[1:])
                if index not in first or pos < first[index]:
                    first[index] = pos
                end = m.end()


@dataclass
class _TextRules:
    """All caption cues of a taxonomy: terms on the lowercased text, abbreviations case-sensitively.
    Scanner alternative ``g<i>`` is class ``classes[i]``. Exclusion phrases are blanked out first.
    The primary classes' weak ``cues`` have their own scanner (alternative ``g<j>`` is ``cue_of[j]``)."""

    classes: list[tuple[str, str]]  # (primary, secondary)
    terms: Optional[_Scanner]
    abbreviations: Optional[_Scanner]
    exclude: Optional[re.Pattern]
    cues: Optional[_Scanner] = None
    cue_of: list[str] = field(default_factory=list)  # cue index -> primary class

    def cue_counts(self, text: str) -> dict[str, int]:
        """Primary class -> how many of its different cues the text has."""
        if self.cues is None:
            return {}
        found: dict[int, int] = {}
        self.cues.scan(text.lower(), found)
        counts: dict[str, int] = {}
        for j in found:
            counts[self.cue_of[j]] = counts.get(self.cue_of[j], 0) + 1
        return counts

    def first_positions(self, text: str) -> dict[int, int]:
        """Class index -> offset of its first mention in ``text``."""
        if self.exclude is not None:
            text = self.exclude.sub(lambda m: " " * len(m.group(0)), text)
        first: dict[int, int] = {}
        if self.terms is not None:
            self.terms.scan(text.lower(), first)
        if self.abbreviations is not None:
            self.abbreviations.scan(text, first)
        return first


def text_rules(taxonomy: Taxonomy) -> _TextRules:
    classes: list[tuple[str, str]] = []
    terms, abbrs, excludes = [], [], []
    cues, cue_of = [], []
    for p in taxonomy.primary:
        for cue in p.cues:
            if _UNSAFE_LOWER.search(cue.replace("\\b", "")):
                raise TaxonomyError(f"{p.name}: cue {cue!r} is matched on lowercased text; use lowercase classes only")
            cues.append((len(cue_of), cue.lower()))
            cue_of.append(p.name)
        for s in p.secondary:
            if not (s.terms or s.abbreviations):
                continue
            i = len(classes)
            classes.append((p.name, s.name))
            for t in s.terms:
                if _UNSAFE_LOWER.search(t):
                    raise TaxonomyError(f"{s.name}: term {t!r} is matched on lowercased text; "
                                        "use lowercase classes (\\w, [a-z]) only")
                terms.append((i, t.lower()))
            abbrs.extend((i, a) for a in s.abbreviations)
            excludes.extend(s.exclude)
    try:
        return _TextRules(
            classes,
            _Scanner.build(terms, r"(?<!\w)", r"(?!\w)") if terms else None,
            _Scanner.build(abbrs, r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])") if abbrs else None,
            re.compile("|".join(re.escape(e) for e in excludes)) if excludes else None,
            _Scanner.build(cues, "", "") if cues else None, cue_of)
    except re.error as exc:
        raise TaxonomyError(f"taxonomy {taxonomy.version}: bad term or abbreviation regex: {exc}") from exc


# ---------------------------------------------------------------- evidence and the rule labeler

CHART_CUE_SCORE = 0.25
_TITLE_END = re.compile(r"[.!?](?=\s|$|[A-Z(])")

TITLE_WEIGHT, CAPTION_WEIGHT, CONTEXT_WEIGHT = 1.0, 1.0, 0.5


def title_end(caption: str) -> int:
    """End of the caption's title: its first sentence (PMC captions start with a title)."""
    m = _TITLE_END.search(caption)
    return m.end() if m else len(caption)


@dataclass(frozen=True)
class CaptionEvidence:
    """What a caption (and the paragraphs citing the figure) say about a figure's content.

    ``classes``: (primary, secondary) -> weight: `CAPTION_WEIGHT` when the caption mentions the
    class, `TITLE_WEIGHT` more when its title (first sentence) does, `CONTEXT_WEIGHT` when a citing
    paragraph does. ``first_at``: primary -> offset of its first mention in the caption.
    """

    classes: dict[tuple[str, str], float] = field(default_factory=dict)
    first_at: dict[str, int] = field(default_factory=dict)
    cues: dict[str, int] = field(default_factory=dict)  # primary -> how many of its cues the caption has
    panel_type: Optional[str] = None  # "multiple" when the caption names panels a and b

    @property
    def chart_cue(self) -> bool:
        """The caption describes plotted statistics (means ± SD, a distribution, a p-value...)."""
        return "Plots and Charts" in self.cues

    def by_primary(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for (p, _), w in self.classes.items():
            out[p] = out.get(p, 0.0) + w
        return out

    def secondary(self, order: dict[str, int], primary: Optional[str] = None) -> list[str]:
        """Secondary classes, strongest first (ties in taxonomy order); only ``primary``'s when given."""
        items = [(k, w) for k, w in self.classes.items() if primary is None or k[0] == primary]
        return [s for (_, s), _w in sorted(items, key=lambda kv: (-kv[1], order[kv[0][0]]))]


@dataclass
class RuleLabeler(Labeler):
    """Caption and inline-reference text rules.

    The primary class with the most `CaptionEvidence` wins (ties: earliest mention in the caption,
    then taxonomy order); the score is its share of all evidence. Secondary labels: every matched
    class, strongest first. When no class matches but the caption describes plotted statistics
    (means ± SD, confidence intervals, a distribution, a plot...), the figure is `Plots and Charts`
    with no secondary label and the low score `CHART_CUE_SCORE`. Otherwise: no label.
    """

    taxonomy: Taxonomy = field(default_factory=load_taxonomy)
    batch_size: int = 1024
    name = "rules"

    def __post_init__(self) -> None:
        self._rules = text_rules(self.taxonomy)
        self.order = {p.name: p.id for p in self.taxonomy.primary}

    def label_batch(self, rows: list[dict]) -> list[dict]:
        return [self.label_row(r) for r in rows]

    def evidence(self, row: dict) -> CaptionEvidence:
        caption = row.get("caption") or ""
        context = " ".join(row.get("image_context") or [])
        end = title_end(caption)
        classes: dict[tuple[str, str], float] = {}
        first_at: dict[str, int] = {}
        for i, at in self._rules.first_positions(caption).items():
            cls = self._rules.classes[i]
            classes[cls] = CAPTION_WEIGHT + (TITLE_WEIGHT if at < end else 0.0)
            first_at[cls[0]] = min(first_at.get(cls[0], at), at)
        for i in (self._rules.first_positions(context) if context else ()):
            cls = self._rules.classes[i]
            classes[cls] = classes.get(cls, 0.0) + CONTEXT_WEIGHT
        return CaptionEvidence(classes, first_at, self._rules.cue_counts(caption), caption_panel_type(caption))

    def best(self, evidence: CaptionEvidence) -> Optional[str]:
        """The primary class the caption names most (ties: earliest in the caption, taxonomy order)."""
        scores = evidence.by_primary()
        if not scores:
            return None
        return min(scores, key=lambda p: (-scores[p], evidence.first_at.get(p, 1 << 30), self.order[p]))

    def label_row(self, row: dict) -> dict:
        ev = self.evidence(row)
        out = dict(row)
        if ev.panel_type:
            out["image_panel_type"] = ev.panel_type
        best = self.best(ev)
        if best is None:
            if ev.chart_cue:
                return with_label(out, self.taxonomy, "Plots and Charts", [], self.name, CHART_CUE_SCORE)
            return out
        scores = ev.by_primary()
        return with_label(out, self.taxonomy, best, ev.secondary(self.order), self.name,
                          scores[best] / sum(scores.values()))
