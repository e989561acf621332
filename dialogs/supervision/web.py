"""The read-only web board for admins: ``/board web`` sends a link, the link opens a browser
session, the session reads the grid, each branch's history, evidence by search and its files.

The link is a random 256-bit token, good once and for ``link_minutes``; the session it opens
is another, kept in a cookie (HttpOnly, SameSite=Strict, ``Path=/board`` under the public
URL's path, Secure behind https) for ``session_hours``. The store keeps only their SHA-256
(``WebToken``), so a copy of the database opens nothing. The link's page holds one button
that spends it (a POST): chat platforms fetch links to preview them, and a preview must not
use up the link. The answer to that press sets the cookie and sends the browser on to
``/board/``, so the link does not stay in the address bar.

Every other page asks for the session and that its identity is still an admin (the config's,
or one ``branchbot admin add`` stored), on each request; without both it answers 401 or 403
with a short page and no data. Every answer carries ``no-store``, ``nosniff``,
``no-referrer`` and a Content-Security-Policy that allows the page's own stylesheet only.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import quote, urlsplit

from aiohttp import web

from bot.commands import Where
from bot.context import Context, Settings
from bot.feature import Services
from bot.i18n import Translator, _, translator
from bot.identity import Role
from dialogs.supervision.board import board, colour_of
from dialogs.supervision.common import config, day_of, router
from dialogs.supervision.config import SupervisionConfig
from dialogs.supervision.evidence import FileStore
from dialogs.supervision.indicators import Indicator
from dialogs.supervision.periods import Period, containing, previous
from dialogs.supervision.repository import Active, Supervision
from dialogs.supervision.web_pages import CSP, QUERY_MAX, Pages, Shown
from store.repos import Repositories

COOKIE = "board_session"
LINK = "link"
SESSION = "session"
HISTORY = 12
"""Periods of each indicator a branch's page shows, newest first."""
SEARCH_WORDS = 10

HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
"""What every answer of the board carries."""

TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
UNSAFE_MIME = re.compile(r"html|xml|javascript|ecmascript|svg|shockwave", re.IGNORECASE)
MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,127}$")
NAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]')


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- the chat command -------------------------------------------------------------------------


@router.command(
    "board web",
    summary=_("a link that opens the board in a browser"),
    role=Role.ADMIN,
    where=Where.DIRECT,
)
async def board_web(ctx: Context) -> None:
    """A link for the speaker alone: good once, for minutes. Its reply is erased from the
    store once delivered (``vanish``), so the outbox keeps no link that works. Only the
    token's hash is stored: the event itself reveals nothing, so its id is kept as usual
    (a redelivered event would otherwise make a second link)."""
    minutes = config(ctx).link_minutes
    token = secrets.token_urlsafe(32)
    ctx.store.get(Supervision).add_token(
        LINK, digest(token), ctx.who.identity, ctx.clock.now() + timedelta(minutes=minutes)
    )
    url = f"{ctx.settings.web_address().rstrip('/')}/board/open/{token}"
    ctx.reply(
        _(
            "Open the supervision board in your browser: {url}\n"
            "The link works once, for {minutes} minutes; it is for you alone, do not pass it on."
        ),
        url=url,
        minutes=minutes,
        vanish=True,
    )


# -- the pages --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Viewer:
    identity: str
    pages: Pages


Page = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _secured(handler: Page) -> Page:
    async def answer(request: web.Request) -> web.StreamResponse:
        response = await handler(request)
        response.headers.update(HEADERS)
        return response

    return answer


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _filename(name: str) -> str:
    """``Content-Disposition`` for ``name``: an ASCII fallback and the UTF-8 name (RFC 5987)."""
    clean = NAME_UNSAFE.sub("_", name).strip(" .") or "file"
    clean = clean[:200]
    fallback = "".join(c if c.isascii() and c.isprintable() else "_" for c in clean)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(clean, safe='')}"


def _mime(stored: str) -> str:
    """The stored type when a browser cannot run it as a page (no HTML, XML, script, SVG,
    and of text only plain text); else ``application/octet-stream``."""
    mime = stored.strip().lower().split(";")[0].strip()
    if mime == "text/plain":
        return mime
    if not MIME.match(mime) or UNSAFE_MIME.search(mime) or mime.startswith("text/"):
        return "application/octet-stream"
    return mime


