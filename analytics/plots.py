"""Server-side SVG charts (no matplotlib): small, self-contained, deterministic, accessible.

Up to 1,500 people are drawn as translucent dots; more become a shaded density grid, so a
10,000-person cohort stays a light file. Synthetic data is always labelled in the picture and
in its accessible name.
"""

from __future__ import annotations

import html
import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["scatter_svg"]

MAX_POINTS = 1500  # above this, a density grid: one element per cell instead of per person
GRID_COLUMNS, GRID_ROWS = 30, 20
_INK = "#1f2937"
_MUTED = "#6b7280"
_GRID = "#e5e7eb"
_DOT = "#2563eb"
_FIT = "#dc2626"
_SYNTHETIC = "#b45309"
# A white outline under text keeps labels readable on top of dots or dark cells.
_HALO = 'stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'


def _num(v: float) -> str:
    """Pixel coordinate: one decimal, no trailing zeros (keeps files small)."""
    s = f"{v:.1f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _label(v: float) -> str:
    s = f"{v:.4g}"
    return "0" if s == "-0" else s


def _step(lo: float, hi: float, target: int = 5) -> float:
    """A 'nice' tick step (1, 2 or 5 x 10^k) giving about target intervals over [lo, hi]."""
    raw = (hi - lo) / target
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1.0, 2.0, 5.0, 10.0) if m * mag >= raw * (1 - 1e-9))


def _ticks(lo: float, hi: float) -> list[float]:
    step = _step(lo, hi)
    first = math.ceil(lo / step - 1e-9) * step
    count = math.floor((hi - first) / step + 1e-9) + 1
    return [first + i * step for i in range(count)]


def _auto_range(v: np.ndarray) -> tuple[float, float]:
    """Data range widened to whole tick steps."""
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        lo, hi = lo - 1.0, hi + 1.0
    step = _step(lo, hi)
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step


def _fit_segment(
    x: np.ndarray, y: np.ndarray, xr: tuple[float, float], yr: tuple[float, float]
) -> tuple[float, float, float, float] | None:
    """Least-squares line clipped to the plot box, as data coordinates (x0, y0, x1, y1)."""
    dx = x - x.mean()
    slope = float(np.dot(dx, y - y.mean()) / np.dot(dx, dx))
    intercept = float(y.mean()) - slope * float(x.mean())
    lo, hi = xr
    if slope != 0.0:
        # x where the line crosses the bottom and top of the box
        xa, xb = sorted(((yr[0] - intercept) / slope, (yr[1] - intercept) / slope))
        lo, hi = max(lo, xa), min(hi, xb)
    elif not yr[0] <= intercept <= yr[1]:
        return None
    if lo >= hi:
        return None
    return lo, intercept + slope * lo, hi, intercept + slope * hi


def _synthetic_mark(right: float, top: float) -> str:
    return (
        f'<text x="{_num(right)}" y="{_num(top)}" text-anchor="end" font-size="13" '
        f'font-weight="bold" fill="{_SYNTHETIC}" letter-spacing="1" {_HALO}>SYNTHETIC DATA</text>'
    )


def _open(width: int, height: int, name: str, desc: str, title: str, note: str) -> list[str]:
    """Root element, accessible name and description, background, visible title and note."""
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'font-family="system-ui, sans-serif" font-size="11" fill="{_INK}">',
        f"<title>{html.escape(name)}</title>",
        f"<desc>{html.escape(desc)}</desc>",
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="14" y="22" font-size="14" font-weight="bold">{html.escape(title)}</text>',
    ]
    if note:
        head.append(f'<text x="14" y="38" fill="{_MUTED}">{html.escape(note)}</text>')
    return head


