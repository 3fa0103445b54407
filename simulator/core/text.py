"""Plain-text output shared by the commands."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(rows: Sequence[Sequence[str]], *, rule: bool = False) -> str:
    """Rows as columns two spaces apart, the first row the header; `rule` underlines it."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [list(rows[0]), *(["-" * w for w in widths],) * rule, *map(list, rows[1:])]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
