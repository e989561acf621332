"""Labelled bar charts as PNG bytes, for any feature: matplotlib's Agg renderer and a CJK font.

The font is Noto Sans CJK SC, a file the ``mplfonts`` package ships, loaded by its path: a chart
reads the same on every machine the project's own install steps set up, whatever fonts the
system has, and a Chinese branch name never turns into boxes. Each chart is its own
``Figure`` on its own Agg canvas (no pyplot, no global rc state), so drawing is safe in any
thread. The font is opened and its glyphs cached once, at import, not in the first event that
draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from io import BytesIO
from pathlib import Path
from unicodedata import east_asian_width

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import FixedLocator, PercentFormatter


def _font_file() -> Path:
    """The font's path inside the installed ``mplfonts`` package, found without importing it
    (its import would reach for matplotlib's global font list)."""
    spec = find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("charts need the mplfonts package: make installs it")
    return Path(next(iter(spec.submodule_search_locations))) / "fonts" / "NotoSansCJKsc-Regular.otf"


FONT_FILE = _font_file()
FONT = FontProperties(fname=FONT_FILE, size=11)
SMALL = FontProperties(fname=FONT_FILE, size=9)
TITLE = FontProperties(fname=FONT_FILE, size=13)
WIDTH = 720
"""Pixels: a phone shows a chat image at the bubble's width, so the chart is drawn at about
that size, never so wide that a phone shrinks its words out of reach."""
DPI = 100
LABEL_WIDTH = 26
"""Columns of a category label, a Chinese character counting two: longer labels end in an
ellipsis, since the label column has a fixed width."""
MAX_CATEGORIES = 50
"""The caller caps its bars (a ranking shows 20 at most); past this a chart is a bug, not data."""
ROW = 0.15
"""Inches of height per bar (a gap the height of a bar between groups)."""
TOP, BOTTOM, MIN_PLOT = 0.85, 0.4, 1.35
"""Inches: title and legend above the bars, the scale below; at least 480 x 260 pixels."""
LEFT = 0.3
"""Of the width, for the category labels."""
TEXT = (40, 40, 40)
AXIS = (90, 90, 90)
GRID = (225, 225, 225)

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Series:
    """One bar per category, each a share from 0 to 1, in one colour with its legend label."""

    label: str
    values: Sequence[float]
    colour: Colour


@dataclass(frozen=True)
class BarChart:
    """Horizontal groups of bars, one group per category, a percentage scale from 0 to 100%."""

    title: str
    categories: Sequence[str]
    series: Sequence[Series]


def _rgb(colour: Colour) -> tuple[float, float, float]:
    return (colour[0] / 255, colour[1] / 255, colour[2] / 255)


def _columns(character: str) -> int:
    return 2 if east_asian_width(character) in ("W", "F") else 1


def short(label: str, width: int = LABEL_WIDTH) -> str:
    """``label`` within ``width`` columns (a Chinese character counts two), else cut with an
    ellipsis."""
    if sum(map(_columns, label)) <= width:
        return label
    used, end = 1, 0
    while used + _columns(label[end]) <= width:
        used += _columns(label[end])
        end += 1
    return label[:end] + "…"


def figure(chart: BarChart) -> Figure:
    """The chart as a figure on its own Agg canvas, its texts all in the CJK font."""
    count = len(chart.categories)
    if count > MAX_CATEGORIES:
        raise ValueError(f"{count} categories: a chart holds at most {MAX_CATEGORIES}")
    per_group = max(1, len(chart.series))
    plot = max(MIN_PLOT, max(1, count) * (per_group + 1) * ROW)
    height = TOP + plot + BOTTOM
    fig = Figure(figsize=(WIDTH / DPI, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    axes = fig.add_axes((LEFT, BOTTOM / height, 0.94 - LEFT, plot / height))
    bar = 1 / (per_group + 1)
    for index, series in enumerate(chart.series):
        rows = [group + (index - (per_group - 1) / 2) * bar for group in range(count)]
        values = [max(0.0, min(1.0, v)) for v in series.values]
        axes.barh(rows, values, height=bar, color=_rgb(series.colour), label=series.label)
        for row, value in zip(rows, values, strict=True):
            axes.text(
                value + 0.01,
                row,
                f"{round(100 * value)}%",
                va="center",
                fontproperties=SMALL,
                color=_rgb(AXIS),
            )
    axes.set_yticks([])
    for group, category in enumerate(chart.categories):
        # plain texts left of the axis, not tick labels: ticks cost twice the time to draw
        axes.text(
            -0.02,
            group,
            short(category),
            ha="right",
            va="center",
            fontproperties=FONT,
            color=_rgb(TEXT),
        )
    axes.set_ylim(count - 0.5, -0.5)
    axes.set_xlim(0, 1.12)
    axes.xaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1]))
    axes.xaxis.set_major_formatter(PercentFormatter(1, decimals=0))
    for label in axes.get_xticklabels():
        label.set_fontproperties(SMALL)
    axes.grid(axis="x", color=_rgb(GRID))
    axes.set_axisbelow(True)
    axes.tick_params(colors=_rgb(AXIS), length=3)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(_rgb(AXIS))
    fig.suptitle(chart.title, x=0.5, y=1 - 0.1 / height, fontproperties=TITLE, color=_rgb(TEXT))
    fig.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.4 / height),
        ncols=per_group,
        prop=FONT,
        frameon=False,
    )
    return fig


def png(chart: BarChart) -> bytes:
    """The chart as PNG bytes."""
    out = BytesIO()
    # the fastest zlib level: less time in the event for a few per cent more bytes
    figure(chart).savefig(out, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return out.getvalue()


def _warm() -> None:
    """Open the font and render its Latin and common Han glyphs once, at import."""
    png(BarChart("图表 Chart", ["学习 0123456789%"], [Series("参加", [0.5], AXIS)]))


_warm()
