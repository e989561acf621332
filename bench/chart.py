"""How long a bar chart takes to draw (``bot/charts.py``, matplotlib in the shipped CJK font).

A ranking's chart is drawn inside the event that asked for it, so it spends the event budget
(``event_budget_seconds``, 0.25 s by default). Prints one JSON object: the bars drawn, the
fastest and the median of ``--repeat`` draws, and the PNG's size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bot.charts import BarChart, Series, png

COLOURS = ((52, 120, 246), (46, 184, 92))


def chart(bars: int) -> BarChart:
    names = [f"{n}. 支部 {n}" if n % 2 else f"{n}. Branch {n}" for n in range(1, bars + 1)]
    return BarChart(
        "本周学习 · Learning this week",
        names,
        [
            Series("took part", [0.5 + n % 5 / 10 for n in range(bars)], COLOURS[0]),
            Series("right answers", [0.25 + n % 7 / 10 for n in range(bars)], COLOURS[1]),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    drawing = chart(args.bars)
    took, size = [], 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        size = len(png(drawing))
        took.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "bars": args.bars,
                "fastest_seconds": round(min(took), 4),
                "median_seconds": round(statistics.median(took), 4),
                "png_bytes": size,
            }
        )
    )


if __name__ == "__main__":
    main()
