"""Charts for the report: matplotlib (Agg, no pyplot) rendered to inline SVG.

Each chart is an ``<svg data-chart="NAME" role="img" aria-label="…">``
element ready to paste into HTML: no XML prolog, text kept as text (small,
searchable), ids salted per chart so several charts share a page without
clashing, no timestamp (the same figures give the same bytes).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["PALETTE", "bar_chart", "grouped_bars", "heatmap", "line_chart", "message_chart", "svg_chart"]

PALETTE = ("#3b6fc4", "#e08a2b", "#3a9a6a", "#c4473b", "#7a5cc4", "#8a8f99", "#c4a23b")
_INK = "#1d2433"
_GRID = "#e3e7ee"


def _rc(name: str) -> dict[str, Any]:
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": f"outreach-{name}",
        "font.family": "sans-serif",
        "font.size": 9,
        "axes.edgecolor": _GRID,
        "axes.labelcolor": _INK,
        "xtick.color": _INK,
        "ytick.color": _INK,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.grid.axis": "y",
        "grid.color": _GRID,
        "axes.axisbelow": True,
        "legend.frameon": False,
    }


def svg_chart(name: str, title: str, draw: Callable[[Any], None], *, size: tuple[float, float] = (7.2, 2.8)) -> str:
    """Draw on a fresh figure and return it as an inline ``<svg data-chart=name>`` element.

    Args:
        name: The chart's id (``data-chart`` attribute; tests and CSS find it by it).
        title: Accessible label (``aria-label``); the page shows its own heading.
        draw: Called with a matplotlib ``Figure`` to draw on.
        size: Width and height in inches.
    """
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_rc(name)):
        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    label = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    svg = svg.replace("<svg ", f'<svg data-chart="{name}" role="img" aria-label="{label}" ', 1)
    # Comments and the RDF metadata block carry nothing a reader needs.
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    return re.sub(r"<!--.*?-->\s*", "", svg, flags=re.DOTALL)


def message_chart(name: str, title: str, text: str) -> str:
    """A chart-sized panel with one sentence, for a section without data yet (the chart stays present)."""

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, text, ha="center", va="center", color="#5b6472", fontsize=11)

    return svg_chart(name, title, draw, size=(7.2, 1.2))


def bar_chart(
    name: str, title: str, labels: Sequence[str], values: Sequence[float], *, ylabel: str = "",
    horizontal: bool = False, color: str = PALETTE[0], annotate: bool = True,
) -> str:
    """One series as bars, values written on the bars."""

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        if horizontal:
            ys = list(range(len(labels)))[::-1]
            bars = ax.barh(ys, values, color=color)
            ax.set_yticks(ys, labels)
            ax.grid(axis="y", visible=False)
            ax.grid(axis="x", visible=True)
            ax.set_xlabel(ylabel)
        else:
            bars = ax.bar(list(labels), values, color=color)
            ax.set_ylabel(ylabel)
        if annotate:
            ax.bar_label(bars, fmt=_fmt, padding=2, fontsize=8)

    height = max(1.6, 0.32 * len(labels) + 0.6) if horizontal else 2.8
    return svg_chart(name, title, draw, size=(7.2, height))


def grouped_bars(
    name: str, title: str, groups: Sequence[str], series: Mapping[str, Sequence[float]], *,
    ylabel: str = "", percent: bool = False, stacked: bool = False,
) -> str:
    """Several series side by side (or stacked) per group, with a legend."""

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        n = max(len(series), 1)
        width = 0.8 if stacked else 0.8 / n
        bottoms = [0.0] * len(groups)
        for i, (label, values) in enumerate(series.items()):
            xs = [g if stacked else g - 0.4 + width * (i + 0.5) for g in range(len(groups))]
            bars = ax.bar(xs, values, width, label=label, color=PALETTE[i % len(PALETTE)],
                          bottom=bottoms if stacked else None)
            if not stacked:
                ax.bar_label(bars, fmt=(lambda v: f"{v:.0%}") if percent else _fmt, padding=1, fontsize=7)
            else:
                bottoms = [b + v for b, v in zip(bottoms, values)]
        ax.set_xticks(range(len(groups)), list(groups))
        ax.set_ylabel(ylabel)
        if percent:
            from matplotlib.ticker import PercentFormatter

            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
            ax.set_ylim(0, max(1.0, *(v for vs in series.values() for v in vs)) * 1.1)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)

    return svg_chart(name, title, draw)


def line_chart(
    name: str, title: str, xs: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
    ylabel: str = "", ylim: tuple[float, float] | None = None, reference: float | None = None,
    bars: Mapping[str, Sequence[float]] | None = None,
) -> str:
    """Weekly series as lines (gaps where a week has no value), optional bars behind them."""

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        pos = list(range(len(xs)))
        if bars:
            for i, (label, values) in enumerate(bars.items()):
                ax.bar(pos, values, 0.6, label=label, color=PALETTE[(i + 5) % len(PALETTE)], alpha=0.35)
        for i, (label, values) in enumerate(series.items()):
            ys = [float("nan") if v is None else v for v in values]
            ax.plot(pos, ys, marker="o", markersize=3, linewidth=1.8, label=label, color=PALETTE[i % len(PALETTE)])
        if reference is not None:
            ax.axhline(reference, color="#8a8f99", linewidth=0.8, linestyle="--")
        step = max(1, len(xs) // 10)
        ax.set_xticks(pos[::step], [x[5:] for x in xs][::step])
        ax.set_ylabel(ylabel)
        if ylim:
            ax.set_ylim(*ylim)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)

    return svg_chart(name, title, draw)


def heatmap(name: str, title: str, rows: Sequence[str], cols: Sequence[str], values: Sequence[Sequence[float]]) -> str:
    """Rows × weeks as shaded cells with counts written in (a trend at a glance)."""

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        ax.imshow(values, cmap="Oranges", aspect="auto", vmin=0)
        ax.set_yticks(range(len(rows)), list(rows))
        ax.set_xticks(range(len(cols)), [c[5:] for c in cols])
        ax.grid(False)
        peak = max((v for row in values for v in row), default=0) or 1
        for r, row in enumerate(values):
            for c, v in enumerate(row):
                if v:
                    ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=7,
                            color="white" if v > 0.6 * peak else _INK)

    return svg_chart(name, title, draw, size=(7.2, max(1.6, 0.3 * len(rows) + 0.8)))


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:.1f}"
