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
from typing import Iterator, Optional

from .labeler import Labeler, with_label
from .taxonomy import Taxonomy, TaxonomyError, load_taxonomy

# ---------------------------------------------------------------- panel letters

_PAREN_PANELS = re.compile(r"\(\s*([A-Za-z])(?:\s*[,–—\-]\s*([A-Za-z]))*\s*\)")
_RANGE = re.compile(r"([A-Za-z])\s*[–—\-]\s*([A-Za-z])")
_LETTER = re.compile(r"[A-Za-z]")
# Bare panel letters: "A. The ...", "A, Growth ..." (sentence start); "of A, THL and B, MmPPOX";
# lowercase at a sentence start ("a Major ...") or after a comma ("..., b FESEM image"), where
# English would not put a lone lowercase letter (except the article "a" after a comma). Each
# pattern starts with a literal or a small set, so the regex engine skips ahead to candidates; a
# caption start is tried on its own. BMC and Springer captions put a capital letter and a space
# before the panel's capitalised first word ("... function. A Functional analysis ... B The"):
# the article "A" can stand there too, but no caption's "B" can, and a and b are both needed.
_BARE_PANELS = (
    re.compile(r"[.;:]\s*([A-H])[.,:)]\s+"),
    re.compile(r"([A-H]),\s+(?=[A-Z])"),  # ... and not after a letter, digit, "(" or "-" (checked)
    re.compile(r"[.;:]\s+([a-h])[.,:)]?\s+"),
    re.compile(r",\s+([b-h])[.,:)]?\s+"),
    re.compile(r"[.;:]\s+([A-H])\s+(?=[A-Z])"),
)
_FIRST_PANEL = (re.compile(r"([A-H])[.,:)]\s+"), re.compile(r"([A-H])\s+(?=[A-Z])"), re.compile(r"([a-h])[.,:)]?\s+"))
_NOT_BEFORE_BARE = re.compile(r"[\w(\-]")


def panel_letters(caption: str) -> set[str]:
    """The panel letters a caption names: "(A)", "(A–C)", "(a, b)", "A, ...", "b FESEM ..."."""
    letters: set[str] = set()
    for m in _PAREN_PANELS.finditer(caption):
        group = m.group(0)
        letters.update(ch.lower() for ch in _LETTER.findall(group))
        for lo, hi in _RANGE.findall(group):  # "(A–C, E–G)" names B, F too
            letters.update(chr(c) for c in range(ord(lo.lower()), ord(hi.lower()) + 1))
    for i, pattern in enumerate(_BARE_PANELS):
        for m in pattern.finditer(caption):
            at = m.start(1)
            if i != 1 or at == 0 or not _NOT_BEFORE_BARE.match(caption, at - 1):
                letters.add(m.group(1).lower())
    for pattern in _FIRST_PANEL:
        m = pattern.match(caption)
        if m:
            letters.add(m.group(1).lower())
    return letters


def caption_panel_type(caption: str) -> Optional[str]:
    """``multiple`` when the caption names panels a and b; else None (absence proves nothing)."""
    letters = panel_letters(caption)
    return "multiple" if {"a", "b"} <= letters else None


# ---------------------------------------------------------------- one-pass cue scanner

