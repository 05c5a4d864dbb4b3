"""Plain-text tables aligned in display columns, as the CLI's report and the Slack
summary's per-rep table (in a code block) both show them."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def width(text: str) -> int:
    """Display width: East Asian wide characters take two columns in a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int, *, right: bool) -> str:
    """`text` filled with spaces to `columns` display columns, on the left if `right`."""
    gap = " " * max(0, columns - width(text))
    return gap + text if right else text + gap


def aligned(head: Sequence[str], rows: Sequence[Sequence[str]]) -> tuple[str, list[str]]:
    """(the head line and a rule of dashes under it, one line per row): the first column
    left-aligned, the others right-aligned, two spaces apart, no trailing spaces."""
    widths = [max(width(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(pad(cell, widths[i], right=i > 0) for i, cell in enumerate(row)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return f"{line(head)}\n{rule}", [line(r) for r in rows]
