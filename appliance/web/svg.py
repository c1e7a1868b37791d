"""Server-rendered SVG charts (no script, no CDN): bars per day and a line over time.

Colours come with a pattern or a label too, so no figure is told by colour alone.
Every text put into the SVG is escaped.
"""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT, PAD = 640, 260, 40
PALETTE = ("#1f5f99", "#b35900", "#2e7d32", "#8e24aa")


def _frame(title: str, body: str, legend: str = "") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" font-family="sans-serif" font-size="11">'
        f"<title>{escape(title)}</title>"
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>'
        f'<text x="{PAD}" y="16" font-size="13" fill="#1b1f23">{escape(title)}</text>'
        f"{body}{legend}</svg>"
    )


def bars(title: str, labels: list[str], series: dict[str, list[int]]) -> str:
    """Grouped bars: one group per label, one bar per series (with its value written above)."""
    names = list(series)
    top = max([1, *(v for vals in series.values() for v in vals)])
    plot_w, plot_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD - 10
    group_w = plot_w / max(1, len(labels))
    bar_w = max(2.0, group_w * 0.8 / max(1, len(names)))
    parts = [f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#57606a"/>']
    for gi, label in enumerate(labels):
        gx = PAD + gi * group_w + group_w * 0.1
        for si, name in enumerate(names):
            v = series[name][gi]
            h = plot_h * v / top
            x, y = gx + si * bar_w, HEIGHT - PAD - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[si % len(PALETTE)]}"><title>{escape(name)} {escape(label)}: {v}</title></rect>'
            )
            if v and len(labels) <= 16:
                parts.append(f'<text x="{x:.1f}" y="{y - 2:.1f}" font-size="9" fill="#1b1f23">{v}</text>')
        parts.append(f'<text x="{gx:.1f}" y="{HEIGHT - PAD + 14}" font-size="9" fill="#1b1f23">{escape(label)}</text>')
    legend = "".join(
        f'<rect x="{WIDTH - PAD - 110}" y="{24 + i * 14}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
        f'<text x="{WIDTH - PAD - 95}" y="{33 + i * 14}" fill="#1b1f23">{escape(n)}</text>'
        for i, n in enumerate(names)
    )
    return _frame(title, "".join(parts), legend)


def line(title: str, points: list[tuple[float, float | None]], y_max: float, y_label: str) -> str:
    """A line over time (x in any unit, gaps where y is None), with the y scale written out."""
    plot_w, plot_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    known = [(x, y) for x, y in points if y is not None]
    parts = [
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#57606a"/>',
        f'<text x="4" y="{PAD + 4}" fill="#1b1f23">{y_max:g}</text>',
        f'<text x="4" y="{HEIGHT - PAD}" fill="#1b1f23">0</text>',
        f'<text x="{PAD}" y="{HEIGHT - 8}" fill="#1b1f23">{escape(y_label)}</text>',
    ]
    if not known:
        parts.append(f'<text x="{WIDTH / 2 - 40}" y="{HEIGHT / 2}" fill="#1b1f23">no data yet</text>')
        return _frame(title, "".join(parts))
    x0, x1 = points[0][0], points[-1][0]
    span = (x1 - x0) or 1.0
    segs: list[list[str]] = [[]]
    for x, y in points:
        if y is None:
            segs.append([])
            continue
        px = PAD + plot_w * (x - x0) / span
        py = HEIGHT - PAD - plot_h * min(y, y_max) / (y_max or 1)
        segs[-1].append(f"{px:.1f},{py:.1f}")
    for seg in segs:
        if len(seg) > 1:
            parts.append(f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="2" points="{" ".join(seg)}"/>')
        if len(known) < 60:  # few samples: each one as a dot, so a single reading shows
            for point in seg:
                cx, cy = point.split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{PALETTE[0]}"/>')
    last = known[-1][1]
    parts.append(f'<text x="{WIDTH - PAD - 60}" y="{PAD}" fill="#1b1f23">now {last:g}</text>')
    return _frame(title, "".join(parts))
