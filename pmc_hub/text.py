"""Text from untrusted input made storable: every writer (Parquet, JSON, the report) can encode it."""
from __future__ import annotations

import re

_UNSAFE_CHARS = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (bad bytes in a file name, a broken JSON escape) replaced by
    U+FFFD and control characters other than tab and newlines removed."""
    return _UNSAFE_CHARS.sub(lambda m: "\ufffd" if m.group() >= "\ud800" else "", text)
