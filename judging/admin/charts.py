"""Small server-rendered SVG charts for the leaderboard: no script, no CDN, fine in print."""

from markupsafe import Markup, escape

ROW = 22
LABEL = 230
PLOT = 420
PAD = 12


def _x(value: float) -> float:
    return LABEL + PAD + value / 100 * PLOT


def _axis(height: float) -> list[str]:
    parts = []
    for tick in range(0, 101, 25):
        x = _x(tick)
        parts.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height}" class="grid"/>')
        parts.append(f'<text x="{x:.1f}" y="{height + 14}" class="tick">{tick}</text>')
    return parts


def _label(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def distribution(rows: list[tuple[str, list[float], float | None]]) -> Markup:
    """One line per nominee (in rank order): a dot per juror total, a bar at the score."""
    height = len(rows) * ROW + PAD
    parts = [
        f'<svg class="chart" viewBox="0 0 {LABEL + PLOT + 2 * PAD} {height + 22}" role="img" '
        f'aria-label="Distribution of the jurors\' totals for each nominee">',
        *_axis(height),
    ]
    for i, (name, totals, score) in enumerate(rows):
        y = PAD + i * ROW + ROW / 2
        parts.append(
            f'<text x="{LABEL}" y="{y + 4:.1f}" class="label">{escape(_label(name))}'
            f"<title>{escape(name)}</title></text>"
        )
        if totals:
            low, high = min(totals), max(totals)
            parts.append(
                f'<line x1="{_x(low):.1f}" y1="{y}" x2="{_x(high):.1f}" y2="{y}" class="range"/>'
            )
        for total in totals:
            parts.append(
                f'<circle cx="{_x(total):.1f}" cy="{y}" r="3.2" class="dot">'
                f"<title>{total:.1f}</title></circle>"
            )
        if score is not None:
            parts.append(
                f'<line x1="{_x(score):.1f}" y1="{y - 8}" x2="{_x(score):.1f}" '
                f'y2="{y + 8}" class="score"><title>score {score:.2f}</title></line>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def severity(rows: list[tuple[str, float, bool]]) -> Markup:
    """One bar per juror: their average difference from the panel, harsh left, lenient right."""
    limit = max([abs(s) for _, s, _ in rows] + [10.0])
    height = len(rows) * ROW + PAD
    centre = LABEL + PAD + PLOT / 2
    parts = [
        f'<svg class="chart" viewBox="0 0 {LABEL + PLOT + 2 * PAD} {height + 22}" role="img" '
        f'aria-label="Each juror\'s average difference from the panel">',
        f'<line x1="{centre}" y1="0" x2="{centre}" y2="{height}" class="grid"/>',
        f'<text x="{LABEL + PAD}" y="{height + 14}" class="tick start">harsher</text>',
        f'<text x="{centre}" y="{height + 14}" class="tick">panel</text>',
        f'<text x="{LABEL + PAD + PLOT}" y="{height + 14}" class="tick end">more lenient</text>',
    ]
    for i, (name, value, outlier) in enumerate(rows):
        y = PAD + i * ROW + 4
        width = abs(value) / limit * (PLOT / 2)
        x = centre - width if value < 0 else centre
        css = "bar outlier" if outlier else "bar"
        parts.append(f'<text x="{LABEL}" y="{y + 11}" class="label">{escape(_label(name))}</text>')
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="{max(width, 1):.1f}" height="{ROW - 8}" '
            f'class="{css}"><title>{value:+.1f} points</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
