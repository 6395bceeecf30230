"""Small SVG charts for the reports (no plotting library, no JavaScript): bars, horizontal bars, a line
with a cap. Every label is XML-escaped; the SVG is self-contained and scales with its viewBox."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

__all__ = ["bars", "hbars", "line"]

_FONT = 'font-family="system-ui, sans-serif" font-size="12"'
_BAR = "#2f6fb0"
_CAP = "#c0392b"


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def _frame(title: str, w: int, h: int, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
            f'aria-label="{escape(title, {chr(34): "&quot;"})}">'
            f'<rect width="{w}" height="{h}" fill="#fff"/>'
            f'<text x="{w / 2}" y="18" text-anchor="middle" {_FONT} font-weight="bold">{escape(title)}</text>'
            + "".join(body) + "</svg>")


def bars(title: str, labels: Sequence[str], values: Sequence[float], *, unit: str = "", w: int = 640,
         h: int = 300, ref: float | None = None, ref_label: str = "") -> str:
    """Vertical bars with the value on each, and an optional reference line (a goal or a cap)."""
    left, right, top, bottom = 48, 12, 32, 48
    top_v = max([*values, ref or 0.0, 1e-9])
    n = max(1, len(values))
    bw = (w - left - right) / n
    ph = h - top - bottom
    body = [f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="#444"/>']
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        bh = ph * v / top_v
        x = left + i * bw + bw * 0.15
        y = h - bottom - bh
        body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw * 0.7:.1f}" height="{bh:.1f}" fill="{_BAR}"/>')
        body.append(f'<text x="{x + bw * 0.35:.1f}" y="{y - 3:.1f}" text-anchor="middle" {_FONT}>'
                    f"{escape(_fmt(v))}{escape(unit)}</text>")
        body.append(f'<text x="{x + bw * 0.35:.1f}" y="{h - bottom + 16}" text-anchor="middle" {_FONT}>'
                    f"{escape(str(lab)[:14])}</text>")
    if ref is not None:
        y = h - bottom - ph * ref / top_v
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}" stroke="{_CAP}" '
                    f'stroke-dasharray="6 4"/><text x="{w - right}" y="{y - 4:.1f}" text-anchor="end" {_FONT} '
                    f'fill="{_CAP}">{escape(ref_label)}</text>')
    return _frame(title, w, h, body)


def hbars(title: str, labels: Sequence[str], values: Sequence[float], *, notes: Sequence[str] = (),
          w: int = 640) -> str:
    """Horizontal bars (funnels, reason breakdowns), longest label on the left; `notes` go after values."""
    row, top, left, right = 26, 32, 150, 150
    h = top + row * max(1, len(values)) + 12
    top_v = max([*values, 1e-9])
    body = []
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row
        bw = (w - left - right) * v / top_v
        note = notes[i] if i < len(notes) else ""
        body.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" {_FONT}>{escape(str(lab)[:22])}</text>')
        body.append(f'<rect x="{left}" y="{y + 3}" width="{bw:.1f}" height="{row - 8}" fill="{_BAR}"/>')
        body.append(f'<text x="{left + bw + 6:.1f}" y="{y + 15}" {_FONT}>{escape(_fmt(v))} {escape(note)}</text>')
    return _frame(title, w, h, body)


def line(title: str, labels: Sequence[str], values: Sequence[float | None], *, cap: float | None = None,
         as_percent: bool = True, w: int = 640, h: int = 300) -> str:
    """A line over labelled points (days), gaps where a value is None, and a dashed cap line."""
    left, right, top, bottom = 56, 16, 32, 48
    vals = [v for v in values if v is not None]
    top_v = max([*vals, cap or 0.0, 1e-9]) * 1.15
    n = max(1, len(values) - 1)
    ph, pw = h - top - bottom, w - left - right

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + pw * (i / n if len(values) > 1 else 0.5), h - bottom - ph * v / top_v

    def show(v: float) -> str:
        return f"{100 * v:.2f}%" if as_percent else _fmt(v)

    body = [f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="#444"/>',
            f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" {_FONT}>{escape(show(top_v))}</text>']
    pts: list[str] = []
    for i, v in enumerate(values):
        if v is None:
            if len(pts) > 1:
                body.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{_BAR}" stroke-width="2"/>')
            pts = []
            continue
        x, y = xy(i, v)
        pts.append(f"{x:.1f},{y:.1f}")
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{_BAR}"><title>{escape(str(labels[i]))}: '
                    f"{escape(show(v))}</title></circle>")
    if len(pts) > 1:
        body.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{_BAR}" stroke-width="2"/>')
    step = max(1, len(labels) // 8)
    for i in range(0, len(labels), step):
        x, _ = xy(i, 0.0)
        body.append(f'<text x="{x:.1f}" y="{h - bottom + 16}" text-anchor="middle" {_FONT}>'
                    f"{escape(str(labels[i])[-5:])}</text>")
    if cap is not None:
        _, y = xy(0, cap)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}" stroke="{_CAP}" '
                    f'stroke-dasharray="6 4"/><text x="{w - right}" y="{y - 4:.1f}" text-anchor="end" {_FONT} '
                    f'fill="{_CAP}">cap {escape(show(cap))}</text>')
    return _frame(title, w, h, body)
