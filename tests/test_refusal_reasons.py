"""Adapters classify refusals (``Unreachable(detail, reason)``); delivery stores the reason with
the detail, and a broadcast report words each reason for its reader, never reading a
platform's error text."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from nio import RoomSendError

from adapters.matrix.base import failure
from adapters.memory import MemoryAdapter
from adapters.telegram import TelegramAdapter
from adapters.webhook import WebhookChannel
from bot.events import Incoming
from bot.i18n import LOCALES, translator
from bot.markup import Markup
from bot.messages import Accepted, Address, Outgoing, Refusal, Unreachable
from dialogs.broadcast.fanout import REFUSAL_REASONS
from tests.support.broadcasts import broadcast, organisation
from tests.support.chat import BotFactory
from tests.support.telegram import FakeTelegram, running_fake

HELLO = Outgoing(Markup.literal("hi"))


async def accept(event: Incoming) -> Accepted:
    return Accepted()


def test_the_stored_text_gives_the_reason_back() -> None:
    for reason in Refusal:
        error = Unreachable("Forbidden: bot was blocked by the user", reason)
        assert str(error) == f"{reason.value}: Forbidden: bot was blocked by the user"
        assert Refusal.of(str(error)) is reason
        assert (error.detail, error.reason) == ("Forbidden: bot was blocked by the user", reason)
    assert Unreachable("no such thing").reason is Refusal.REFUSED
    # text that is no stored refusal: another error, a platform's words, nothing
    for other in ("TransientError: timeout", "Forbidden: bot was blocked", "blocked", "", None):
        assert Refusal.of(other) is None


def test_every_reason_has_a_wording_in_every_language() -> None:
    assert set(REFUSAL_REASONS) == set(Refusal)
    for wording in REFUSAL_REASONS.values():
        for locale in LOCALES:
            translated = translator(locale, locale).text(wording)
            assert (translated == wording) is (locale == "en"), (locale, wording)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with running_fake() as fake:
        yield fake


async def test_telegram_classifies_its_refusals(fake: FakeTelegram) -> None:
    adapter = TelegramAdapter(fake.token, api_url=fake.url, poll_timeout=1)
    await adapter.start(accept)
    try:
        fake.user(7, "Ann")
        fake.started.add(7)
        fake.block(fake.users[7])
        fake.user(8, "Never started")
        fake.group(-100123, "Group")
        fake.kicked.add(-100123)
        cases = {
            Address("telegram", "7", True, "7"): Refusal.BLOCKED,
            Address("telegram", "8", True, "8"): Refusal.FORBIDDEN,
            Address("telegram", "-100123", False): Refusal.FORBIDDEN,
            Address("telegram", "-42", False): Refusal.GONE,
            Address("telegram", "not-a-chat", False): Refusal.GONE,
        }
        for number, (address, reason) in enumerate(cases.items()):
            with pytest.raises(Unreachable) as refused:
                await adapter.send(address, HELLO, str(number))
            assert refused.value.reason is reason, (address, refused.value)
    finally:
        await adapter.stop()


@pytest.mark.parametrize(
    ("status", "reason"),
    [(410, Refusal.GONE), (400, Refusal.REFUSED), (413, Refusal.REFUSED), (422, Refusal.REFUSED)],
)
async def test_a_webhook_receiver_refusal_is_classified(status: int, reason: Refusal) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/in", answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    channel = WebhookChannel("lab", "a-secret-of-sixteen", callback_url=str(server.make_url("/in")))
    await channel.start(accept)
    try:
        with pytest.raises(Unreachable) as refused:
            await channel.send(Address("webhook:lab", "room"), HELLO, "1")
    finally:
        await channel.stop()
        await server.close()
    assert refused.value.reason is reason
    assert f"HTTP {status}" in refused.value.detail


def test_matrix_classifies_the_homeservers_error_codes() -> None:
    cases = {
        "M_FORBIDDEN": Refusal.FORBIDDEN,
        "M_NOT_FOUND": Refusal.GONE,
        "M_TOO_LARGE": Refusal.REFUSED,
        "M_BAD_JSON": Refusal.REFUSED,
    }
    for code, reason in cases.items():
        error = failure(RoomSendError("no", code))
        assert isinstance(error, Unreachable) and error.reason is reason, code


async def test_a_report_words_each_reason_and_shows_no_platform_text(
    make_bot: BotFactory,
) -> None:
    refusals = {
        "dm-mei": Unreachable("Forbidden: bot was blocked by the user", Refusal.BLOCKED),
        "dm-kai": Unreachable("Bad Request: chat not found", Refusal.GONE),
        "room": Unreachable("M_FORBIDDEN: not in room", Refusal.FORBIDDEN),
    }

    def refuse(address: Address, message: Outgoing) -> Exception | None:
        return refusals.get(address.chat_id) if "Hello all" in message.text.plain() else None

    bot, adapter = await make_bot(MemoryAdapter(fail=refuse))
    await organisation(bot, adapter)
    number = await broadcast(bot)
    report = next(
        s.message.text.plain()
        for s in adapter.sent
        if s.address.chat_id == "dm-sam" and "delivered" in s.message.text.plain()
    )
    assert f"N{number} sent: 1 delivered, 3 unreachable." in report, report
    assert "Mei (direct chat): has blocked the bot or closed their account" in report
    assert "Kai (direct chat): the chat no longer exists" in report
    assert "(room): the bot was removed from the chat or may not write there" in report
    assert "Forbidden" not in report and "M_FORBIDDEN" not in report
