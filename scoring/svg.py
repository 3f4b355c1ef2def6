"""Charts drawn on the server as SVG shapes (no JavaScript, no chart library, printable).

Each function returns a ``Chart``: its size and a flat list of shapes (rect, line, polyline,
circle, text) with geometry and a CSS class — never a style attribute, which the
Content-Security-Policy forbids. ``scoring/_chart.html`` draws them; the figures themselves are
also shown in a table under each chart (and downloadable), so nothing depends on reading bars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WIDTH = 960
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 34, 44


@dataclass
class Shape:
    tag: str
    css: str
    attrs: dict = field(default_factory=dict)
    text: str = ""

    @property
    def items(self) -> list[tuple[str, str]]:
        return [(key.replace("_", "-"), value) for key, value in self.attrs.items()]


@dataclass
class Chart:
    width: int
    height: int
    shapes: list[Shape]
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, label)


def _f(value: float) -> str:
    return f"{value:.1f}"


def _scale(peak: float) -> tuple[int, list[int]]:
    """A round axis for counts: (top, whole-number ticks), at most five steps (1, 2, 5, 10, 20, 25, 50 …)."""
    peak = max(peak, 1)
    step = 1
    candidates = [m * 10**e for e in range(0, 8) for m in (1, 2, 2.5, 5)]
    for candidate in candidates:
        if candidate == int(candidate) and math.ceil(peak / candidate) <= 5:
            step = int(candidate)
            break
    top = step * math.ceil(peak / step)
    return top, list(range(0, top + 1, step))


def _axis(
    shapes: list[Shape],
    *,
    top_value: float,
    plot_top: float,
    plot_bottom: float,
    width: int,
    ticks: list[int],
    label=str,
) -> None:
    for tick in ticks:
        y = plot_bottom - (plot_bottom - plot_top) * tick / top_value
        shapes.append(Shape("line", "chart-grid", {"x1": _f(LEFT), "x2": _f(width - RIGHT), "y1": _f(y), "y2": _f(y)}))
        shapes.append(
            Shape("text", "chart-tick", {"x": _f(LEFT - 8), "y": _f(y + 5), "text_anchor": "end"}, label(tick))
        )


def _month_labels(shapes: list[Shape], months: list[str], *, slot: float, bottom: float) -> None:
    for i, name in enumerate(months):
        shapes.append(
            Shape(
                "text",
                "chart-tick",
                {"x": _f(LEFT + slot * (i + 0.5)), "y": _f(bottom + 24), "text_anchor": "middle"},
                name,
            )
        )


def grouped_bars(months: list[str], series: list[tuple[str, str, list[int]]], *, height: int = 340) -> Chart:
    """Bars side by side for each month: ``series`` is [(css class, label, 12 values)]."""
    shapes: list[Shape] = []
    top_value, ticks = _scale(max([v for _css, _label, values in series for v in values] + [1]))
    plot_top, plot_bottom = TOP, height - BOTTOM
    _axis(shapes, top_value=top_value, plot_top=plot_top, plot_bottom=plot_bottom, width=WIDTH, ticks=ticks)
    slot = (WIDTH - LEFT - RIGHT) / len(months)
    bar = slot * 0.8 / len(series)
    for s, (css, _label, values) in enumerate(series):
        for i, value in enumerate(values):
            h = (plot_bottom - plot_top) * value / top_value
            x = LEFT + slot * i + slot * 0.1 + bar * s
            shapes.append(
                Shape("rect", css, {"x": _f(x), "y": _f(plot_bottom - h), "width": _f(bar - 1), "height": _f(h)})
            )
    _month_labels(shapes, months, slot=slot, bottom=plot_bottom)
    return Chart(WIDTH, height, shapes, [(css, label) for css, label, _values in series])


def stacked_bars(months: list[str], series: list[tuple[str, str, list[int]]], *, height: int = 340) -> Chart:
    """Bars stacked for each month (e.g. 满意 / 基本满意 / 不满意)."""
    shapes: list[Shape] = []
    totals = [sum(values[i] for _css, _label, values in series) for i in range(len(months))]
    top_value, ticks = _scale(max(totals + [1]))
    plot_top, plot_bottom = TOP, height - BOTTOM
    _axis(shapes, top_value=top_value, plot_top=plot_top, plot_bottom=plot_bottom, width=WIDTH, ticks=ticks)
    slot = (WIDTH - LEFT - RIGHT) / len(months)
    for i in range(len(months)):
        base: float = plot_bottom
        for css, _label, values in series:
            h = (plot_bottom - plot_top) * values[i] / top_value
            if h > 0:
                shapes.append(
                    Shape(
                        "rect",
                        css,
                        {
                            "x": _f(LEFT + slot * i + slot * 0.2),
                            "y": _f(base - h),
                            "width": _f(slot * 0.6),
                            "height": _f(h),
                        },
                    )
                )
            base -= h
    _month_labels(shapes, months, slot=slot, bottom=plot_bottom)
    return Chart(WIDTH, height, shapes, [(css, label) for css, label, _values in series])


def rate_line(
    months: list[str], rates: list[float | None], lines: list[tuple[float, str]], *, height: int = 340
) -> Chart:
    """A rate month by month (None: no closing that month — no point) with the ladder's
    thresholds drawn as dashed lines, on an axis from a round tenth below the lowest of them
    (at most 0%) to 100%."""
    shapes: list[Shape] = []
    lowest = min([r for r in rates if r is not None] + [t for t, _label in lines] + [1.0])
    floor = max(0.0, math.floor(lowest * 10 - 0.5) / 10)
    plot_top, plot_bottom = TOP, height - BOTTOM
    span = 1 - floor

    def y_of(rate: float) -> float:
        return plot_bottom - (plot_bottom - plot_top) * (max(rate, floor) - floor) / span

    for tick in sorted({floor, round(floor + span / 2, 2), 1.0}):
        y = y_of(tick)
        shapes.append(Shape("line", "chart-grid", {"x1": _f(LEFT), "x2": _f(WIDTH - RIGHT), "y1": _f(y), "y2": _f(y)}))
        shapes.append(
            Shape("text", "chart-tick", {"x": _f(LEFT - 8), "y": _f(y + 5), "text_anchor": "end"}, f"{tick * 100:g}%")
        )
    for threshold, label in lines:
        y = y_of(threshold)
        shapes.append(
            Shape("line", "chart-threshold", {"x1": _f(LEFT), "x2": _f(WIDTH - RIGHT), "y1": _f(y), "y2": _f(y)})
        )
        shapes.append(
            Shape(
                "text",
                "chart-threshold-label",
                {"x": _f(WIDTH - RIGHT - 4), "y": _f(y - 4), "text_anchor": "end"},
                label,
            )
        )
    slot = (WIDTH - LEFT - RIGHT) / len(months)
    run: list[str] = []
    for i, rate in enumerate(rates):
        if rate is None:
            if len(run) > 1:
                shapes.append(Shape("polyline", "chart-line", {"points": " ".join(run)}))
            run = []
            continue
        x, y = LEFT + slot * (i + 0.5), y_of(rate)
        run.append(f"{_f(x)},{_f(y)}")
        shapes.append(Shape("circle", "chart-point", {"cx": _f(x), "cy": _f(y), "r": "5"}))
        shapes.append(
            Shape(
                "text", "chart-value-small", {"x": _f(x), "y": _f(y - 10), "text_anchor": "middle"}, f"{rate * 100:.0f}"
            )
        )
    if len(run) > 1:
        shapes.append(Shape("polyline", "chart-line", {"points": " ".join(run)}))
    _month_labels(shapes, months, slot=slot, bottom=plot_bottom)
    return Chart(WIDTH, height, shapes)


def horizontal_bars(
    rows: list[tuple[str, int]], *, css: str = "chart-bar", bar_height: int = 30, gap: int = 10
) -> Chart:
    """One bar per row (label, value) in the order given; the labels' column fits the longest
    (at 20 units a character, as the label font is drawn), up to 15 characters."""
    shapes: list[Shape] = []
    longest = max([len(label) for label, _v in rows] + [4])
    label_width = min(longest, 15) * 20 + 12
    rows = [(label if len(label) <= 15 else label[:14] + "…", value) for label, value in rows]
    peak = max([v for _label, v in rows] + [1])
    plot = WIDTH - label_width - 80
    for i, (label, value) in enumerate(rows):
        y = TOP / 2 + i * (bar_height + gap)
        length = plot * value / peak
        shapes.append(Shape("text", "chart-label", {"x": "0", "y": _f(y + bar_height * 0.7)}, label))
        shapes.append(
            Shape("rect", css, {"x": _f(label_width), "y": _f(y), "width": _f(length), "height": _f(bar_height)})
        )
        shapes.append(
            Shape("text", "chart-value", {"x": _f(label_width + length + 8), "y": _f(y + bar_height * 0.7)}, str(value))
        )
    height = int(TOP + len(rows) * (bar_height + gap))
    return Chart(WIDTH, max(height, 60), shapes)