def scatter_svg(
    x: ArrayLike,
    y: ArrayLike,
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_range: tuple[float, float] = (0, 100),
    y_range: tuple[float, float] | None = None,
    fit: bool = True,
    synthetic: bool = False,
    note: str = "",
    width: int = 480,
    height: int = 320,
) -> str:
    """A scatter plot (or density grid above 1,500 points) as a standalone SVG string.

    Pairs with a NaN are dropped; values outside the ranges are drawn at the edge.
    """
    xa = np.asarray(x, dtype=np.float64).ravel()
    ya = np.asarray(y, dtype=np.float64).ravel()
    if xa.shape != ya.shape:
        raise ValueError(f"x and y differ in length ({xa.size} vs {ya.size})")
    keep = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[keep], ya[keep]
    n = int(xa.size)

    name = f"{title} (SYNTHETIC DATA)" if synthetic else title
    left, right, top, bottom = 52.0, width - 14.0, 50.0 if note else 36.0, height - 40.0
    out: list[str] = []

    if n == 0:
        out += _open(width, height, name, f"{y_label} against {x_label}: no data yet.", title, note)
        out.append(
            f'<rect x="{_num(left)}" y="{_num(top)}" width="{_num(right - left)}" '
            f'height="{_num(bottom - top)}" fill="none" stroke="{_GRID}"/>'
        )
        out.append(
            f'<text x="{_num((left + right) / 2)}" y="{_num((top + bottom) / 2)}" '
            f'text-anchor="middle" font-size="14" fill="{_MUTED}">no data yet</text>'
        )
        if synthetic:
            out.append(_synthetic_mark(right - 4, top + 16))
        out.append("</svg>")
        return "\n".join(out)

    xr = (float(x_range[0]), float(x_range[1]))
    yr = _auto_range(ya) if y_range is None else (float(y_range[0]), float(y_range[1]))
    if not xr[1] > xr[0]:
        xr = (xr[0] - 1.0, xr[0] + 1.0)
    if not yr[1] > yr[0]:
        yr = (yr[0] - 1.0, yr[0] + 1.0)
    sx = (right - left) / (xr[1] - xr[0])
    sy = (bottom - top) / (yr[1] - yr[0])

    def px(v: float) -> float:
        return left + (min(max(v, xr[0]), xr[1]) - xr[0]) * sx

    def py(v: float) -> float:
        return bottom - (min(max(v, yr[0]), yr[1]) - yr[0]) * sy

    dense = n > MAX_POINTS
    kind = "density grid" if dense else "scatter plot"
    desc = f"{kind.capitalize()} of {n} people: {y_label} against {x_label}."
    if synthetic:
        desc += " Synthetic data, not real people."
    out += _open(width, height, name, desc, title, note)

    # grid lines and tick labels
    axis = [f'<g stroke="{_GRID}">']
    labels = [f'<g fill="{_MUTED}" font-size="10">']
    for t in _ticks(*xr):
        p = _num(px(t))
        axis.append(f'<line x1="{p}" y1="{_num(top)}" x2="{p}" y2="{_num(bottom)}"/>')
        labels.append(
            f'<text x="{p}" y="{_num(bottom + 13)}" text-anchor="middle">{_label(t)}</text>'
        )
    for t in _ticks(*yr):
        p = _num(py(t))
        axis.append(f'<line x1="{_num(left)}" y1="{p}" x2="{_num(right)}" y2="{p}"/>')
        labels.append(
            f'<text x="{_num(left - 5)}" y="{p}" dy="3" text-anchor="end">{_label(t)}</text>'
        )
    out += [*axis, "</g>", *labels, "</g>"]
    out.append(
        f'<path d="M{_num(left)} {_num(top)}V{_num(bottom)}H{_num(right)}" '
        f'fill="none" stroke="{_INK}"/>'
    )
    out.append(
        f'<text x="{_num((left + right) / 2)}" y="{height - 8}" text-anchor="middle">'
        f"{html.escape(x_label)}</text>"
    )
    out.append(
        f'<text transform="translate(13 {_num((top + bottom) / 2)}) rotate(-90)" '
        f'text-anchor="middle">{html.escape(y_label)}</text>'
    )

    if dense:
        counts, _, _ = np.histogram2d(
            np.clip(xa, *xr), np.clip(ya, *yr), bins=(GRID_COLUMNS, GRID_ROWS), range=(xr, yr)
        )
        peak = float(counts.max())
        cw, ch = (right - left) / GRID_COLUMNS, (bottom - top) / GRID_ROWS
        out.append(f'<g fill="{_DOT}">')
        for i, j in zip(*np.nonzero(counts), strict=True):
            # sqrt keeps sparse cells visible next to a crowded middle
            shade = 0.08 + 0.87 * math.sqrt(float(counts[i, j]) / peak)
            out.append(
                f'<rect x="{_num(left + i * cw)}" y="{_num(bottom - (j + 1) * ch)}" '
                f'width="{_num(cw)}" height="{_num(ch)}" fill-opacity="{shade:.2f}"/>'
            )
        out.append("</g>")
        lx, ly = left + 6, top + 6
        out.append(f'<g fill="{_DOT}">')
        for step, shade in enumerate((0.15, 0.45, 0.95)):
            out.append(
                f'<rect x="{_num(lx + step * 10)}" y="{_num(ly)}" width="10" height="10" '
                f'fill-opacity="{shade}"/>'
            )
        out.append("</g>")
        out.append(
            f'<text x="{_num(lx + 36)}" y="{_num(ly + 9)}" font-size="10" fill="{_MUTED}" '
            f"{_HALO}>"
            f"darker = more people (up to {int(peak)} per cell)</text>"
        )
    else:
        out.append(f'<g fill="{_DOT}" fill-opacity="0.45">')
        out += [
            f'<circle cx="{_num(px(a))}" cy="{_num(py(b))}" r="2.5"/>'
            for a, b in zip(xa.tolist(), ya.tolist(), strict=True)
        ]
        out.append("</g>")

    if fit and n >= 3 and xa.min() != xa.max():
        seg = _fit_segment(xa, ya, xr, yr)
        if seg is not None:
            x0, y0, x1, y1 = seg
            out.append(
                f'<line x1="{_num(px(x0))}" y1="{_num(py(y0))}" x2="{_num(px(x1))}" '
                f'y2="{_num(py(y1))}" stroke="{_FIT}" stroke-width="2"/>'
            )

    out.append(
        f'<text x="{_num(right)}" y="{height - 8}" text-anchor="end" fill="{_MUTED}">n = {n}</text>'
    )
    if synthetic:
        out.append(_synthetic_mark(right - 4, top + 16))
    out.append("</svg>")
    return "\n".join(out)
