"""Small SVG charts for the benchmark: requests over time, and an export's pages across quota windows.

Plain SVG text, no plotting library: each chart is a list of elements in a fixed frame, with axis
ticks in seconds. ``scripts/bench.py --figures DIR`` writes them from the run it measured.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

WIDTH = 760
LEFT = 210
RIGHT = 20
TOP = 44
LANE = 34
ANSWERED = "#2e7d32"
REFUSED = "#c62828"
WINDOW_SHADES = ("#e3f2fd", "#fff8e1")
FONT = 'font-family="sans-serif" font-size="12"'


@dataclass(frozen=True)
class Request:
    """One request as the client saw it: seconds since the run started, and the answer's status."""

    at: float
    status: int

    @property
    def refused(self) -> bool:
        """A 429 (rate limit) or 402 (quota) answer: the server turned the request away."""
        return self.status in (402, 429)


def _ticks(end: float) -> list[float]:
    """About six round tick positions from 0 to ``end`` seconds."""
    if end <= 0:
        return [0.0]
    raw = end / 6
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(int(end // step) + 1)]


def _x(seconds: float, end: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * (seconds / end if end else 0)


def _frame(height: float, title: str, end: float, axis_y: float) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-label="{escape(title)}">',
        f'<rect width="{WIDTH}" height="{height:.0f}" fill="white"/>',
        f'<text x="10" y="22" {FONT} font-weight="bold">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{axis_y}" x2="{WIDTH - RIGHT}" y2="{axis_y}" stroke="#555"/>',
    ]
    for tick in _ticks(end):
        x = _x(tick, end)
        parts.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="#555"/>')
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 18}" {FONT} text-anchor="middle">{tick:g}</text>')
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{axis_y + 34}" {FONT} text-anchor="middle">'
        "seconds since the run started</text>"
    )
    return parts


def _legend(y: float) -> list[str]:
    return [
        f'<circle cx="{LEFT + 6}" cy="{y}" r="4" fill="{ANSWERED}"/>',
        f'<text x="{LEFT + 16}" y="{y + 4}" {FONT}>answered</text>',
        f'<path d="M{LEFT + 96},{y - 4} l8,8 m0,-8 l-8,8" stroke="{REFUSED}" stroke-width="2"/>',
        f'<text x="{LEFT + 112}" y="{y + 4}" {FONT}>refused (429 or 402)</text>',
    ]


def _mark(x: float, y: float, request: Request) -> str:
    if request.refused:
        return f'<path d="M{x - 4:.1f},{y - 4:.1f} l8,8 m0,-8 l-8,8" stroke="{REFUSED}" stroke-width="2"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{ANSWERED}" fill-opacity="0.8"/>'


def requests_over_time(title: str, lanes: Mapping[str, Sequence[Request]]) -> str:
    """One lane per client: a dot for each answered request, a cross for each refused one."""
    end = max((r.at for requests in lanes.values() for r in requests), default=1.0) * 1.02 or 1.0
    axis_y = TOP + LANE * len(lanes) + 8
    parts = _frame(axis_y + 70, title, end, axis_y)
    for index, (name, requests) in enumerate(lanes.items()):
        y = TOP + LANE * index + LANE / 2
        refused = sum(r.refused for r in requests)
        parts.append(f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="#ddd"/>')
        parts.append(f'<text x="10" y="{y - 2}" {FONT}>{escape(name)}</text>')
        parts.append(
            f'<text x="10" y="{y + 12}" {FONT} fill="#555">{len(requests)} requests, {refused} refused</text>'
        )
        parts.extend(_mark(_x(r.at, end), y, r) for r in requests)
    parts.extend(_legend(axis_y + 56))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def export_over_windows(title: str, requests: Sequence[Request], window_starts: Sequence[float]) -> str:
    """Pages written so far over time (a step line), refusals as crosses, each quota window shaded."""
    end = max((r.at for r in requests), default=1.0) * 1.02 or 1.0
    pages = sum(not r.refused for r in requests)
    plot_height = 220
    axis_y = TOP + plot_height
    parts = _frame(axis_y + 70, title, end, axis_y)
    bounds = [*window_starts, end]
    for index, (start, stop) in enumerate(itertools.pairwise(bounds)):
        x0, x1 = _x(start, end), _x(stop, end)
        shade = WINDOW_SHADES[index % 2]
        parts.append(f'<rect x="{x0:.1f}" y="{TOP}" width="{x1 - x0:.1f}" height="{plot_height}" fill="{shade}"/>')
        parts.append(f'<text x="{x0 + 3:.1f}" y="{TOP + 14}" {FONT} fill="#555">w{index + 1}</text>')
    top = max(pages, 1)

    def y_of(count: int) -> float:
        return axis_y - (plot_height - 24) * count / top

    for label in (0, top // 2, top):
        parts.append(f'<text x="{LEFT - 8}" y="{y_of(label) + 4:.1f}" {FONT} text-anchor="end">{label}</text>')
    parts.append(f'<text x="10" y="{TOP + 40}" {FONT}>pages written</text>')
    parts.append(f'<text x="10" y="{TOP + 56}" {FONT} fill="#555">{pages} pages,</text>')
    refused = len(requests) - pages
    parts.append(f'<text x="10" y="{TOP + 72}" {FONT} fill="#555">{refused} refused requests,</text>')
    parts.append(f'<text x="10" y="{TOP + 88}" {FONT} fill="#555">{len(window_starts)} quota windows</text>')
    points, written = [f"{_x(0, end):.1f},{y_of(0):.1f}"], 0
    for request in requests:
        x = _x(request.at, end)
        if request.refused:
            parts.append(_mark(x, y_of(written), request))
            continue
        points.append(f"{x:.1f},{y_of(written):.1f}")
        written += 1
        points.append(f"{x:.1f},{y_of(written):.1f}")
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{ANSWERED}" stroke-width="2"/>')
    parts.extend(_legend(axis_y + 56))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write(folder: Path, name: str, svg: str) -> Path:
    """Write one chart as ``folder/name``; the path written."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(svg, encoding="utf-8")
    return path
