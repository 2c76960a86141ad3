"""Small SVG charts drawn by our own code: a pair-by-pair heatmap, a trend of runs and
documents per day.

Each function returns SVG markup as a safe string for a template. Every piece of text
that comes from data (annotator names, labels) is escaped here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Series colours (colour-blind safe, Okabe-Ito).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]


def _cell_colour(value: float | None) -> str:
    """White at 0 or below, deep blue at 1; grey when undefined."""
    if value is None:
        return "#e5e5e5"
    share = max(0.0, min(1.0, value))
    low, high = (255, 255, 255), (8, 81, 156)
    red, green, blue = (round(a + (b - a) * share) for a, b in zip(low, high, strict=True))
    return f"#{red:02x}{green:02x}{blue:02x}"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def heatmap(
    annotators: Sequence[str], values: Mapping[tuple[str, str], float | None], title: str
) -> SafeString:
    """A symmetric annotator x annotator grid coloured by ``values[(a, b)]`` (a < b)."""
    cell = 46
    longest = max((len(name) for name in annotators), default=4)
    margin = max(60, 8 * longest)
    size = margin + cell * len(annotators)
    # The column labels climb up and to the right at 45 degrees: the last one runs past the
    # grid by about 0.71 of its width (7.5 px a character at 12 px is generous).
    width = size + max(10, round(0.71 * 7.5 * longest) + 6 - cell // 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart heatmap" role="img" '
        f'width="{width}" height="{size + 10}" viewBox="0 0 {width} {size + 10}">',
        f"<title>{escape(title)}</title>",
    ]
    for index, name in enumerate(annotators):
        middle = margin + cell * index + cell / 2
        parts.append(
            f'<text x="{margin - 6}" y="{middle + 4:.0f}" text-anchor="end" '
            f'font-size="12">{escape(name)}</text>'
        )
        parts.append(
            f'<text x="{middle:.0f}" y="{margin - 6}" text-anchor="start" font-size="12" '
            f'transform="rotate(-45 {middle:.0f} {margin - 6})">{escape(name)}</text>'
        )
    for row, a in enumerate(annotators):
        for column, b in enumerate(annotators):
            x, y = margin + cell * column, margin + cell * row
            if a == b:
                parts.append(
                    f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="#fafafa" '
                    f'stroke="#fff"/>'
                )
                continue
            value = values.get((a, b), values.get((b, a)))
            colour = _cell_colour(value)
            ink = "#fff" if value is not None and value > 0.6 else "#222"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{colour}" '
                f'stroke="#fff"><title>{escape(a)} / {escape(b)}: {_number(value)}</title></rect>'
            )
            parts.append(
                f'<text x="{x + cell / 2:.0f}" y="{y + cell / 2 + 4:.0f}" text-anchor="middle" '
                f'font-size="12" fill="{ink}">{_number(value)}</text>'
            )
    parts.append("</svg>")
    # Safe: every piece of data in the markup above went through escape().
    return mark_safe("".join(parts))


def trend(
    points: Sequence[tuple[str, Mapping[str, float | None]]], series: Sequence[str], title: str
) -> SafeString:
    """One line per series over the runs (oldest left); the y axis spans -0.2..1 or more."""
    width, height = 640, 240
    left, right, top, bottom = 44, 190, 14, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    found = [
        values[name] for _, values in points for name in series if values.get(name) is not None
    ]
    low = min([0.0, *[v for v in found if v is not None]])
    high = max([1.0, *[v for v in found if v is not None]])

    def x_of(index: int) -> float:
        return left + (plot_w * index / (len(points) - 1) if len(points) > 1 else plot_w / 2)

    def y_of(value: float) -> float:
        return top + plot_h * (high - value) / (high - low)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart trend" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (low, 0.0, 0.5, 1.0) if low < 0 else (0.0, 0.25, 0.5, 0.75, 1.0):
        y = y_of(tick)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#ddd"/><text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="11">{tick:.2f}</text>'
        )
    for index, (label, _) in enumerate(points):
        if len(points) <= 12 or index % max(1, len(points) // 12) == 0:
            parts.append(
                f'<text x="{x_of(index):.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'font-size="11">{escape(label)}</text>'
            )
    for number, name in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        line: list[str] = []
        for index, (label, values) in enumerate(points):
            value = values.get(name)
            if value is None:
                continue
            x, y = x_of(index), y_of(value)
            line.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(label)} {escape(name)}: {value:.3f}</title></circle>"
            )
        if len(line) > 1:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(line)}"/>'
            )
        legend_y = top + 16 * number + 8
        parts.append(
            f'<rect x="{left + plot_w + 12}" y="{legend_y - 8}" width="10" height="10" '
            f'fill="{colour}"/><text x="{left + plot_w + 26}" y="{legend_y + 1}" '
            f'font-size="11">{escape(name)}</text>'
        )
    parts.append("</svg>")
    # Safe: every piece of data in the markup above went through escape().
    return mark_safe("".join(parts))


def daily_bars(
    days: Sequence[date],
    series: Sequence[str],
    counts: Mapping[tuple[str, date], int],
    title: str,
) -> SafeString:
    """One bar per day, stacked by series (``counts[(name, day)]``), oldest left.

    The title and a description carry the totals for screen readers; each piece of a bar
    has its own tooltip (day, name, count).
    """
    width, height = 640, 220
    left, right, top, bottom = 36, 150, 14, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(counts.get((name, day), 0) for name in series) for day in days]
    high = max([1, *totals])
    step = plot_w / max(1, len(days))
    bar = max(2.0, step * 0.7)
    busiest = max(range(len(days)), key=lambda i: totals[i]) if days else None
    total = sum(totals)
    summary = (
        f"{total} document{'s' * (total != 1)} submitted from {days[0]} to {days[-1]}"
        if days
        else "no days"
    )
    if busiest is not None and totals[busiest]:
        summary += f"; the busiest day was {days[busiest]} with {totals[busiest]}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart daily-bars" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title><desc>{escape(summary)}.</desc>",
    ]
    for tick in sorted({0, high // 2, high}):
        y = top + plot_h * (1 - tick / high)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{tick}</text>'
        )
    for index, day in enumerate(days):
        x = left + step * index + (step - bar) / 2
        base: float = top + plot_h
        for number, name in enumerate(series):
            count = counts.get((name, day), 0)
            if not count:
                continue
            tall = plot_h * count / high
            base -= tall
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{tall:.1f}" '
                f'fill="{PALETTE[number % len(PALETTE)]}"><title>{day.isoformat()} '
                f"{escape(name)}: {count}</title></rect>"
            )
        if (len(days) - 1 - index) % 7 == 0:  # weekly marks, ending on the last day
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'font-size="11">{day:%d %b}</text>'
            )
    for number, name in enumerate(series):
        legend_y = top + 16 * number + 8
        parts.append(
            f'<rect x="{left + plot_w + 12}" y="{legend_y - 8}" width="10" height="10" '
            f'fill="{PALETTE[number % len(PALETTE)]}"/><text x="{left + plot_w + 26}" '
            f'y="{legend_y + 1}" font-size="11">{escape(name)}</text>'
        )
    parts.append("</svg>")
    # Safe: every piece of data in the markup above went through escape().
    return mark_safe("".join(parts))


def _mark(shape: int, x: float, y: float, size: float, colour: str) -> str:
    """A symbol centred on (x, y): circle, square, triangle, diamond, then round again."""
    kind = shape % 4
    if kind == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size:.1f}" fill="{colour}"'
    if kind == 1:
        return (
            f'<rect x="{x - size:.1f}" y="{y - size:.1f}" width="{2 * size:.1f}" '
            f'height="{2 * size:.1f}" fill="{colour}"'
        )
    if kind == 2:
        points = f"{x:.1f},{y - size * 1.2:.1f} {x - size * 1.1:.1f},{y + size:.1f} "
        points += f"{x + size * 1.1:.1f},{y + size:.1f}"
        return f'<polygon points="{points}" fill="{colour}"'
    points = f"{x:.1f},{y - size * 1.3:.1f} {x + size * 1.3:.1f},{y:.1f} "
    points += f"{x:.1f},{y + size * 1.3:.1f} {x - size * 1.3:.1f},{y:.1f}"
    return f'<polygon points="{points}" fill="{colour}"'


def timeline(
    lanes: Sequence[int],
    names: Mapping[int, str],
    stances: Sequence[str],
    counts: Mapping[tuple[int, str, str], int],
    title: str,
) -> SafeString:
    """One lane per proposition (``lanes``, named by ``names``), its mentions placed by
    date: ``counts[(lane, "YYYY-MM-DD", stance)]``. Each stance has its own symbol and
    colour (the legend says which), each mark a tooltip with its date, stance and count."""
    days = sorted({date.fromisoformat(day) for (_, day, _) in counts})
    shown = [lane for lane in lanes if any(key[0] == lane for key in counts)]
    lane_h, left, right, top, bottom = 30, 220, 50, 34, 34
    width = 760
    # The marks keep clear of the lane names on the left and of the last date's label.
    pad = 24
    plot_w = width - left - right - 2 * pad
    height = top + lane_h * max(1, len(shown)) + bottom
    first, last = (days[0], days[-1]) if days else (date.min, date.min)
    span = max(1, (last - first).days)

    def x_of(day: date) -> float:
        if first == last:
            return left + pad + plot_w / 2
        return left + pad + plot_w * (day - first).days / span

    total = sum(counts.values())
    summary = (
        f"{total} dated mention{'s' * (total != 1)} of {len(shown)} "
        f"proposition{'s' * (len(shown) != 1)} from {first} to {last}"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title><desc>{escape(summary)}.</desc>",
    ]
    x = float(left)
    for number, stance in enumerate(stances):
        colour = PALETTE[number % len(PALETTE)]
        parts.append(f"{_mark(number, x + 5, 12, 5, colour)}/>")
        parts.append(f'<text x="{x + 14:.0f}" y="16" font-size="11">{escape(stance)}</text>')
        x += 24 + 7 * len(stance)
    marked: list[date] = []
    for day in sorted({first, last, *days[:: max(1, len(days) // 6)]}) if days else []:
        # A date's label is about 64 px wide: a day closer than that to the labelled one
        # before it is left out (the last day never is: it takes the other's place).
        if marked and x_of(day) - x_of(marked[-1]) < 70:
            if day != last:
                continue
            marked.pop()
        marked.append(day)
    for day in marked:
        parts.append(
            f'<line x1="{x_of(day):.1f}" x2="{x_of(day):.1f}" y1="{top}" '
            f'y2="{height - bottom}" stroke="#ddd"/><text x="{x_of(day):.1f}" '
            f'y="{height - bottom + 16}" text-anchor="middle" font-size="11">'
            f"{day.isoformat()}</text>"
        )
    for index, lane in enumerate(shown):
        middle = top + lane_h * index + lane_h / 2
        name = names.get(lane, str(lane))
        label = name if len(name) <= 32 else name[:31] + "…"
        parts.append(
            f'<line x1="{left}" x2="{left + 2 * pad + plot_w}" y1="{middle:.1f}" '
            f'y2="{middle:.1f}" '
            f'stroke="#eee"/><text x="{left - 8}" y="{middle + 4:.1f}" text-anchor="end" '
            f'font-size="12"><title>{escape(name)}</title>{escape(label)}</text>'
        )
        for number, stance in enumerate(stances):
            # Stances side by side around the day, so that marks of one day never hide
            # each other.
            shift = (number - (len(stances) - 1) / 2) * 7
            for day in days:
                count = counts.get((lane, day.isoformat(), stance), 0)
                if not count:
                    continue
                size = min(9.0, 3.5 + 1.5 * count**0.5)
                colour = PALETTE[number % len(PALETTE)]
                tip = f"{name}, {day.isoformat()}: {count} {stance}"
                parts.append(
                    f"{_mark(number, x_of(day) + shift, middle, size, colour)}>"
                    f"<title>{escape(tip)}</title>{_close(number)}"
                )
    parts.append("</svg>")
    # Safe: every piece of data in the markup above went through escape().
    return mark_safe("".join(parts))


def _close(shape: int) -> str:
    kind = shape % 4
    return "</circle>" if kind == 0 else "</rect>" if kind == 1 else "</polygon>"
