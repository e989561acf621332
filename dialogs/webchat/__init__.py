"""The web direct chat's feature: its tables (``store/webchat.py``) and their migrations,
``/sessions`` (a member's web sessions, from any of their linked accounts, with a button to
sign each out). The page and its routes are the adapter's (``adapters/webchat``), its config
the core's ``[web_chat]`` (``bot.config.WebChatConfig``); docs/webchat.md tells the story."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import Router, Where
from bot.context import Context
from bot.feature import Feature
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Choice
from store.clock import as_utc
from store.webchat import TABLES, WebSession

__all__ = ["FEATURE", "PLATFORM"]

PLATFORM = "web"
"""The adapter's name: a web identity is the account ``web:<random id>``."""

router = Router()


@dataclass(frozen=True, slots=True)
class SessionLine:
    id: int
    user_id: str
    agent: str
    created_at: datetime
    seen_at: datetime


class WebSessions:
    """Named queries of ``/sessions``."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def live(self, user_ids: Sequence[str]) -> list[SessionLine]:
        rows = await self.session.scalars(
            select(WebSession)
            .where(WebSession.user_id.in_(list(user_ids)), WebSession.revoked_at.is_(None))
            .order_by(WebSession.id)
        )
        return [
            SessionLine(r.id, r.user_id, r.agent, as_utc(r.created_at), as_utc(r.seen_at))
            for r in rows
        ]

    async def revoke(self, session_id: int, user_ids: Sequence[str], now: datetime) -> bool:
        """Sign one session out, only if it belongs to one of ``user_ids``."""
        result = await self.session.execute(
            update(WebSession)
            .where(
                WebSession.id == session_id,
                WebSession.user_id.in_(list(user_ids)),
                WebSession.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return bool(getattr(result, "rowcount", 0))


def web_ids(ctx: Context) -> list[str]:
    """The web identities among the speaker's linked accounts (their own too)."""
    accounts = {*ctx.who.identities, ctx.who.identity}
    prefix = f"{PLATFORM}:"
    return sorted(a[len(prefix) :] for a in accounts if a.startswith(prefix))


@router.command(
    "sessions",
    summary=_("your web chat sessions, and signing them out"),
    where=Where.DIRECT,
    role=Role.ANYONE,
)
async def sessions(ctx: Context) -> None:
    mine = web_ids(ctx)
    found = await ctx.store.get(WebSessions).live(mine) if mine else []
    if not found:
        ctx.reply(_("You have no web chat sessions."))
        return
    zone = ctx.settings.timezone
    lines = [ctx.t(_("**Your web chat sessions**"))]
    choices: list[list[Choice]] = []
    for number, line in enumerate(found, 1):
        here = ctx.event.platform == PLATFORM and line.user_id == ctx.event.sender.id
        lines.append(
            ctx.t(
                _("{number}. {browser}: since {created}, last seen {seen}"),
                number=number,
                browser=line.agent or ctx.text(_("a browser")),
                created=ctx.translator.moment(line.created_at, zone, named=False),
                seen=ctx.translator.moment(line.seen_at, zone, named=False),
            )
        )
        label = ctx.text(_("Sign out {number}")).format(number=number)
        if here:
            label = ctx.text(_("Sign out {number} (this chat)")).format(number=number)
        choices.append([Choice(label, f"websession:{line.id}")])
    lines.append(ctx.t(_("Times are {zone}."), zone=ctx.translator.zone(zone)))
    ctx.reply(Markup.join(lines), choices=choices)


@router.button("websession")
async def sign_out(ctx: Context, rest: str) -> None:
    if not rest.isdecimal() or len(rest) > 18:
        ctx.reply(_("That button is no longer in use."))
        return
    mine = web_ids(ctx)
    done = bool(mine) and await ctx.store.get(WebSessions).revoke(int(rest), mine, ctx.clock.now())
    if done:
        ctx.reply(_("Signed out: that browser needs an invite code or /link to come back."))
    else:
        ctx.reply(_("That session is already signed out."))


FEATURE = Feature(
    "web_chat",
    router,
    tables=TABLES,
    migrations=Path(__file__).parent / "migrations",
)
