"""The plain-text tables the test scripts print: columns under a ruled header."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def format_table(
    rows: Sequence[Sequence[str]], header: Iterable[str], *, group: bool = False, align: str = ""
) -> str:
    """Columns two spaces apart under a ruled header.

    ``align`` holds ``l`` or ``r`` per column (columns past its end are left-aligned); with
    ``group``, a blank line separates rows whose first column differs.
    """
    header = tuple(header)
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    sides = align.ljust(len(widths), "l")

    def line(cells: Sequence[str]) -> str:
        padded = (
            str(cell).rjust(width) if side == "r" else str(cell).ljust(width)
            for cell, width, side in zip(cells, widths, sides, strict=False)
        )
        return "  ".join(padded).rstrip()

    lines = [line(header), line(["-" * width for width in widths])]
    for number, row in enumerate(rows):
        if group and number and row[0] != rows[number - 1][0]:
            lines.append("")
        lines.append(line(row))
    return "\n".join(lines)