_UNSAFE_LOWER = re.compile(r"\\[SWDBAZ]|\[[^\]]*[A-Z]-[A-Z]")
_MAX_PREFIXES = 4000
_PREFIX = 5  # characters of each alternative the candidate index knows (fewer false candidates)


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

    prefixes: frozenset[str]  # the first characters of every alternative (those anchored at ^ aside)
    before: str  # what a candidate position must satisfy (a lookbehind)
    # first character -> the alternation of the alternatives that can start so, and its groups'
    # numbers -> alternative index (``Match.lastindex`` is the alternative that matched)
    by_head: dict[str, tuple[re.Pattern, dict[int, int]]]
    at_start: bool = False  # some alternative is anchored at the text's start: position 0 is always tried

    @classmethod
    def build(cls, alternatives: list[tuple[int, str]], boundary_before: str, boundary_after: str,
              before: Optional[str] = None) -> "_Scanner":
        """``boundary_before`` / ``boundary_after`` frame every match; ``before`` (default:
        ``boundary_before``) is what a candidate position must satisfy."""
        heads: dict[str, dict[int, list[str]]] = {}
        prefixes: set[str] = set()
        at_start = False
        for index, pattern in alternatives:
            parsed = sre_parse.parse(pattern)
            found = _prefixes(parsed, _PREFIX)
            if found is None or "" in found:
                raise TaxonomyError(f"cue {pattern!r} must start with a known character (a letter, a digit, "
                                    "a small [set]); \\w, '.' or an empty match cannot be indexed")
            if parsed and parsed[0] == (sre_c.AT, sre_c.AT_BEGINNING):
                at_start = True  # matches only at position 0, which is always tried: no candidates elsewhere
            else:
                prefixes |= found
            for head in {p[0] for p in found}:
                heads.setdefault(head, {}).setdefault(index, []).append(pattern)
        # classes keep the taxonomy's order inside every bucket: the first class listed wins at a position
        by_head = {}
        for head, grouped in heads.items():
            compiled = re.compile(boundary_before + "(?:" + "|".join(
                f"(?P<g{i}>" + "|".join(ps) + ")" for i, ps in sorted(grouped.items())) + ")" + boundary_after)
            by_head[head] = compiled, {number: int(name[1:]) for name, number in compiled.groupindex.items()
                                       if re.fullmatch(r"g\d+", name)}
        return cls(frozenset(prefixes), boundary_before if before is None else before, by_head, at_start)

    def candidates(self) -> str:
        """A regex of the positions where some alternative can start."""
        return self.before + "(?=" + _trie_regex(set(self.prefixes)) + ")" if self.prefixes else "(?!)"


_WORD_START = r"(?<!\w)"


@dataclass
class _TextRules:
    """All caption cues of a taxonomy: terms on the lowercased text, abbreviations case-sensitively.
    Scanner alternative ``g<i>`` is class ``classes[i]``. Exclusion phrases are blanked out first.
    The primary classes' weak ``cues`` have their own scanner (alternative ``g<j>`` is ``cue_of[j]``),
    on the lowercased text too: one regex pass finds the candidate positions of both, and each
    keeps its own leftmost, non-overlapping matches, as if it had scanned alone."""

    classes: list[tuple[str, str]]  # (primary, secondary)
    terms: Optional[_Scanner]
    abbreviations: Optional[_Scanner]
    exclude: Optional[re.Pattern]
    cues: Optional[_Scanner] = None
    cue_of: list[str] = field(default_factory=list)  # cue index -> primary class

    def __post_init__(self) -> None:
        self._alone = {id(sc): re.compile(sc.candidates()) for sc in (self.terms, self.abbreviations, self.cues)
                       if sc is not None}
        if self.terms is not None and self.cues is not None and self.terms.before == _WORD_START:
            # cue candidates are word starts or non-word characters: their word-character prefixes
            # join the terms' trie, the others need no lookbehind
            word = {p for p in self.cues.prefixes if re.match(r"\w", p)}
            other = self.cues.prefixes - word
            self._terms_and_cues = re.compile(_WORD_START + "(?=" + _trie_regex(set(self.terms.prefixes) | word) + ")"
                                              + ("|(?=" + _trie_regex(set(other)) + ")" if other else ""))
        else:
            self._terms_and_cues = None

    def scan(self, text: str, cues: bool = True) -> tuple[dict[int, int], dict[str, int]]:
        """Class index -> offset of its first mention in ``text``; and (when ``cues``) primary
        class -> how many of its different cues the text has."""
        lower = text.lower()
        blanked = self.exclude.sub(lambda m: " " * len(m.group(0)), text) if self.exclude is not None else text
        terms = (self.terms, lower if blanked == text else blanked.lower(), {}) if self.terms is not None else None
        cue = (self.cues, lower, {}) if cues and self.cues is not None else None
        if terms and cue and blanked == text and self._terms_and_cues is not None:
            _leftmost([terms, cue], self._terms_and_cues.finditer(lower))  # one pass for both
        else:
            for job in (terms, cue):
                if job is not None:
                    _leftmost([job], self._alone[id(job[0])].finditer(job[1]))
        first: dict[int, int] = dict(terms[2]) if terms else {}
        if self.abbreviations is not None:
            found: dict[int, int] = {}
            _leftmost([(self.abbreviations, blanked, found)], self._alone[id(self.abbreviations)].finditer(blanked))
            for i, at in found.items():
                first[i] = min(first.get(i, at), at)
        counts: dict[str, int] = {}
        for j in (cue[2] if cue else ()):
            counts[self.cue_of[j]] = counts.get(self.cue_of[j], 0) + 1
        return first, counts

    def first_positions(self, text: str) -> dict[int, int]:
        """Class index -> offset of its first mention in ``text``."""
        return self.scan(text, cues=False)[0]

    def cue_counts(self, text: str) -> dict[str, int]:
        """Primary class -> how many of its different cues the text has."""
        return self.scan(text)[1]


