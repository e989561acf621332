"""The web board's HTML: server-rendered pages, one small stylesheet, no script.

Every value is escaped here (``html.escape``): branch names, report texts and file names are
what people typed. Every visible word comes from the catalogs, in the reader's language. The
stylesheet is inline, allowed by its hash in the Content-Security-Policy (``CSP``), so a
page needs nothing else from the server and runs nothing.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.i18n import Plural, Translator, _
from dialogs.supervision.board import Board
from dialogs.supervision.common import COLOUR, TASK, TASK_STATUS
from dialogs.supervision.indicators import Colour, Indicator
from dialogs.supervision.periods import Period, by_key
from dialogs.supervision.tables import EvidenceFile, Report, Task

QUERY_MAX = 100
"""The longest search a page takes (characters)."""
SNIPPET = 300
"""Characters of a report's text a search result shows."""

CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI","PingFang SC",
"Noto Sans CJK SC",sans-serif;color:#1d1d1f;background:#f6f6f4}
header{background:#8b1a1a;color:#fff;padding:.6rem 1rem}
header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:.75rem;max-width:60rem;margin:0 auto}
h1{font-size:1.25rem;margin:.5rem 0}
h2{font-size:1.05rem;margin:1.25rem 0 .5rem}
a{color:#0b57a4}
.counts{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0;padding:0;list-style:none}
.counts li{padding:.15rem .6rem;border-radius:1rem;background:#fff;border:1px solid #ddd}
form.search{display:flex;gap:.4rem;margin:.75rem 0}
form.search input{flex:1;min-width:0;font:inherit;padding:.45rem .6rem;border:1px solid #bbb;
border-radius:.4rem}
button{font:inherit;padding:.45rem .9rem;border:0;border-radius:.4rem;background:#8b1a1a;
color:#fff}
.scroll{position:relative;overflow-x:auto;-webkit-overflow-scrolling:touch;background:#fff;
border:1px solid #ddd;
border-radius:.4rem}
table.grid{border-collapse:collapse;font-size:.85rem}
.grid th,.grid td{padding:.3rem;border-bottom:1px solid #eee;text-align:center}
.grid thead th{font-weight:500;font-size:.75rem;vertical-align:bottom;min-width:4.5rem;
max-width:6.5rem;overflow-wrap:break-word;hyphens:auto}
.grid th.branch{position:sticky;left:0;background:#fff;text-align:left;min-width:7rem;
max-width:10rem;word-break:break-word}
.cell span.dot{display:inline-block;width:1.3rem;height:1.3rem;border-radius:.3rem}
.c-green{background:#2e9e4f}.c-yellow{background:#f2b705}.c-red{background:#d63b30}
.c-pending{background:#d9d9d9}
.badge{display:inline-block;padding:0 .5rem;border-radius:1rem;color:#fff;font-size:.8rem}
.badge.c-yellow,.badge.c-pending{color:#1d1d1f}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
ol.legend{font-size:.85rem;padding-left:1.5rem}
.card{background:#fff;border:1px solid #ddd;border-radius:.4rem;padding:.6rem .75rem;
margin:.5rem 0}
.card p{margin:.3rem 0}
.text{white-space:pre-wrap;overflow-wrap:anywhere}
.meta{color:#555;font-size:.85rem}
.late{color:#b3261e;font-weight:600}
ul.files{margin:.3rem 0;padding-left:1.2rem;overflow-wrap:anywhere}
.notice{background:#fff;border:1px solid #ddd;border-radius:.4rem;padding:1rem}
""".strip()

STYLE_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{STYLE_HASH}'; "
    "img-src 'none'; "
    "form-action 'self'; "
    "frame-ancestors 'none'; "
    "base-uri 'none'"
)
"""Nothing but this page's own stylesheet; forms only to this server; no frames, no script."""

HTML_LANG = {"zh_Hans": "zh-Hans", "en": "en"}

TITLE = _("Supervision board")
SEARCH = _("Search evidence")
SEARCH_BUTTON = _("Search")
OPEN_TITLE = _("Open the supervision board")
OPEN_TEXT = _("This link opens the board once, in this browser.")
OPEN_BUTTON = _("Open the board")
COUNT = _("{colour}: {count}")
AS_OF = _("As of {day}")
BY_COLOUR = _("Branches by colour")
EMPTY = _("No branches or no indicators yet.")
CELL = _("{indicator}, {period}: {colour}")
BRANCH = _("Branch")
NUMBER = _("{label}: {value}")
TASKS = _("Rectification tasks")
NO_TASKS = _("No rectification tasks.")
DUE = _("due {day}")
CLOSED = _("closed {day}")
NO_REPORT = _("No report.")
LATE = _("late")
REPORTED = _("reported {day}")
NO_MATCH = _("No evidence matches {query}.")


@dataclass(frozen=True, slots=True)
class Shown:
    """One period of an indicator on a branch's page: its colour and its report, if any."""

    period: Period
    colour: Colour
    report: Report | None


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


class Pages:
    """The pages, in one reader's language."""

    def __init__(self, translator: Translator, timezone: str, root: str = "/board") -> None:
        self.root = esc(root)
        """Where the board is as the browser sees it: ``/board`` behind a proxy's prefix."""
        self.tr = translator
        self.locale = translator.locale
        self.timezone = timezone

    def t(self, message: str | Plural, count: int | None = None, **values: object) -> str:
        """A catalog message in HTML: the template and every value escaped."""
        template = esc(self.tr.text(message, count))
        if count is not None:
            values.setdefault("count", count)
        return template.format(**{key: esc(value) for key, value in values.items()})

    def colour(self, colour: Colour) -> str:
        return self.t(COLOUR[colour])

    def document(self, title: str, body: str, *, signed_in: bool = True) -> str:
        """A whole page; ``title`` is HTML already."""
        home = (
            f'<a href="{self.root}/">{self.t(TITLE)}</a>' if signed_in else esc(self.tr.text(TITLE))
        )
        return (
            "<!doctype html>"
            f'<html lang="{HTML_LANG.get(self.locale, "en")}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="referrer" content="no-referrer">'
            f"<title>{title}</title><style>{CSS}</style></head>"
            f"<body><header>{home}</header><main>{body}</main></body></html>"
        )

    def notice(self, title: str | Plural, text: str | Plural) -> str:
        """A short page with no data: refusals, expired links, what is missing."""
        heading = self.t(title)
        body = f'<h1>{heading}</h1><p class="notice" data-testid="notice">{self.t(text)}</p>'
        return self.document(heading, body, signed_in=False)

    def confirm(self) -> str:
        """What a link opens: one button that spends it. A link preview (a chat platform
        fetching the page to show it) only reads this page; only a person's press opens."""
        heading = self.t(OPEN_TITLE)
        body = (
            f"<h1>{heading}</h1>"
            f"<p>{self.t(OPEN_TEXT)}</p>"
            '<form method="post">'
            f'<button type="submit" data-testid="open">{self.t(OPEN_BUTTON)}</button>'
            "</form>"
        )
        return self.document(heading, body, signed_in=False)

    def _search_form(self, query: str = "") -> str:
        return (
            f'<form class="search" action="{self.root}/evidence" method="get" role="search">'
            f'<input type="search" name="q" value="{esc(query)}" maxlength="{QUERY_MAX}" '
            f'placeholder="{self.t(SEARCH)}" aria-label="{self.t(SEARCH)}">'
            f'<button type="submit">{self.t(SEARCH_BUTTON)}</button></form>'
        )

    def _badge(self, colour: Colour) -> str:
        return f'<span class="badge c-{colour.value}">{self.colour(colour)}</span>'

    # -- the grid ---------------------------------------------------------------------------

    def grid(self, board: Board) -> str:
        heading = self.t(TITLE)
        counts = "".join(
            f'<li data-testid="count-{colour.value}">'
            f"{self.t(COUNT, colour=self.tr.text(COLOUR[colour]), count=board.count(colour))}"
            "</li>"
            for colour in (Colour.RED, Colour.YELLOW, Colour.GREEN)
        )
        parts = [
            f"<h1>{heading}</h1>",
            f'<p class="meta">{self.t(AS_OF, day=self.tr.day(board.day))}</p>',
            f'<ul class="counts" aria-label="{self.t(BY_COLOUR)}">{counts}</ul>',
            self._search_form(),
        ]
        if not board.indicators or not board.rows:
            parts.append(f'<p class="notice">{self.t(EMPTY)}</p>')
            return self.document(heading, "".join(parts))
        head = "".join(
            f'<th scope="col">{esc(active.indicator.title.get(self.locale))}</th>'
            for active in board.indicators
        )
        rows = []
        for row in board.rows:
            cells = []
            for cell in row.cells:
                label = self.t(
                    CELL,
                    indicator=cell.indicator.indicator.title.get(self.locale),
                    period=cell.period.label(self.locale),
                    colour=self.tr.text(COLOUR[cell.colour]),
                )
                cells.append(
                    f'<td class="cell" title="{label}" data-colour="{cell.colour.value}">'
                    f'<span class="dot c-{cell.colour.value}" aria-hidden="true"></span>'
                    f'<span class="sr">{label}</span></td>'
                )
            rows.append(
                f'<tr data-testid="branch-row" data-colour="{row.colour.value}">'
                f'<th scope="row" class="branch"><a href="{self.root}/branch/{row.branch_id}">'
                f"{esc(row.name)}</a><br>{self._badge(row.colour)}</th>{''.join(cells)}</tr>"
            )
        parts.append(
            '<div class="scroll"><table class="grid">'
            f'<thead><tr><th class="branch" scope="col">{self.t(BRANCH)}</th>{head}</tr>'
            f"</thead><tbody>{''.join(rows)}</tbody></table></div>"
        )
        return self.document(heading, "".join(parts))

    # -- a branch ---------------------------------------------------------------------------

    def _files(self, files: Sequence[EvidenceFile]) -> str:
        if not files:
            return ""
        items = "".join(
            f'<li><a href="{self.root}/file/{file.id}" download>{esc(file.name)}</a> '
            f'<span class="meta">{esc(_size(file.size))}</span></li>'
            for file in files
        )
        return f'<ul class="files">{items}</ul>'

    def _numbers(self, indicator: Indicator, report: Report) -> str:
        labels = {spec.key: spec.label.get(self.locale) for spec in indicator.numbers}
        shown = [
            self.t(NUMBER, label=labels.get(key, key), value=value)
            for key, value in report.numbers.items()
        ]
        return f"<p>{self.tr.listing(shown)}</p>" if shown else ""

    def branch(
        self,
        name: str,
        sections: Iterable[tuple[Indicator, list[Shown]]],
        files: dict[int, list[EvidenceFile]],
        tasks: Sequence[Task],
    ) -> str:
        heading = esc(name)
        parts = [f'<h1 data-testid="branch-name">{heading}</h1>', self._search_form()]
        for indicator, shown in sections:
            parts.append(f"<h2>{esc(indicator.title.get(self.locale))}</h2>")
            for item in shown:
                parts.append(self._period(indicator, item, files))
        parts.append(f"<h2>{self.t(TASKS)}</h2>")
        if not tasks:
            parts.append(f'<p class="meta">{self.t(NO_TASKS)}</p>')
        for task in tasks:
            status = self.t(TASK_STATUS.get(task.status, task.status))
            due = self.t(DUE, day=self.tr.day(task.due))
            closed = (
                " · " + self.t(CLOSED, day=self.tr.day(task.closed_on))
                if task.closed_on is not None
                else ""
            )
            note = f'<p class="text">{esc(task.note)}</p>' if task.note else ""
            parts.append(
                f'<div class="card" data-testid="task"><p><strong>{esc(TASK.format(task.id))}'
                f"</strong> {esc(task.title)}</p>"
                f'<p class="meta">{status} · {due}{closed}</p>{note}</div>'
            )
        return self.document(heading, "".join(parts))

    def _period(
        self, indicator: Indicator, item: Shown, files: dict[int, list[EvidenceFile]]
    ) -> str:
        report = item.report
        head = (
            f"<p><strong>{esc(item.period.label(self.locale))}</strong> "
            f"{self._badge(item.colour)}</p>"
        )
        if report is None:
            body = f'<p class="meta">{self.t(NO_REPORT)}</p>'
        else:
            late = f' <span class="late">{self.t(LATE)}</span>' if report.late else ""
            body = (
                f'<p class="meta">{self.t(REPORTED, day=self.tr.day(report.on))}'
                f"{late}</p>"
                + (f'<p class="text">{esc(report.text)}</p>' if report.text else "")
                + self._numbers(indicator, report)
                + self._files(files.get(report.id, []))
            )
        return (
            f'<div class="card" data-testid="period" data-colour="{item.colour.value}">'
            f"{head}{body}</div>"
        )

    # -- evidence ---------------------------------------------------------------------------

    def evidence(
        self,
        query: str,
        found: Sequence[tuple[Report, str, Indicator | None]],
        files: dict[int, list[EvidenceFile]],
    ) -> str:
        heading = self.t(SEARCH)
        parts = [f"<h1>{heading}</h1>", self._search_form(query)]
        if query.strip() and not found:
            parts.append(f'<p class="notice">{self.t(NO_MATCH, query=query)}</p>')
        for report, branch, indicator in found:
            title = indicator.title.get(self.locale) if indicator is not None else ""
            period = _period_label(indicator, report.period, self.locale)
            text = report.text if len(report.text) <= SNIPPET else report.text[:SNIPPET] + "…"
            late = f' <span class="late">{self.t(LATE)}</span>' if report.late else ""
            parts.append(
                '<div class="card" data-testid="result">'
                f'<p><a href="{self.root}/branch/{report.branch_id}">{esc(branch)}</a> · '
                f"{esc(title)} · {esc(period)}</p>"
                f'<p class="meta">{self.t(REPORTED, day=self.tr.day(report.on))}'
                f"{late}</p>"
                + (f'<p class="text">{esc(text)}</p>' if text else "")
                + self._files(files.get(report.id, []))
                + "</div>"
            )
        return self.document(heading, "".join(parts))


def _period_label(indicator: Indicator | None, key: str, locale: str) -> str:
    period = by_key(indicator, key) if indicator is not None else None
    return period.label(locale) if period is not None else key


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} kB"
    return f"{size / 1024 / 1024:.1f} MB"
