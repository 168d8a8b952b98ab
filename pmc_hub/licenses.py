"""License codes, URLs and statements -> commercial / noncommercial / other.

The table is versioned (`TABLE_VERSION`) so a build report says which rules sorted its rows.
Every signal an article gives (PMC code, license-type, URL, statement text) is classified on
its own; the most restrictive category wins, and no signal at all means `other`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

TABLE_VERSION = "2026.11-1"

COMMERCIAL = "commercial"
NONCOMMERCIAL = "noncommercial"
OTHER = "other"
CATEGORIES = (COMMERCIAL, NONCOMMERCIAL, OTHER)
_RANK = {COMMERCIAL: 0, NONCOMMERCIAL: 1, OTHER: 2}

# PMC license codes (PMC Cloud `license_code`, legacy oa_file_list "License" column).
CODES: dict[str, str] = {
    "CC0": COMMERCIAL,
    "CC BY": COMMERCIAL,
    "CC BY-SA": COMMERCIAL,
    "CC BY-ND": COMMERCIAL,
    "PUBLIC DOMAIN": COMMERCIAL,
    "PDM": COMMERCIAL,
    "CC BY-NC": NONCOMMERCIAL,
    "CC BY-NC-SA": NONCOMMERCIAL,
    "CC BY-NC-ND": NONCOMMERCIAL,
    "NO-CC CODE": OTHER,
    "TDM": OTHER,  # text-mining rights only, not a reuse license
}

# Creative Commons URL path elements, any version (1.0-4.0), IGO and jurisdiction ports.
_CC_URL = re.compile(
    r"creativecommons\.org/(?:licenses|licences)/(?P<kind>by(?:-nc)?(?:-sa|-nd)?|by-nd-nc|by-nc-nd|by-nc-sa|by-sa|by-nd)"
    r"(?:/(?P<version>\d\.\d))?(?:/(?P<port>igo|[a-z]{2}(?:-[a-z]{2})?))?",
    re.I,
)
_CC_ZERO_URL = re.compile(r"creativecommons\.org/(?:publicdomain/zero|publicdomain/mark)", re.I)
_KIND_CATEGORY = {
    "by": COMMERCIAL, "by-sa": COMMERCIAL, "by-nd": COMMERCIAL,
    "by-nc": NONCOMMERCIAL, "by-nc-sa": NONCOMMERCIAL, "by-nc-nd": NONCOMMERCIAL, "by-nd-nc": NONCOMMERCIAL,
}

# Free text: noncommercial wording must be checked before the plain CC BY wording.
_TEXT_RULES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"non[- ]?commercial|\bCC[- ]BY[- ]NC|\bBY-NC\b", re.I), NONCOMMERCIAL),
    (re.compile(r"\bCC0\b|\bCC[- ]?zero\b|public domain dedication|no copyright|public domain mark", re.I), COMMERCIAL),
    (re.compile(r"\bpublic domain\b|work of the (?:US|U\.S\.|United States) government|not subject to copyright", re.I), COMMERCIAL),
    (re.compile(r"Creative Commons Attribution(?: License|[- ]Share ?Alike| ShareAlike|[- ]No ?Deriv\w*|\s+\d\.\d|\s*\(CC[- ]BY\)| International)?|\bCC[- ]BY(?:[- ](?:SA|ND))?\b", re.I), COMMERCIAL),
]


@dataclass(frozen=True)
class LicenseDecision:
    category: str
    code: Optional[str]  # normalised PMC-style code when one could be named (e.g. "CC BY-NC 4.0")
    url: Optional[str]
    raw: Optional[str]  # the code / type / text as given
    signals: tuple[tuple[str, str], ...] = ()  # (signal, category) for the audit trail


def category_of_code(code: str) -> Optional[str]:
    """Category of a PMC license code such as ``CC BY-NC-SA``; None when the code is unknown."""
    norm = re.sub(r"\s+", " ", code.strip().upper().replace("_", " "))
    norm = re.sub(r"\s+\d\.\d$", "", norm)  # "CC BY 4.0" -> "CC BY"
    norm = norm.replace("CC-BY", "CC BY")
    if norm in CODES:
        return CODES[norm]
    return None


def category_of_url(url: str) -> Optional[str]:
    """Category of a license URL (any CC version, IGO, ports, CC0, public-domain mark)."""
    if _CC_ZERO_URL.search(url):
        return COMMERCIAL
    m = _CC_URL.search(url)
    if m:
        return _KIND_CATEGORY.get(m.group("kind").lower(), OTHER)
    return None


def code_of_url(url: str) -> Optional[str]:
    if _CC_ZERO_URL.search(url):
        return "CC0" if "zero" in url.lower() else "PDM"
    m = _CC_URL.search(url)
    if not m:
        return None
    code = "CC " + m.group("kind").upper()
    if m.group("version"):
        code += " " + m.group("version")
    if m.group("port") and m.group("port").lower() == "igo":
        code += " IGO"
    return code


_DASHES = re.compile("[\u2010-\u2015\u2212\u00ad]")


def category_of_text(text: str) -> Optional[str]:
    """Category of free license text; URLs inside the text count as URLs."""
    text = _DASHES.sub("-", text)
    for url in re.findall(r"https?://\S+", text):
        cat = category_of_url(url.rstrip(".,;)"))
        if cat:
            return _most_restrictive([cat] + ([c] if (c := _text_category(text)) else []))
    return _text_category(text)


def _text_category(text: str) -> Optional[str]:
    for pattern, category in _TEXT_RULES:
        if pattern.search(text):
            return category
    return None


def _most_restrictive(categories: Iterable[str]) -> str:
    return max(categories, key=_RANK.__getitem__)


def classify(
    code: Optional[str] = None,
    url: Optional[str] = None,
    text: Optional[str] = None,
    license_type: Optional[str] = None,
    extra: Iterable[tuple[Optional[str], Optional[str], Optional[str]]] = (),
) -> LicenseDecision:
    """Classify every signal given; the most restrictive category wins; no signal -> other.

    ``extra`` holds further (license_type, url, text) statements of the same article.
    """
    signals: list[tuple[str, str]] = []
    statements = [(license_type, url, text), *extra]
    if code:
        signals.append((f"code:{code}", category_of_code(code) or OTHER))
    for ltype, lurl, ltext in statements:
        if ltype:
            cat = category_of_code(ltype) or (category_of_url(ltype) if "/" in ltype else None) or _text_category(ltype)
            # "open-access" and the like say nothing about reuse terms: not a signal.
            if cat:
                signals.append((f"type:{ltype}", cat))
        if lurl:
            signals.append((f"url:{lurl}", category_of_url(lurl) or OTHER))
        if ltext:
            cat = category_of_text(ltext)
            if cat:
                signals.append((f"text:{ltext[:80]}", cat))
    category = _most_restrictive(c for _, c in signals) if signals else OTHER
    urls = [u for _, u, _ in statements if u]
    norm_code = next((c for c in (code_of_url(u) for u in urls) if c), None) or (code.strip() if code else None)
    raw = code or norm_code or next((v for st in statements for v in (st[0], st[2]) if v), None)
    return LicenseDecision(category, norm_code, urls[0] if urls else None, raw, tuple(signals))