def _leftmost(jobs: list[tuple[_Scanner, str, dict[int, int]]], candidates: Iterator[re.Match]) -> None:
    """Each job's leftmost, non-overlapping matches at the candidate positions: the first offset of
    every alternative index matched, into the job's dict."""
    positions = [m.start() for m in candidates]
    if (not positions or positions[0]) and any(scanner.at_start and subject for scanner, subject, _ in jobs):
        positions.insert(0, 0)
    for scanner, subject, found in jobs:  # independent of each other: one job at a time
        by_head = scanner.by_head
        end = 0
        for pos in positions:
            if pos >= end:
                head = by_head.get(subject[pos])
                m = head[0].match(subject, pos) if head is not None else None
                if m is not None:
                    found.setdefault(head[1][m.lastindex], pos)
                    end = m.end()


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
            _Scanner.build(terms, _WORD_START, r"(?!\w)") if terms else None,
            _Scanner.build(abbrs, r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])") if abbrs else None,
            re.compile("|".join(re.escape(e) for e in excludes)) if excludes else None,
            # cues carry their own \\b; a candidate is a word start or a non-word character ("±")
            _Scanner.build(cues, "", "", r"(?:(?<!\w)|(?=\W))") if cues else None, cue_of)
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
    paragraph does. ``first_at``: primary -> offset of its first mention in the caption;
    ``title``: the primaries its title names.
    """

    classes: dict[tuple[str, str], float] = field(default_factory=dict)
    first_at: dict[str, int] = field(default_factory=dict)
    cues: dict[str, int] = field(default_factory=dict)  # primary -> how many of its cues the caption has
    panel_type: Optional[str] = None  # "multiple" when the caption names panels a and b
    title: frozenset[str] = frozenset()

    @property
    def chart_cue(self) -> bool:
        """The caption describes plotted statistics (means ± SD, a distribution, a p-value...)."""
        return "Plots and Charts" in self.cues

    @property
    def first(self) -> Optional[str]:
        """The primary class the caption mentions first."""
        return min(self.first_at, key=self.first_at.get) if self.first_at else None

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

    def evidence(self, row: dict, context: bool = True) -> CaptionEvidence:
        """The caption's evidence, and the citing paragraphs' unless ``context`` is False."""
        caption = row.get("caption") or ""
        end = title_end(caption)
        classes: dict[tuple[str, str], float] = {}
        first_at: dict[str, int] = {}
        title: set[str] = set()
        mentions, cues = self._rules.scan(caption)
        for i, at in mentions.items():
            cls = self._rules.classes[i]
            classes[cls] = CAPTION_WEIGHT + (TITLE_WEIGHT if at < end else 0.0)
            first_at[cls[0]] = min(first_at.get(cls[0], at), at)
            if at < end:
                title.add(cls[0])
        paragraphs = " ".join(row.get("image_context") or []) if context else ""
        for i in (self._rules.first_positions(paragraphs) if paragraphs else ()):
            cls = self._rules.classes[i]
            classes[cls] = classes.get(cls, 0.0) + CONTEXT_WEIGHT
        return CaptionEvidence(classes, first_at, cues, caption_panel_type(caption), frozenset(title))

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
