"""Panel labels: the letters drawn on a compound figure (A, B, (a), c...) and where they are.

A label is a lone glyph, or a glyph in parentheses, of the size of large text, with clear space on
its left, right and top (so it is no letter of a word), that reads as a letter; or the same drawn
in the background colour: cut out of a solid disc, or light on a dark image. A figure's labels
are alike in size and make the run a, b, c... : candidates are read with the glyph matcher
(`glyphs.letter_scores`), then the set that best spells a run from ``a`` is kept, each glyph read
as the letter the run needs when its shape allows it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .components import Components, connected_components
from .glyphs import ALPHABET, letter_scores
from .ink import InkMap, SummedArea

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in working pixels
_I, _L = ALPHABET.index("i"), ALPHABET.index("l")
_ASCENDERS = frozenset(ALPHABET.index(c) for c in "bdfhkl")


@dataclass(frozen=True)
class PanelLabel:
    box: Rect  # the glyph and its parentheses, working pixels
    letter: str  # "a".."z"
    score: float  # the glyph matcher's score for that letter


@dataclass
class LabelConfig:
    min_height: int = 8  # pixels (working scale)
    max_height_share: float = 0.09  # of the figure's longest side
    min_aspect: float = 0.2  # width / height of the glyph
    max_aspect: float = 1.6
    min_fill: float = 0.12  # ink share of the glyph's box
    max_fill: float = 0.95
    bar_aspect: float = 0.3  # a glyph narrower than this (width / height) is a bar: I or l
    min_bar_aspect: float = 0.1
    bar_fill: float = 0.8  # ... and it is solid
    bar_score: float = 0.55  # what a bar scores as I and l (the matcher cannot read a solid bar)
    clear_left: float = 0.45  # free space needed around the label, in glyph heights
    clear_right: float = 0.65
    enclosed_clear_right: float = 0.2  # ... for a glyph in parentheses, "(A) Title"
    piece_size: float = 0.4  # a piece of ink in a glyph's columns and rows up to this many glyph heights is a broken stroke of it
    joined_aspect: float = 0.9  # a glyph this wide (of its height) may be a letter and its ")" touching ...
    joint_ink: float = 0.2  # ... parted at a column this much ink (glyph heights) in its top or bottom third ...
    closing_height: float = 0.8  # ... before a stroke spanning this share of its height ...
    closing_width: float = 0.45  # ... at most this wide (glyph heights)
    max_mark_height: float = 2.3  # a parenthesis up to this many glyph heights: serif "(a)" spans twice its x-height
    badge_size: float = 1.6  # a letter on a disc or square: the badge up to this many label heights
    badge_aspect: float = 1.3  # ... about as wide as high (within this ratio)
    badge_fill: float = 0.5  # ... solid (a disc with its letter cut out fills about 0.6 of its box)
    badge_letter: float = 0.35  # ... and the letter at least this share of its height
    clear_top: float = 0.25
    clear_bottom: float = 0.12
    min_score: float = 0.45  # glyph-matcher score to read a glyph as a letter
    crowded_start: float = 0.7  # score an "a" crowded on its right or below needs to start the labels
    strong_score: float = 0.8  # a glyph that reads this well may be the next letter lower and right of the last
    max_doubt: float = 0.12  # ... and it may score at most this much below the glyph's best letter
    weak_score: float = 0.25  # enough for a glyph that sits between two found labels
    aligned_bonus: float = 0.2  # preference for a glyph in line with the labels found
    max_missing: int = 1  # letters in a row that may be unreadable inside a run
    max_height_ratio: float = 1.45  # labels of one figure differ in height at most this much (a vs b)
    ascender_ratio: float = 1.55  # ... or a b, d, f, h, k, l read strongly this much taller (a bold "b" beside an "a")
    even_height_ratio: float = 1.2  # ... or this much once three found are of one height (capitals)
    max_labels: int = 26
    glyph_ink: int = 64  # strength (0-255) a glyph pixel needs: crisp shapes, no JPEG halo
    light_letters: bool = True  # also read letters drawn light on dark ground (a white C on a micrograph)
    dark_block: float = 0.6  # ... looked for only near blocks (a label's least height square) this much ink
    light_margin: float = 0.25  # ... clear when at most this share of its margin is light
    light_ground: float = 3.0  # ... on dark ground at least this many glyph heights wide and high
    light_run_score: float = 0.7  # ... and kept only in a run missing no letter, each read this well
    ground_fill: float = 0.6  # ... and solid: ink fills this share of its box (a bold letter's strokes do not)
    light_corner: float = 1.5  # ... within this many glyph heights of its ground's top-left corner
    subscript_top: float = 0.5  # ... and a glyph right of it starting this low (glyph heights) ...
    subscript_height: float = 0.75  # ... and at most this tall is its subscript, no letter of a word


@dataclass(eq=False)
class _Glyph:
    box: Rect  # with parentheses
    core: Rect  # the letter alone
    clear: bool  # free space around it (else it may be a letter of a word or touch a title)
    open_left: bool  # free space on its left and above (a label crowded by its title on the right)
    scores: np.ndarray  # how much it looks like each letter a-z
    light: bool = False  # drawn light on a dark image (`_light_glyphs`)


def _shape_ok(c: Components, k: int, cfg: LabelConfig, max_height: int) -> bool:
    w, h = int(c.x1[k] - c.x0[k]), int(c.y1[k] - c.y0[k])
    if not cfg.min_height <= h <= max_height or not cfg.min_bar_aspect <= w / h <= cfg.max_aspect:
        return False
    fill = c.pixels[k] / (w * h)
    if w / h < cfg.bar_aspect:
        return fill >= cfg.bar_fill
    return w / h >= cfg.min_aspect and cfg.min_fill <= fill <= cfg.max_fill


def _marks(c: Components, k: int, by_x: np.ndarray, x0s: np.ndarray, cfg: LabelConfig) -> tuple[int | None, int | None]:
    """Indices of a "(" just left of glyph ``k`` and of a ")" or "." just right of it ("(a)",
    "a)", "a."), None where there is none. ``by_x``: component indices sorted by x0 (``x0s``)."""
    x0, y0, x1, y1 = int(c.x0[k]), int(c.y0[k]), int(c.x1[k]), int(c.y1[k])
    h = y1 - y0
    lo, hi = np.searchsorted(x0s, [x0 - 2 * h, x1 + h])
    near = by_x[lo:hi]
    near = near[(c.x1[near] > x0 - h) & (c.y1[near] > y0) & (c.y0[near] < y1) & (near != k)]
    left = right = None
    for j in near.tolist():
        jh, jw = int(c.y1[j] - c.y0[j]), int(c.x1[j] - c.x0[j])
        tall = jh >= 0.9 * h and jh <= cfg.max_mark_height * h and jw <= 0.55 * jh and c.y0[j] <= y0 + 0.2 * h and c.y1[j] >= y1 - 0.2 * h
        dot = jh <= 0.3 * h and jw <= 0.3 * h and abs(int(c.y1[j]) - y1) <= 0.15 * h
        if tall and c.x1[j] <= x0 and x0 - c.x1[j] <= 0.5 * h:
            left = j
        elif (tall or dot) and c.x0[j] >= x1 and c.x0[j] - x1 <= (0.5 if tall else 0.35) * h:
            right = j if right is None or c.x0[j] < c.x0[right] else right
    return left, right


def _rect(c: Components, k: int) -> Rect:
    return int(c.x0[k]), int(c.y0[k]), int(c.x1[k]), int(c.y1[k])


def _with_pieces(c: Components, k: int, by_x: np.ndarray, x0s: np.ndarray, cfg: LabelConfig) -> Rect:
    """Glyph ``k``'s box grown by the small pieces of ink under or over it within its rows, at
    most a pixel apart: a serif letter whose thin strokes break apart at the working scale (the
    foot of a serif "A" a component of its own) would else be crowded by its own foot (round 23).
    ``by_x``: component indices sorted by x0 (``x0s``)."""
    x0, y0, x1, y1 = _rect(c, k)
    h = y1 - y0
    lo, hi = np.searchsorted(x0s, [x0 - h, x1 + 1])
    near = by_x[lo:hi]
    pieces = near[(near != k) & (c.x1[near] > x0) & (c.x0[near] < x1) & (c.y0[near] >= y0 - 1) & (c.y1[near] <= y1 + 1)
                  & (c.y1[near] - c.y0[near] <= cfg.piece_size * h) & (c.x1[near] - c.x0[near] <= cfg.piece_size * h)]
    if pieces.size == 0:
        return x0, y0, x1, y1
    return (min(x0, int(c.x0[pieces].min())), min(y0, int(c.y0[pieces].min())),
            max(x1, int(c.x1[pieces].max())), max(y1, int(c.y1[pieces].max())))


def _margin(box: Rect, core_h: int, cfg: LabelConfig, right: float, bottom: float, top: float | None = None) -> Rect:
    """``box`` grown by the free space a label needs around it (``right``, ``bottom``, ``top``
    (default ``clear_top``): in glyph heights)."""
    x0, y0, x1, y1 = box
    return (x0 - int(round(cfg.clear_left * core_h)), y0 - int(round((cfg.clear_top if top is None else top) * core_h)),
            x1 + int(round(right * core_h)), y1 + int(round(bottom * core_h)))


def _clear(ink: SummedArea, box: Rect, core_h: int, cfg: LabelConfig, right: float, bottom: float,
           top: float | None = None) -> bool:
    """No ink around ``box`` but its own (``right``, ``bottom``, ``top``: margins in glyph heights)."""
    return ink.count(*_margin(box, core_h, cfg, right, bottom, top)) == ink.count(*box)


def _under_rule(area: SummedArea, c: Components, box: Rect, h: int, cfg: LabelConfig, right: float, bottom: float) -> bool:
    """Clear of ink around ``box`` but for lines drawn above it: a group heading's rule over
    the panels it spans, set a little above their letters (round 23). Each piece of ink in the
    free space above is thin (at most ``clear_top`` glyph heights), wholly above the glyph and
    reaches a glyph height or more past the free space on its left or right (a line, not the
    corner of a frame or the top of a chart beside the letter)."""
    if not _clear(area, box, h, cfg, right, bottom, top=0.0):
        return False
    x0, y0, x1, _ = _margin(box, h, cfg, right, bottom)
    above = np.flatnonzero((c.x1 > x0) & (c.x0 < x1) & (c.y1 > y0) & (c.y0 < box[1]))
    return bool(above.size) and bool(((c.y1[above] <= box[1]) & (c.y1[above] - c.y0[above] <= cfg.clear_top * h)
                                      & ((c.x0[above] <= x0 - h) | (c.x1[above] >= x1 + h))).all())


def _light(ink: SummedArea, rect: Rect, within: Rect) -> tuple[int, int]:
    """Pixels of ``rect`` inside ``within`` without ink, and all of its pixels inside ``within``."""
    x0, y0, x1, y1 = max(within[0], rect[0]), max(within[1], rect[1]), min(within[2], rect[2]), min(within[3], rect[3])
    pixels = max(0, x1 - x0) * max(0, y1 - y0)
    return pixels - ink.count(x0, y0, x1, y1), pixels


def _dark_around(ink: SummedArea, box: Rect, core_h: int, cfg: LabelConfig, right: float, bottom: float,
                 ground: Rect) -> bool:
    """``_clear`` inverted, for a light glyph: its margin on its ``ground`` (the image it is drawn
    on) is ink, all but ``light_margin`` of it (a photograph's specks). The page beyond the
    image's edge is not looked at: a letter may be set tight in its image's corner (round 19)."""
    outer_light, outer = _light(ink, _margin(box, core_h, cfg, right, bottom), ground)
    own_light, own = _light(ink, box, ground)
    return outer_light - own_light <= cfg.light_margin * (outer - own)


def _inverted(ink: InkMap, rect: Rect) -> np.ndarray:
    """The patch of ``rect`` to read a glyph drawn in the background colour: light and dark swapped."""
    x0, y0, x1, y1 = rect
    return (255 - ink.strength[y0:y1, x0:x1]).astype(np.uint8)


def _glyphs(ink: InkMap, area: SummedArea, comps: Components, cfg: LabelConfig) -> list[_Glyph]:
    max_height = max(cfg.min_height, int(cfg.max_height_share * max(ink.width, ink.height)))
    heights = comps.y1 - comps.y0
    small = np.flatnonzero((heights >= cfg.min_height) & (heights <= 2 * max_height))
    by_x = np.argsort(comps.x0, kind="stable")
    x0s = comps.x0[by_x]
    found: list[tuple] = []
    joined: list[tuple[int, int]] = []  # (a glyph, its letter before a closing stroke) in ``found``
    sx0, sy0, sx1, sy1 = (a[small] for a in (comps.x0, comps.y0, comps.x1, comps.y1))
    # ink on the pixel around a glyph's box: a piece of it may lie there (`_with_pieces`)
    touched = area.counts(sx0 - 1, sy0 - 1, sx1 + 1, sy1 + 1) > area.counts(sx0, sy0, sx1, sy1)
    for k, near in zip(small.tolist(), touched.tolist()):
        if not _shape_ok(comps, k, cfg, max_height):
            continue
        core = _with_pieces(comps, k, by_x, x0s, cfg) if near else _rect(comps, k)
        box = core
        left, right = _marks(comps, k, by_x, x0s, cfg)
        if right is not None:  # "(a)" or "a)" or "a.": the marks are part of the label
            first = core if left is None else _rect(comps, left)
            box = (first[0], min(core[1], int(comps.y0[right]), first[1]),
                   int(comps.x1[right]), max(core[3], int(comps.y1[right]), first[3]))
        x0, y0, x1, y1 = core
        h = core[3] - core[1]
        # a glyph closed by parentheses is no letter of a word: its title may follow after a space
        right_margin = cfg.enclosed_clear_right if left is not None and right is not None else cfg.clear_right
        entry = _candidate(area, box, core, h, cfg, right_margin, ink.strength[y0:y1, x0:x1])
        # crowded on its left or above: by a rule over it?
        if not entry[3] and _under_rule(area, comps, box, h, cfg, right_margin, cfg.clear_bottom):
            entry = (box, core, True, True, entry[4])
        found.append(entry)
        wide = x1 - x0 >= cfg.joined_aspect * h
        letter = _before_closing_stroke(area, core, cfg) if right is None and wide else None
        if letter is not None:  # "A)" drawn as one piece: its letter read alone, the whole its label
            joined.append((len(found) - 1, len(found)))
            lx0, ly0, lx1, ly1 = letter
            found.append(_candidate(area, core, letter, ly1 - ly0, cfg, cfg.clear_right, ink.strength[ly0:ly1, lx0:lx1]))
    found += _badges(ink, area, comps, cfg, max_height)
    dark = len(found)
    if cfg.light_letters:
        found += _light_glyphs(ink, area, comps, cfg, max_height)
    # a glyph crowded on its left or above is no label by any rule (`_run`, `find_labels`):
    # it is not read (two thirds of the candidates of a figure)
    scores = letter_scores([f[4] if f[3] else None for f in found])
    for (_, (x0, y0, x1, y1), *_), s in zip(found, scores):
        if x1 - x0 < cfg.bar_aspect * (y1 - y0):
            s[_I] = s[_L] = max(s[_I], s[_L], cfg.bar_score)
    # a whole that reads as a letter is one (an "H", an "N"): its part is no letter before a mark
    dropped = {part for whole, part in joined if scores[whole][:len(ALPHABET)].max() >= cfg.min_score}
    return [_Glyph(box, core, clear, open_left, s, k >= dark)
            for k, ((box, core, clear, open_left, _), s) in enumerate(zip(found, scores)) if open_left and k not in dropped]


def _before_closing_stroke(area: SummedArea, core: Rect, cfg: LabelConfig) -> Rect | None:
    """The letter of a glyph that is a letter and its closing parenthesis drawn touching ("A)"
    whose foot runs into the ")", round 23), None when ``core`` is no such glyph: a column in its
    right half holding at most ``joint_ink`` glyph heights of ink, all in its top or bottom
    third (a foot or a serif, not an H's bar), with a stroke right of it spanning ``closing_height`` of the glyph's height and at
    most ``closing_width`` as wide, and the letter left of it."""
    x0, y0, x1, y1 = core
    w, h = x1 - x0, y1 - y0
    t = area.table
    cols = np.diff(t[y1, x0:x1 + 1] - t[y0, x0:x1 + 1])
    lo, hi = w // 2, w - 2
    if hi <= lo:
        return None
    j = lo + int(np.argmin(cols[lo:hi]))
    if cols[j] > cfg.joint_ink * h or w - j - 1 > cfg.closing_width * h:
        return None
    def rows(a: int, b: int) -> np.ndarray:
        return np.flatnonzero(np.diff(t[y0:y1 + 1, x0 + b] - t[y0:y1 + 1, x0 + a]))
    joint, stroke, letter = rows(j, j + 1), rows(j + 1, w), rows(0, j)
    if joint.size and not ((3 * joint >= 2 * h).all() or (3 * joint < h).all()):
        return None
    if stroke.size == 0 or stroke[-1] - stroke[0] + 1 < cfg.closing_height * h or letter.size == 0:
        return None
    left = np.flatnonzero(cols[:j])
    return x0 + int(left[0]), y0 + int(letter[0]), x0 + int(left[-1]) + 1, y0 + int(letter[-1]) + 1


def _badges(ink: InkMap, area: SummedArea, comps: Components, cfg: LabelConfig, max_height: int) -> list[tuple]:
    """Letters drawn in the background colour on a solid disc or square (a white A on a black
    circle): the disc, about as wide as high and at least twice a label's least height, holds an
    enclosed hole of a label's size; the hole is read as the glyph. Entries as `_glyphs`
    collects them."""
    heights, widths = comps.y1 - comps.y0, comps.x1 - comps.x0
    fill = comps.pixels / np.maximum(1, heights * widths)
    solid = np.flatnonzero((heights >= 2 * cfg.min_height) & (heights <= cfg.badge_size * max_height)
                           & (np.abs(np.log(np.maximum(1, widths) / np.maximum(1, heights))) <= np.log(cfg.badge_aspect))
                           & (fill >= cfg.badge_fill))
    found = []
    for k in solid.tolist():
        x0, y0, x1, y1 = int(comps.x0[k]), int(comps.y0[k]), int(comps.x1[k]), int(comps.y1[k])
        qx, qy = (x1 - x0) // 4, (y1 - y0) // 4
        if area.count(x0 + qx, y0 + qy, x1 - qx, y1 - qy) == (x1 - x0 - 2 * qx) * (y1 - y0 - 2 * qy):
            continue  # solid in the middle: a marker or a bar, no letter cut out of it
        holes = connected_components(ink.strength[y0:y1, x0:x1] <= max(cfg.glyph_ink, 1))
        inner = (holes.x0 > 0) & (holes.y0 > 0) & (holes.x1 < x1 - x0) & (holes.y1 < y1 - y0)
        if not inner.any():
            continue
        j = int(np.argmax(np.where(inner, holes.pixels, -1)))
        cx0, cy0, cx1, cy1 = int(holes.x0[j]), int(holes.y0[j]), int(holes.x1[j]), int(holes.y1[j])
        if cy1 - cy0 < max(cfg.badge_letter * (y1 - y0), cfg.min_height):
            continue  # a dot or speck inside a marker, not a letter
        core = (x0 + cx0, y0 + cy0, x0 + cx1, y0 + cy1)
        box = (x0, y0, x1, y1)
        found.append(_candidate(area, box, core, y1 - y0, cfg, cfg.clear_right, _inverted(ink, core)))
    return found


def _dark_blocks(area: SummedArea, cfg: LabelConfig) -> np.ndarray | None:
    """Where a light letter may be drawn, per square a label's least height across: the squares
    holding ``dark_block`` ink or more and the squares beside them (a letter's own squares are
    partly light). None when no 3 x 3 squares are all dark (a light letter's ground is at least
    three of its heights across; charts on a white page stop here)."""
    b = cfg.min_height
    rows, cols = area.height // b, area.width // b
    if rows < 3 or cols < 3:
        return None
    t = area.table[:rows * b + 1:b, :cols * b + 1:b]
    dense = (t[1:, 1:] - t[:-1, 1:] - t[1:, :-1] + t[:-1, :-1]) >= cfg.dark_block * b * b
    column = dense[:-2].astype(np.int8) + dense[1:-1] + dense[2:]
    if not (column[:, :-2] + column[:, 1:-1] + column[:, 2:] == 9).any():
        return None
    near = dense.copy()
    near[1:] |= dense[:-1]
    near[:-1] |= dense[1:]
    wide = near.copy()
    wide[:, 1:] |= near[:, :-1]
    wide[:, :-1] |= near[:, 1:]
    return wide


def _light_glyphs(ink: InkMap, area: SummedArea, comps: Components, cfg: LabelConfig, max_height: int) -> list[tuple]:
    """Letters drawn light on dark ground (a white C in the corner of a micrograph): components of
    light pixels (no crisp ink: near the page colour) of a label's size and shape, looked for only
    in and beside the dense dark parts of the figure (`_dark_blocks`), no letter of a word
    (`_in_word`), with a dark margin on that ground (`_dark_around`), in the top-left corner of dark ground much
    larger than themselves (`_ground`: the hole of a bold black letter is no white letter), brighter
    than the ground between their strokes (`_brighter`). Read with light and dark swapped.
    Entries as `_glyphs` collects them."""
    blocks = _dark_blocks(area, cfg)
    if blocks is None:
        return []
    b = cfg.min_height
    rows, cols = np.flatnonzero(blocks.any(axis=1)), np.flatnonzero(blocks.any(axis=0))
    oy, ox = int(rows[0]) * b, int(cols[0]) * b
    region = np.repeat(np.repeat(blocks[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], b, axis=0), b, axis=1)
    strength = ink.strength[oy:oy + region.shape[0], ox:ox + region.shape[1]]
    light = connected_components((strength <= max(cfg.glyph_ink, 1)) & region)
    heights = light.y1 - light.y0
    found = []
    for k in np.flatnonzero((heights >= cfg.min_height) & (heights <= max_height)).tolist():
        if not _shape_ok(light, k, cfg, max_height) or _in_word(light, k, cfg):
            continue
        core = x0, y0, x1, y1 = int(light.x0[k]) + ox, int(light.y0[k]) + oy, int(light.x1[k]) + ox, int(light.y1[k]) + oy
        h = y1 - y0
        if not (_inside(blocks, core, b) and _brighter(ink, core, cfg)):
            continue
        ground = _ground(comps, core, h, cfg)
        if ground is not None and _dark_around(area, core, h, cfg, cfg.clear_right, cfg.clear_bottom, ground):
            found.append((core, core, True, True, _inverted(ink, core)))
    return found


def _inside(blocks: np.ndarray, box: Rect, b: int) -> bool:
    """``box`` and the pixel around it lie in ``blocks`` (squares ``b`` across): a light shape cut
    off where the looked-at region ends (the page beside a dark image) is no glyph."""
    x0, y0, x1, y1 = box
    return bool(blocks[max(0, y0 - 1) // b:y1 // b + 1, max(0, x0 - 1) // b:x1 // b + 1].all())


def _in_word(c: Components, k: int, cfg: LabelConfig) -> bool:
    """Another glyph of ``c`` (a third of ``k``'s height or more, no larger) on ``k``'s row within
    the free space a label needs left and right of it, other than a subscript: ``k`` is a letter
    of a word (white text on a photograph), which the share of light pixels around it may not tell."""
    x0, y0, x1, y1 = int(c.x0[k]), int(c.y0[k]), int(c.x1[k]), int(c.y1[k])
    h = y1 - y0
    heights = c.y1 - c.y0
    # a subscript (the i of a panel lettered "a" with subscript "i": rows of one panel) is no next letter of a word
    subscript = (c.x0 >= x1 - 1) & (c.y0 >= y0 + cfg.subscript_top * h) & (heights <= cfg.subscript_height * h)
    near = ((c.x1 > x0 - cfg.clear_left * h) & (c.x0 < x1 + cfg.clear_right * h) & (c.y1 > y0) & (c.y0 < y1)
            & (heights >= h / 3) & (heights <= 1.5 * h) & ~subscript)
    return int(near.sum()) > 1  # k itself is one of them


def _ground(comps: Components, box: Rect, h: int, cfg: LabelConfig) -> Rect | None:
    """The box of the dark ground a light glyph ``box`` is drawn on, None when it is on none: the
    smallest component of ink whose box holds ``box``, at least ``light_ground`` glyph heights
    wide and high, filling ``ground_fill`` of its box (an image, not the strokes of a bold letter
    around its hole), with ``box`` in its top-left corner (within ``light_corner`` glyph heights of
    its left and top edges), where a panel's letter is drawn on its image."""
    x0, y0, x1, y1 = box
    holds = np.flatnonzero((comps.x0 <= x0) & (comps.y0 <= y0) & (comps.x1 >= x1) & (comps.y1 >= y1))
    if holds.size == 0:
        return None
    widths, heights = comps.x1[holds] - comps.x0[holds], comps.y1[holds] - comps.y0[holds]
    k = int(np.argmin(widths * heights))
    ground = holds[k]
    gx0, gy0 = int(comps.x0[ground]), int(comps.y0[ground])
    if (min(widths[k], heights[k]) >= cfg.light_ground * h
            and comps.pixels[ground] >= cfg.ground_fill * widths[k] * heights[k]
            and x0 - gx0 <= cfg.light_corner * h and y0 - gy0 <= cfg.light_corner * h):
        return gx0, gy0, int(comps.x1[ground]), int(comps.y1[ground])
    return None


def _brighter(ink: InkMap, box: Rect, cfg: LabelConfig) -> bool:
    """The glyph's pixels (no crisp ink) are brighter than the ink between its strokes (where the
    gutters are dark grey, text is "no ink" too and no light letter)."""
    x0, y0, x1, y1 = box
    grey = ink.pixels[y0:y1, x0:x1].mean(axis=2)
    glyph = ink.strength[y0:y1, x0:x1] <= max(cfg.glyph_ink, 1)
    return bool(glyph.any() and (~glyph).any() and grey[glyph].mean() - grey[~glyph].mean() >= cfg.glyph_ink)


def _candidate(area: SummedArea, box: Rect, core: Rect, h: int, cfg: LabelConfig, right_margin: float,
               patch: np.ndarray) -> tuple:
    """A glyph as `_glyphs` collects them: box, core, whether it is clear of ink around it
    (``right_margin`` glyph heights to its right), whether it is clear on its left and above
    (`_Glyph.open_left`), and the patch to read."""
    clear = _clear(area, box, h, cfg, right_margin, cfg.clear_bottom)
    return box, core, clear, clear or _clear(area, box, h, cfg, 0.0, 0.0), patch


def _first(area: SummedArea, g: _Glyph) -> bool:
    """Nothing drawn left of ``g`` (down to its bottom) or above it: the first thing in the figure."""
    x0, y0, x1, y1 = g.box
    return area.count(0, 0, x0, y1) == 0 and area.count(0, 0, x1, y0) == 0


def _height(g: _Glyph) -> int:
    return g.core[3] - g.core[1]


def _enclosed(g: _Glyph) -> bool:
    """Drawn with marks on both sides: "(a)", or cut out of a disc."""
    return g.box[0] < g.core[0] and g.box[2] > g.core[2]


def _sizes(glyphs: list[_Glyph]) -> list[int]:
    """The heights to compare glyphs by: of their parentheses when every one has them (a serif
    "(b)" is half again as tall as "(a)" but their parentheses are alike), else of the letters."""
    if all(_enclosed(g) for g in glyphs):
        return [g.box[3] - g.box[1] for g in glyphs]
    return [_height(g) for g in glyphs]


def _in_place(run: list[_Glyph], g: _Glyph, h: float) -> bool:
    """Whether ``g`` can be the next label after ``run`` in a layout read by rows or by columns:
    to the right on the same row; lower, starting left of (or under) the last label; or at the
    top of a new column, level with an earlier label."""
    last, tol = run[-1].box, 0.6 * h
    x0, y0 = g.box[0], g.box[1]
    if abs(y0 - last[1]) <= tol:
        return x0 > last[0]
    if y0 > last[1]:
        return x0 <= last[0] + 0.8 * h
    # the top of a new column: right of every label found (a layout read down its columns)
    return x0 > max(r.box[0] for r in run) and any(abs(y0 - r.box[1]) <= tol for r in run)


def _same_size(run: list[_Glyph], g: _Glyph, cfg: LabelConfig, letter: int) -> bool:
    """Of the height of the labels found: within ``max_height_ratio`` (lower-case labels mix
    x-height and ascender letters), or ``even_height_ratio`` once three found are of one height;
    a glyph that reads very well (``strong_score``) as an ascender letter may be taller by
    ``ascender_ratio``."""
    *heights, own = _sizes(run + [g])
    ratio = cfg.max_height_ratio
    if len(heights) >= 3 and max(heights) <= 1.12 * min(heights):
        ratio = cfg.even_height_ratio
    if letter in _ASCENDERS and own > max(heights) and g.scores[letter] >= cfg.strong_score:
        ratio = max(ratio, cfg.ascender_ratio)
    return max(own, max(heights)) <= ratio * min(own, min(heights))


def _doubtful(g: _Glyph, letter: int) -> bool:
    """A narrow glyph (i, l, 1, a bar) or one that reads as the letter only fairly."""
    w, h = g.core[2] - g.core[0], g.core[3] - g.core[1]
    return w < 0.4 * h or g.scores[letter] < 0.65


def _aligned(run: list[_Glyph], g: _Glyph, h: float) -> bool:
    """Level with, or in the column of, a label already found."""
    return any(abs(g.box[1] - r.box[1]) <= 0.6 * h or abs(g.box[0] - r.box[0]) <= 0.8 * h for r in run)


def _follows(a: _Glyph, b: _Glyph, h: float) -> bool:
    """Whether label ``b`` may come after label ``a``: not above-and-left of it, not left of it on its row."""
    dx, dy, tol = b.box[0] - a.box[0], b.box[1] - a.box[1], 0.6 * h
    if abs(dy) <= tol:
        return dx > 0
    return dy > 0 or dx > tol


def _diagonal(a: _Glyph, b: _Glyph, h: float) -> bool:
    """Whether ``b`` is on a lower row than ``a`` and right of it (the panel after a panel that
    spans rows, in a column of its own)."""
    return b.box[1] - a.box[1] > 0.6 * h and b.box[0] > a.box[0]


def _under_in_column(run: list[_Glyph], g: _Glyph, h: float) -> bool:
    """Whether ``g`` is right of the last label and under a label found in its column, at its
    left edge (an irregular layout: D under B in the right column, above C at the foot of the left
    one: round 20)."""
    return g.box[0] > run[-1].box[0] + h and any(abs(g.box[0] - r.box[0]) <= 0.5 * h and g.box[1] > r.box[1] + h for r in run)


def _readable(g: _Glyph, letter: int, cfg: LabelConfig) -> bool:
    """``g`` clearly reads as ``letter``: well, and not much worse than as its best letter."""
    score = g.scores[letter]
    return bool(score >= cfg.min_score and score >= g.scores.max() - cfg.max_doubt)


def _run(start: _Glyph, alike: list[_Glyph], cfg: LabelConfig) -> list[tuple[_Glyph, int]]:
    """The labels spelling a, b, c... from ``start`` (read as "a"). Each next letter is the glyph
    that clearly reads as it and sits where the layout allows (a narrow or weakly read glyph, from
    the third letter on, only in line with a label found: labels of a figure share rows and
    columns, stray digits and letters do not), else a glyph crowded by its title in the column of
    a label found; more than ``max_missing`` missing letters in a row end the run. A letter
    missing between two found ones is then filled with a glyph that sits between them and reads
    as it at least weakly (or, when words crowd it, clearly and in line with the labels found)."""
    h = float(_height(start))
    clear = [g for g in alike if g.clear]
    run: list[_Glyph | None] = [start]
    placed = [start]
    for letter in range(1, min(cfg.max_labels, len(ALPHABET))):
        # in the layout's reading order; or lower and right of the last label when it reads very well
        fits = [c for c in clear if c not in placed and _readable(c, letter, cfg)
                and (_in_place(placed, c, h) or (c.scores[letter] >= cfg.strong_score
                                                 and (_diagonal(placed[-1], c, h) or _under_in_column(placed, c, h))))
                and _same_size(placed, c, cfg, letter) and (len(placed) < 2 or _aligned(placed, c, h) or not _doubtful(c, letter))]
        # labels of a figure are alike: in line with the ones found, in parentheses when they are
        g = max(fits, key=lambda c: c.scores[letter] + cfg.aligned_bonus * (_aligned(placed, c, h) + (_enclosed(c) == _enclosed(start)))) if fits else None
        if g is None:
            # a label crowded by its title or tick labels, in the column of a label found and
            # not above the last one (a grid of panels continued)
            crowded = [c for c in alike if not c.clear and c.open_left and c not in placed and _readable(c, letter, cfg)
                       and _in_place(placed, c, h) and _same_size(placed, c, cfg, letter)
                       and any(abs(c.box[0] - r.box[0]) <= 0.5 * h for r in placed)
                       and c.box[1] > placed[-1].box[1] - 0.6 * h]
            g = max(crowded, key=lambda c: c.scores[letter]) if crowded else None
        if g is not None:
            run.append(g)
            placed.append(g)
        elif run[-cfg.max_missing:] == [None] * cfg.max_missing:
            break
        else:
            run.append(None)
    while run[-1] is None:
        run.pop()
    for letter in range(1, len(run) - 1):
        before = next(g for g in reversed(run[:letter]) if g is not None)
        after = next((g for g in run[letter + 1:] if g is not None), None)
        if run[letter] is None and after is not None:
            fits = [c for c in alike if c not in placed and _follows(before, c, h) and _follows(c, after, h)
                    and _same_size(placed, c, cfg, letter)
                    and (c.scores[letter] >= cfg.weak_score if c.clear else
                         c.open_left and c.scores[letter] >= cfg.min_score and _aligned(placed, c, h))]
            if fits:
                run[letter] = max(fits, key=lambda c: c.scores[letter])
                placed.append(run[letter])
    return [(g, letter) for letter, g in enumerate(run) if g is not None]


def _in_grid(run: list[tuple[_Glyph, int]], h: float) -> bool:
    """Whether the labels make a layout: at least half of them level with, or in the column of,
    another one (stray glyphs read as a run of letters are scattered)."""
    glyphs = [g for g, _ in run]
    aligned = sum(_aligned([o for o in glyphs if o is not g], g, h) for g in glyphs)
    return 2 * aligned >= len(glyphs)


def _sure(run: list[tuple[_Glyph, int]], cfg: LabelConfig) -> bool:
    """What a run holding light glyphs needs: no letter missing inside it (a, b, d), every one read
    ``light_run_score`` or better, and three letters or more unless one is drawn dark (two white
    letters on two images of a row of three may leave the third's letter unread)."""
    return (run[-1][1] + 1 == len(run) and min(float(g.scores[letter]) for g, letter in run) >= cfg.light_run_score
            and (len(run) >= 3 or not all(g.light for g, _ in run)))


def _worth(run: list[tuple[_Glyph, int]], cfg: LabelConfig) -> float:
    """How good a set of labels is: every label adds how much better than barely readable it
    reads (so a longer run of doubtful glyphs does not beat two clear labels)."""
    return sum(float(g.scores[letter]) - cfg.min_score for g, letter in run)


def _alike(own: int, start: int, cfg: LabelConfig) -> bool:
    """Whether a glyph of height ``own`` may be in a run started by one of height ``start``: within
    ``max_height_ratio``, or taller by ``ascender_ratio`` (an ascender letter: `_same_size` decides
    by the letter it is read as)."""
    if own > start:
        return own <= max(cfg.max_height_ratio, cfg.ascender_ratio) * start
    return start <= cfg.max_height_ratio * own


def find_labels(ink: InkMap, cfg: LabelConfig | None = None) -> list[PanelLabel]:
    """The panel labels of a figure, in letter order (empty when fewer than two are found)."""
    cfg = cfg or LabelConfig()
    crisp = ink.strength > max(cfg.glyph_ink, 1)
    area = SummedArea(crisp)
    glyphs = _glyphs(ink, area, connected_components(crisp), cfg)
    best: list[tuple[_Glyph, int]] = []
    clear = [g for g in glyphs if g.clear and _readable(g, 0, cfg)]
    # an "a" crowded on its right or below (by its panel's title or first bar) that reads
    # clearly, comes first in the figure (no ink left of it or above it) and heads a longer run
    crowded = [g for g in glyphs if not g.clear and g.open_left and g.scores[0] >= cfg.crowded_start
               and _readable(g, 0, cfg) and _first(area, g)]
    starts = sorted(clear, key=lambda g: -g.scores[0])[:4] + sorted(crowded, key=lambda g: -g.scores[0])[:2]
    for start in starts:
        h = _height(start)
        alike = [g for g in glyphs if g is not start and _alike(*_sizes([g, start]), cfg)]
        run = _run(start, alike, cfg)
        if any(g.light for g, _ in run) and not _sure(run, cfg):
            # a white letter read on one image and missed on the next (smaller, on a busier part),
            # or a speck read as a letter joining misread ticks, places the panels worse than none
            run = [] if start.light else _run(start, [g for g in alike if not g.light], cfg)
        if (not start.clear and len(run) < 3) or not _in_grid(run, h):
            continue
        if len(run) == 2 and run[1][1] != 1:
            continue  # two letters with the one between them missing (a, c): too little to place panels by (round 19)
        if _worth(run, cfg) > _worth(best, cfg):
            best = run
    if len(best) < 2:
        return []
    return [PanelLabel(g.box, ALPHABET[letter], float(g.scores[letter])) for g, letter in best]