class WebBoard:
    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def _root(self) -> str:
        """The board's path as browsers see it: ``/board`` under the public URL's path."""
        return urlsplit(self.settings.web_address()).path.rstrip("/") + "/board"

    def _pages(self, locale: str | None = None) -> Pages:
        language: Translator = translator(locale, self.settings.default_locale)
        return Pages(language, self.settings.timezone, self._root())

    def _today(self) -> date:
        return day_of(self.services.clock, self.settings)

    def _config(self) -> SupervisionConfig:
        return self.settings.section(SupervisionConfig)

    async def _admin(self, repos: Repositories, identity: str) -> tuple[bool, str | None]:
        """Whether ``identity`` (or an account linked to it) is an admin now, and the
        language of its member (``None``: not a member, or none chosen)."""
        pairs = [(identity[:i], identity[i + 1 :]) for i, c in enumerate(identity) if c == ":"]
        people = await repos.people.resolve(pairs)
        person = next(iter(people.values()), None)
        identities = {identity, *(person.identities if person is not None else ())}
        admin = bool(identities & self.settings.admins) or bool(
            await repos.people.admins_among(identities)
        )
        return admin, person.locale if person is not None else None

    async def _viewer(self, request: web.Request, repos: Repositories) -> Viewer | web.Response:
        """The admin this request's session belongs to, or the refusal to answer with."""
        token = request.cookies.get(COOKIE, "")
        identity = None
        if TOKEN.match(token):
            identity = await repos.get(Supervision).session_of(digest(token))
        if identity is None:
            pages = self._pages()
            return _html(
                pages.notice(
                    _("Not signed in"),
                    _(
                        "Send /board web to the bot in your direct chat and open the link it "
                        "gives you."
                    ),
                ),
                401,
            )
        admin, locale = await self._admin(repos, identity)
        if not admin:
            return _html(
                self._pages(locale).notice(
                    _("Not allowed"), _("The supervision board is for the organisation's admins.")
                ),
                403,
            )
        return Viewer(identity, self._pages(locale))

    def _not_found(self, viewer: Viewer) -> web.Response:
        return _html(viewer.pages.notice(_("Not found"), _("There is nothing here.")), 404)

    # -- the link ---------------------------------------------------------------------------

    async def confirm(self, request: web.Request) -> web.StreamResponse:
        if not TOKEN.match(request.match_info["token"]):
            return self._refused_link()
        return _html(self._pages().confirm())

    def _refused_link(self, locale: str | None = None) -> web.Response:
        return _html(
            self._pages(locale).notice(
                _("This link does not open the board"),
                _(
                    "A link works once and only for a few minutes. Send /board web to the bot "
                    "in your direct chat for a new one."
                ),
            ),
            403,
        )

    async def open(self, request: web.Request) -> web.StreamResponse:
        """Spend the link, start a session, and send the browser on to the board."""
        token = request.match_info["token"]
        if not TOKEN.match(token):
            return self._refused_link()
        session_token = secrets.token_urlsafe(32)
        hours = self._config().session_hours
        async with self.services.db.session() as session:
            repos = Repositories(session)
            supervision = repos.get(Supervision)
            identity = await supervision.spend_link(digest(token))
            if identity is None:
                return self._refused_link()
            admin, locale = await self._admin(repos, identity)
            if not admin:
                return self._refused_link(locale)
            await supervision.prune_tokens()
            expires = self.services.clock.now() + timedelta(hours=hours)
            supervision.add_token(SESSION, digest(session_token), identity, expires)
        root = self._root()
        response = web.Response(status=303, headers={"Location": f"{root}/"})
        response.set_cookie(
            COOKIE,
            session_token,
            max_age=hours * 3600,
            path=root,
            httponly=True,
            samesite="Strict",
            secure=self.settings.web_address().lower().startswith("https:"),
        )
        return response

    # -- what a session reads ---------------------------------------------------------------

    async def grid(self, request: web.Request) -> web.StreamResponse:
        async with self.services.db.session() as session:
            repos = Repositories(session)
            viewer = await self._viewer(request, repos)
            if isinstance(viewer, web.Response):
                return viewer
            shown = await board(repos, self._config(), self._today())
        return _html(viewer.pages.grid(shown))

    async def branch(self, request: web.Request) -> web.StreamResponse:
        branch_id = int(request.match_info["id"])
        today = self._today()
        async with self.services.db.session() as session:
            repos = Repositories(session)
            viewer = await self._viewer(request, repos)
            if isinstance(viewer, web.Response):
                return viewer
            branch = await repos.branches.get(branch_id)
            if branch is None:
                return self._not_found(viewer)
            supervision = repos.get(Supervision)
            indicators = await supervision.indicators(everyone=True)
            wanted = {a.id: _recent(a, today) for a in indicators}
            oldest = [p.key for recent in wanted.values() for p in recent[-1:]]
            reports = await supervision.history(branch_id, min(oldest, default=""))
            by_cell = {(r.indicator_id, r.period): r for r in reports}
            sections: list[tuple[Indicator, list[Shown]]] = []
            for active in indicators:
                has_report = any(r.indicator_id == active.id for r in reports)
                if not active.indicator.active and not has_report:
                    continue
                shown = []
                for period in wanted[active.id]:
                    report = by_cell.get((active.id, period.key))
                    colour = colour_of(active.indicator, period, report, today)
                    shown.append(Shown(period, colour, report))
                sections.append((active.indicator, shown))
            files = await supervision.files(r.id for r in reports)
            tasks = await supervision.tasks(branch_ids=[branch_id], open_only=False)
        return _html(viewer.pages.branch(branch.name, sections, files, tasks))

    async def evidence(self, request: web.Request) -> web.StreamResponse:
        query = request.query.get("q", "")[:QUERY_MAX]
        words = query.split()[:SEARCH_WORDS]
        async with self.services.db.session() as session:
            repos = Repositories(session)
            viewer = await self._viewer(request, repos)
            if isinstance(viewer, web.Response):
                return viewer
            supervision = repos.get(Supervision)
            reports = await supervision.search(words, None) if words else []
            names = {b.id: b.name for b in await repos.branches.all()} if reports else {}
            definitions = (
                {a.id: a.indicator for a in await supervision.indicators(everyone=True)}
                if reports
                else {}
            )
            files = await supervision.files(r.id for r in reports)
        found = [(r, names.get(r.branch_id, ""), definitions.get(r.indicator_id)) for r in reports]
        return _html(viewer.pages.evidence(query, found, files))

    async def file(self, request: web.Request) -> web.StreamResponse:
        file_id = int(request.match_info["id"])
        async with self.services.db.session() as session:
            repos = Repositories(session)
            viewer = await self._viewer(request, repos)
            if isinstance(viewer, web.Response):
                return viewer
            found = await repos.get(Supervision).file(file_id)
            if found is None:
                return self._not_found(viewer)
            name, mime, sha256 = found.name, found.mime, found.sha256
        data = await FileStore.of(self.settings).read(sha256)
        if data is None:
            return _html(
                viewer.pages.notice(
                    _("File missing"), _("The file is no longer kept on the server.")
                ),
                404,
            )
        return web.Response(
            body=data,
            headers={
                "Content-Type": _mime(mime),
                "Content-Disposition": _filename(name),
            },
        )

    async def home(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=308, headers={"Location": f"{self._root()}/"})


def _recent(active: Active, today: date) -> list[Period]:
    """The last ``HISTORY`` periods of an indicator up to the one ``today`` falls in, newest
    first, none before the period it was first imported in."""
    start = containing(active.indicator, active.starts_on).first
    found: list[Period] = []
    period: Period | None = containing(active.indicator, today)
    while period is not None and period.first >= start and len(found) < HISTORY:
        found.append(period)
        period = previous(active.indicator, period)
    return found


def routes(services: Services) -> Sequence[web.RouteDef]:
    """The board's routes on the bot's HTTP server."""
    pages = WebBoard(services)
    return [
        web.get("/board", _secured(pages.home)),
        web.get("/board/", _secured(pages.grid)),
        web.get(r"/board/open/{token}", _secured(pages.confirm)),
        web.post(r"/board/open/{token}", _secured(pages.open)),
        web.get(r"/board/branch/{id:\d{1,18}}", _secured(pages.branch)),
        web.get("/board/evidence", _secured(pages.evidence)),
        web.get(r"/board/file/{id:\d{1,18}}", _secured(pages.file)),
    ]
