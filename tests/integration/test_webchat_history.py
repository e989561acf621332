"""What the web chat keeps: each identity's history across visits, bounded, and never an
ephemeral message (an anonymous form's questions), on both stores, through real delivery."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.delivery import Place
from bot.markup import Markup
from bot.messages import Address, Outgoing, web_chat_link
from bot.outbox import Row, enqueue, payload
from store.repos import Repositories
from store.webchat import WebMessage, WebSession
from tests.support.chat import settle
from tests.support.webchat import client, visit, web_bot

CSRF = "X-Branchbot-CSRF"


async def test_ephemeral_messages_are_shown_once_and_never_kept(database_url: str) -> None:
    async with web_bot(database_url) as (bot, _adapter), client() as http:
        url = bot.http.url
        csrf = await visit(http, url)
        async with bot.db.session() as session:
            user = (await session.scalars(select(WebSession.user_id))).one()
        address = Address("web", user, True, user)
        rows = [
            Row(address, payload(Outgoing(Markup.literal("kept one")), "en")),
            Row(
                address, payload(Outgoing(Markup.literal("secret question")), "en", ephemeral=True)
            ),
        ]
        async with bot.db.session() as session:
            pending = await enqueue(Repositories(session), rows)
        bot._deliver(pending)
        await settle(bot)
        async with bot.db.session() as session:
            bodies = (await session.scalars(select(WebMessage.body))).all()
        assert [b["text"] for b in bodies] == ["kept one"]
        async with http.get(url + "/chat/history") as response:
            shown = [m["text"] for m in (await response.json())["messages"]]
        assert shown == ["kept one", "secret question"]  # held in memory for this visit
        async with http.get(url + "/chat/history") as response:
            shown = [m["text"] for m in (await response.json())["messages"]]
            assert (await response.json())["unread"] == 1
        assert shown == ["kept one"]

        # what the person answers to it, pressed or typed, is not kept either
        asked = str(pending[1].id)
        for body in (
            {"id": "t1", "text": "my anonymous words"},
            {"id": "p1", "choice": "v1|a", "message_id": asked, "label": "Excellent"},
        ):
            async with http.post(url + "/chat/send", json=body, headers={CSRF: csrf}) as response:
                assert response.status == 200
        await settle(bot)
        async with bot.db.session() as session:
            users = [
                b
                for b in (await session.scalars(select(WebMessage.body))).all()
                if b["kind"] == "user"
            ]
        assert users == []


async def test_the_history_is_bounded_per_identity(database_url: str) -> None:
    async with web_bot(database_url, web_chat={"enabled": True, "history": 10}) as (bot, _a):
        assert bot.web_chat is not None
        store = bot.web_chat.store
        for n in range(60):
            await store.keep_many([("w1", {"n": n}, True), ("w2", {"n": n}, False)])
        async with bot.db.session() as session:
            count = await session.scalar(
                select(func.count()).select_from(WebMessage).where(WebMessage.user_id == "w1")
            )
        assert 10 <= int(count or 0) <= 10 + 16
        kept = await store.history("w1")
        assert [body["n"] for _id, body in kept] == list(range(50, 60))


async def test_group_robots_get_the_same_link_for_everyone(database_url: str) -> None:
    async with web_bot(database_url) as (bot, _adapter):
        link = web_chat_link(bot._capabilities, "lesson_opac")
        assert link == f"{bot.http.url}/chat?start=lesson_opac"
        # group robots' messages that need an answer name the web chat as a place to answer
        # (first: it works for everyone), at the message's place
        places = bot.answer_places("notice_7")
        assert places[0] == Place("web", f"{bot.http.url}/chat?start=notice_7"), places
        assert bot.answer_places(None)[0] == Place("web", f"{bot.http.url}/chat"), places
    async with web_bot(database_url, web_chat={"enabled": False}) as (bot, _adapter):
        assert web_chat_link(bot._capabilities, "lesson_opac") is None
