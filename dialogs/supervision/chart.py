"""The board as an image: branches down, indicators across, one coloured square per cell.

Drawn with the core's chart font (``bot.charts``: Noto Sans CJK, on its own Agg canvas) at a
phone's width. A chat image holds ``MAX_ROWS`` branches, worst first; the text beside it names
the rest. Cells are one ``pcolormesh`` (a single artist however many there are), so 40 × 20
cells cost the same as one.
"""

from __future__ import annotations

from io import BytesIO

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bot.charts import DPI, FONT, SMALL, TITLE, WIDTH, short
from dialogs.supervision.board import Board
from dialogs.supervision.indicators import Colour

MAX_ROWS = 40
"""Branches in one image: more would be too small to read on a phone."""
ORDER = (Colour.PENDING, Colour.GREEN, Colour.YELLOW, Colour.RED)
RGB = {
    Colour.PENDING: "#d9d9d9",
    Colour.GREEN: "#2e9e4f",
    Colour.YELLOW: "#f2b705",
    Colour.RED: "#d63b30",
}
ROW, TOP, BOTTOM = 0.24, 0.7, 1.6
"""Inches: a branch's row, the title above, the indicator names and the legend below."""


def board_png(
    board: Board, title: str, legend: dict[Colour, str], locale: str, score: str
) -> bytes:
    """The first ``MAX_ROWS`` rows of ``board`` as a PNG; ``legend`` names each colour and
    ``score`` heads the column of branch scores."""
    rows = board.rows[:MAX_ROWS]
    count, columns = max(1, len(rows)), max(1, len(board.indicators))
    plot = count * ROW
    height = TOP + plot + BOTTOM
    fig = Figure(figsize=(WIDTH / DPI, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    left, right = 0.3, 0.86
    axes = fig.add_axes((left, BOTTOM / height, right - left, plot / height))
    values = [[ORDER.index(cell.colour) for cell in row.cells] or [0] for row in rows] or [[0]]
    axes.pcolormesh(
        values,
        cmap=ListedColormap([RGB[colour] for colour in ORDER]),
        vmin=-0.5,
        vmax=len(ORDER) - 0.5,
        edgecolors="white",
        linewidth=1.5,
    )
    axes.set_ylim(count, 0)
    axes.set_xlim(0, columns)
    axes.set_xticks([i + 0.5 for i in range(len(board.indicators))])
    axes.set_xticklabels(
        [short(a.indicator.title.get(locale), 14) for a in board.indicators],
        rotation=60,
        ha="right",
        rotation_mode="anchor",
        fontproperties=SMALL,
    )
    axes.set_yticks([i + 0.5 for i in range(len(rows))])
    axes.set_yticklabels([short(row.name, 22) for row in rows], fontproperties=SMALL)
    axes.tick_params(length=0)
    for side in axes.spines.values():
        side.set_visible(False)
    for index, row in enumerate(rows):
        shown = "–" if row.score is None else f"{round(100 * row.score)}%"
        axes.text(columns + 0.3, index + 0.5, shown, va="center", fontproperties=SMALL)
    axes.text(columns + 0.3, -0.3, score, va="bottom", fontproperties=SMALL)
    fig.suptitle(title, x=0.5, y=1 - 0.15 / height, fontproperties=TITLE)
    fig.legend(
        handles=[
            Patch(color=RGB[c], label=legend[c])
            for c in (Colour.GREEN, Colour.YELLOW, Colour.RED, Colour.PENDING)
        ],
        loc="lower center",
        bbox_to_anchor=(0.5, 0.02 / height),
        ncols=4,
        prop=FONT,
        frameon=False,
    )
    out = BytesIO()
    fig.savefig(out, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return out.getvalue()
