"""The Telegram adapter against the fake Bot API: rendering, errors, and the delivery limits."""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from telegram import Update

from adapters.telegram import TelegramAdapter
from adapters.telegram.adapter import CAPABILITIES
from adapters.telegram.render import MAX_TEXT, size, split_html
from adapters.webhook import render
from bot.app import BranchBot
from bot.delivery import Limiter, degrade
from bot.events import Incoming
from bot.markup import Markup
from bot.messages import (
    Accepted,
    Address,
    Capabilities,
    Choice,
    Document,
    EngineStopped,
    EventHandler,
    Image,
    Outgoing,
    RetryLater,
    TransientError,
    Unreachable,
)
from bot.outbox import payload
from store.repos import Repositories
from tests.support.ports import free_port
from tests.support.telegram import (
    GLOBAL_PER_SECOND,
    ApiError,
    FakeTelegram,
    parse_html,
    telegram_bot,
)

GROUP = -1009876543210


@pytest.fixture
async def adapter(fake: FakeTelegram) -> AsyncIterator[TelegramAdapter]:
    adapter = TelegramAdapter(fake.token, api_url=fake.url, poll_timeout=1)

    await adapter.start(accept)
    yield adapter
    await adapter.stop()


async def accept(event: Incoming) -> Accepted:
    return Accepted()


def to(chat: int) -> Address:
    return Address("telegram", str(chat), chat > 0, str(chat) if chat > 0 else None)


def test_split_keeps_paragraphs_and_tags_whole() -> None:
    paragraphs = [f"**Part {i}** " + "word " * 300 for i in range(12)]
    parts = split_html(Markup.format("\n\n".join(paragraphs)))
    assert len(parts) > 1
    for part in parts:
        assert size(part) <= MAX_TEXT
        assert part.startswith("<b>Part "), part[:40]  # every cut fell between paragraphs
        parse_html(part)
    assert sum(part.count("<b>") for part in parts) == 12


def test_split_cuts_long_words_and_counts_utf16() -> None:
    text = Markup.literal("😀" * 5000 + "&" * 3000)
    parts = split_html(text)
    assert all(size(part) <= MAX_TEXT for part in parts)
    assert "".join(parse_html(p) for p in parts) == "😀" * 5000 + "&" * 3000


async def test_text_is_escaped_and_long_text_split(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    fake.user(7, "Ann")
    fake.started.add(7)
    typed = "<b>not bold</b> & <script>"
    message = Outgoing(
        Markup.format("**{name}** said:\n\n", name=typed) + Markup.literal("x " * 5000)
    )
    ref = await adapter.send(to(7), message, "1")
    sent = fake.to(7)
    # The heading paragraph alone, then 10,000 characters in three parts cut between words.
    assert len(sent) == 4 and ref.message_id == str(sent[-1].message_id)
    assert " ".join(s.text for s in sent[1:]).split() == ["x"] * 5000
    assert sent[0].text.startswith(typed) and "&lt;b&gt;" in sent[0].raw
    assert all(len(s.text) <= MAX_TEXT for s in sent)


async def test_buttons_photo_reply_and_topic(fake: FakeTelegram, adapter: TelegramAdapter) -> None:
    fake.group(GROUP, "Forum", forum=True)
    payload = "9|" + "p" * 62
    message = Outgoing(
        Markup.format("Pick **one**"),
        ((Choice("A", payload), Choice("B", "2|b")),),
        Image("image/png", b"\x89PNG fake"),
        reply_to="17",
    )
    await adapter.send(Address("telegram", f"{GROUP}/42"), message, "2")
    (photo,) = fake.to(GROUP)
    assert photo.photo and photo.thread == 42 and photo.reply_to == 17
    assert photo.text == "Pick one" and photo.payloads() == [payload, "2|b"]
    assert len(payload.encode()) == 64


async def test_errors_become_what_delivery_needs(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    fake.user(7, "Ann")
    fake.started.add(7)
    fake.group(GROUP, "Group")
    fake.flood[GROUP] = 3
    with pytest.raises(RetryLater) as group_flood:
        await adapter.send(to(GROUP), Outgoing(Markup.literal("hi")), "3")
    assert group_flood.value.seconds == 3 and not group_flood.value.whole_account
    fake.flood[7] = 2
    with pytest.raises(RetryLater) as private_flood:
        await adapter.send(to(7), Outgoing(Markup.literal("hi")), "4")
    assert private_flood.value.whole_account
    fake.block(fake.users[7])
    with pytest.raises(Unreachable, match="blocked"):
        await adapter.send(to(7), Outgoing(Markup.literal("hi")), "5")
    with pytest.raises(Unreachable, match="initiate"):
        fake.user(8, "Never started")
        await adapter.send(to(8), Outgoing(Markup.literal("hi")), "6")
    with pytest.raises(Unreachable, match=r"(?i)chat not found"):
        await adapter.send(to(-42), Outgoing(Markup.literal("hi")), "7")


async def test_network_failure_is_transient() -> None:
    fake = FakeTelegram()
    await fake.start()
    adapter = TelegramAdapter(fake.token, api_url=fake.url, poll_timeout=1)
    await adapter.start(accept)
    await fake.stop()  # Telegram goes away
    try:
        with pytest.raises(TransientError):
            await adapter.send(to(7), Outgoing(Markup.literal("hi")), "8")
    finally:
        await adapter.stop()


async def test_a_429_pauses_the_chat_and_the_row_is_retried(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    group = fake.group(GROUP, "Group")
    ann = fake.user(7, "Ann")
    async with telegram_bot(f"sqlite:///{tmp_path}/flood.db", fake):
        fake.flood[GROUP] = 2
        fake.say(ann, "/cancel", chat=group)
        fake.say(ann, "/cancel")
        private = await fake.reply(ann.id, 0)
        answer = await fake.reply(GROUP, 0)
    (refused,) = [r for r in fake.rejected if r[0] == "sendMessage"]
    assert refused[1:3] == (GROUP, 429)
    # Only the group waited its 2 s; the private chat was answered meanwhile.
    assert private.at < answer.at - 1.5
    assert "nothing to stop" in answer.text


async def test_a_burst_respects_every_limit_and_loses_nothing(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """200 answers to 50 chats (40 private, 10 groups): the real limits, nothing dropped."""
    users = [fake.user(100 + i, f"User{i}") for i in range(50)]
    groups = [fake.group(-500 - i, f"Group {i}") for i in range(10)]
    async with telegram_bot(f"sqlite:///{tmp_path}/burst.db", fake) as bot:
        started = time.monotonic()
        for round_ in range(4):
            for i, user in enumerate(users):
                chat = groups[i - 40] if i >= 40 else None
                fake.say(user, f"/cancel round {round_}", chat=chat)
        await fake.wait(lambda: len(fake.sent) == 200, timeout=30)
        elapsed = time.monotonic() - started
        await bot.idle()
    assert [r for r in fake.rejected if r[0] == "sendMessage"] == []
    by_chat: dict[int, list[float]] = defaultdict(list)
    for sent in fake.sent:
        by_chat[sent.chat_id].append(sent.at)
    assert len(by_chat) == 50 and all(len(times) == 4 for times in by_chat.values())
    for times in by_chat.values():
        assert all(b - a >= 0.9 for a, b in itertools.pairwise(times))
    stamps = sorted(s.at for s in fake.sent)
    assert (
        max(sum(1 for t in stamps if start <= t < start + 1.0) for start in stamps)
        <= GLOBAL_PER_SECOND
    )
    assert elapsed >= 3.0


def test_link_buttons_survive_the_outbox_and_degrade_to_links() -> None:
    link = Choice("Open a direct chat", "", url="https://t.me/b?start=join")
    message = Outgoing(Markup.literal("Go"), ((Choice("Yes", "1|y"), link),))
    assert Outgoing.from_json(message.to_json()) == message
    with pytest.raises(ValueError):
        Choice("Open", "payload", url="https://t.me/b")
    plain = degrade(message, Capabilities(buttons=False), "en")
    assert plain.choices == ()
    assert plain.text.plain().endswith(
        "1. Yes\nAnswer with the number.\nOpen a direct chat (https://t.me/b?start=join)"
    )


def test_a_document_survives_the_outbox_never_folds_and_is_named_where_files_cannot_go() -> None:
    minutes = Document("minutes.pdf", "application/pdf", bytes(range(256)))
    message = Outgoing(Markup.literal("E12"), document=minutes)
    assert Outgoing.from_json(message.to_json()) == message
    assert "fold" not in payload(message, "en", fold=True)
    with pytest.raises(ValueError, match="not both"):
        Outgoing(Markup.literal("x"), image=Image("image/png", b"png"), document=minutes)
    plain = degrade(message, Capabilities(documents=False), "en")
    assert plain.document is None
    assert plain.text.plain() == "E12\n\nThe file minutes.pdf cannot be sent here."
    body = render(Address("webhook:x", "room"), message, "7")
    assert body["document"]["name"] == "minutes.pdf"
    assert base64.b64decode(body["document"]["data"]) == minutes.data


def test_the_limiter_keeps_telegrams_group_budget() -> None:
    """20 a minute per group is a minute of real time; the limiter is checked on its own clock."""
    limiter = Limiter(CAPABILITIES)
    group, private = ("-500", False, None), ("7", True, "7")
    for second in range(20):
        assert limiter.wait(group, float(second)) == 0
        limiter.start(group, float(second))
        limiter.finish(group, float(second), 1)
    assert limiter.wait(group, 20.0) == pytest.approx(40.0)
    assert limiter.wait(private, 20.0) == 0  # other chats go on
    for second in range(25):
        limiter.start(private, 100.0 + second)
        limiter.finish(private, 100.0 + second, 1)
        assert limiter.wait(private, 100.0 + second + 0.5) == pytest.approx(0.5)


def test_the_limiter_counts_every_part_and_every_topic_against_the_group() -> None:
    limiter = Limiter(CAPABILITIES)
    topic, other_topic = ("-500/1", False, None), ("-500/2", False, None)
    limiter.start(topic, 0.0)
    assert limiter.wait(other_topic, 0.5) > 0  # the group is sending (into another topic)
    limiter.finish(topic, 3.0, parts=3)  # a text in three messages, the last one at 3 s
    assert limiter.wait(other_topic, 3.5) == pytest.approx(0.5)  # the gap runs from the last
    for second in range(17):
        limiter.start(other_topic, 4.0 + second)
        limiter.finish(other_topic, 4.0 + second, 1)
    assert limiter.wait(topic, 30.0) == pytest.approx(33.0)  # 3 + 17 = the group's 20


async def test_edits_rewrite_or_fall_back_to_a_new_message(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    fake.user(7, "Ann")
    fake.started.add(7)
    first = await adapter.send(
        to(7), Outgoing(Markup.literal("Which?"), ((Choice("A", "1|a"),),)), "1"
    )
    step = Outgoing(Markup.format("**Chosen**"), edit=first.message_id)
    await asyncio.sleep(1.0)  # one message a second per chat, edits included
    assert await adapter.send(to(7), step, "2") == first
    (message,) = fake.to(7)
    assert message.text == "Chosen" and message.buttons == [] and fake.edits == 1
    # The same press twice: Telegram says "not modified"; that is a success, not an error.
    assert await adapter.send(to(7), step, "3") == first
    # A message that cannot be found (deleted) is answered with a new one.
    gone = Outgoing(Markup.literal("Again"), edit="999")
    await asyncio.sleep(1.0)
    fresh = await adapter.send(to(7), gone, "4")
    assert fresh != first and fake.to(7)[-1].text == "Again"
    refused = [r[3] for r in fake.rejected if r[0] == "editMessageText"]
    assert [reason.split(":")[0] for reason in refused] == ["Bad Request", "Bad Request"]
    assert "not modified" in refused[0] and "not found" in refused[1]


async def test_a_retry_after_the_photo_does_not_repeat_its_caption(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    fake.user(7, "Ann")
    fake.started.add(7)
    # The heading becomes the photo's caption; the 5,000 characters after it, two messages.
    text = Markup.format("**Chart**\n\n") + Markup.literal("x " * 2500)
    message = Outgoing(text, image=Image("image/png", b"\x89PNG fake"))
    sending = asyncio.create_task(adapter.send(to(7), message, "1"))
    await fake.wait(lambda: len(fake.to(7)) == 1)
    fake.flood[7] = 1  # the first text part after the photo gets a 429
    with pytest.raises(RetryLater):
        await sending
    await asyncio.sleep(1.0)
    ref = await adapter.send(to(7), message, "1")
    photo, *rest = fake.to(7)
    assert photo.photo and photo.text == "Chart"
    assert " ".join(s.text for s in rest).split() == ["x"] * 2500
    assert len(rest) == 2 and ref.parts == 2


async def test_a_document_goes_as_a_file_under_its_name_and_a_retry_sends_only_the_rest(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    fake.user(7, "Ann")
    fake.started.add(7)
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 8
    text = Markup.format("**minutes.pdf**\n\n") + Markup.literal("x " * 2500)
    message = Outgoing(text, document=Document("会议纪要 11.pdf", "application/pdf", pdf))
    sending = asyncio.create_task(adapter.send(to(7), message, "1"))
    await fake.wait(lambda: len(fake.to(7)) == 1)
    fake.flood[7] = 1  # the first text part after the file gets a 429
    with pytest.raises(RetryLater):
        await sending
    await asyncio.sleep(1.0)
    await adapter.send(to(7), message, "1")
    file, *rest = fake.to(7)
    assert file.document == ("会议纪要 11.pdf", pdf) and file.text == "minutes.pdf"
    assert " ".join(s.text for s in rest).split() == ["x"] * 2500
    assert [m for m, _ in fake.calls].count("sendDocument") == 1


async def test_an_edit_of_a_photo_sends_a_new_message(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    fake.user(7, "Ann")
    fake.started.add(7)
    chart = Outgoing(
        Markup.literal("Chart"), ((Choice("Next", "1|n"),),), Image("image/png", b"png")
    )
    first = await adapter.send(to(7), chart, "1")
    await asyncio.sleep(1.0)
    fresh = await adapter.send(to(7), Outgoing(Markup.literal("Next"), edit=first.message_id), "2")
    assert fresh != first and fake.to(7)[-1].text == "Next"
    (refused,) = [r[3] for r in fake.rejected if r[0] == "editMessageText"]
    assert "there is no text in the message to edit" in refused


def test_only_safe_link_schemes_become_links() -> None:
    text = Markup.format(
        "[ok](https://example.org) [chat](tg://resolve?domain=x) [mail](mailto:a@b.org) "
        "[bad](javascript:alert) **[file](file:///etc/passwd)**"
    )
    (part,) = split_html(text)
    assert part.count("<a href=") == 3
    assert "bad (javascript:alert)" in part and "<b>file (file:///etc/passwd)</b>" in part
    assert "javascript:alert" in parse_html(part)


def test_the_fake_refuses_attributes_telegram_does_not_read() -> None:
    parse_html('<a href="https://e.org">a</a><pre><code class="language-py">x</code></pre>')
    parse_html('<span class="tg-spoiler">s</span><blockquote expandable>q</blockquote>')
    for html in (
        '<a href="https://e.org" onclick="x">a</a>',
        '<b style="color: red">b</b>',
        "<span>s</span>",
        '<code class="language-py">x</code>',
        "<a>no link</a>",
    ):
        with pytest.raises(ApiError, match="can't parse entities"):
            parse_html(html)


async def test_updates_not_taken_in_are_not_confirmed(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    """The core refuses an event while it stops: the offset stays before it, quietly."""
    ann = fake.user(7, "Ann")
    taken: list[str] = []

    async def handle(event: Incoming) -> Accepted:
        if event.text == "/two":
            raise EngineStopped("branchbot is stopping")
        taken.append(event.text)
        return Accepted()

    first, second, third = (fake.say(ann, text) for text in ("/one", "/two", "/three"))
    adapter = TelegramAdapter(fake.token, api_url=fake.url, poll_timeout=1)
    with caplog.at_level(logging.INFO, logger="adapters.telegram"):
        await adapter.start(handle)
        assert adapter._poller is not None
        await asyncio.wait_for(adapter._poller, 5)  # polling ends on the refusal
        await adapter.stop()
    assert sorted(taken) == ["/one", "/three"]
    assert adapter.offset == second["update_id"]
    # Only /one was confirmed; /two and /three come again on the next start.
    assert [u["update_id"] for u in fake.updates] == [second["update_id"], third["update_id"]]
    stopping = [r for r in caplog.records if "stopping" in r.getMessage()]
    assert stopping and all(r.levelno == logging.INFO and not r.exc_info for r in stopping)
    # A batch offered once the adapter has stopped is refused, not silently taken.
    with pytest.raises(EngineStopped):
        await adapter._take([Update.de_json(first, adapter.bot)])


@asynccontextmanager
async def webhook_adapter(
    fake: FakeTelegram, handle: EventHandler
) -> AsyncIterator[TelegramAdapter]:
    """An adapter in webhook mode, its route served on a port of its own."""
    port = free_port()
    adapter = TelegramAdapter(
        fake.token, api_url=fake.url, webhook_url=f"http://127.0.0.1:{port}/telegram/hook"
    )
    app = web.Application()
    app.add_routes(adapter.routes())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await adapter.start(handle)
    try:
        yield adapter
    finally:
        await adapter.stop()
        await runner.cleanup()


async def test_webhook_updates_come_one_at_a_time_and_refusals_are_redelivered(
    fake: FakeTelegram,
) -> None:
    ann = fake.user(7, "Ann")
    taken: list[str] = []
    stopping = True

    async def handle(event: Incoming) -> Accepted:
        if stopping:
            raise EngineStopped("branchbot is stopping")
        await asyncio.sleep(0.05)  # a commit: long enough for a second POST to overlap
        taken.append(event.text)
        return Accepted()

    async with webhook_adapter(fake, handle):
        fake.say(ann, "/first")
        await fake.wait(lambda: 503 in fake.webhook_answers)
        assert len(fake.updates) == 1  # answered 503: Telegram keeps it and tries again
        stopping = False
        for number in range(8):
            fake.say(ann, f"/next {number}")
        await fake.wait(lambda: not fake.updates)
    assert taken == ["/first", *(f"/next {n}" for n in range(8))]
    # Telegram would POST up to 40 at once; the adapter asks for one, and the fake obeys.
    assert fake.webhook_connections == 1 and fake.webhook_peak == 1


async def queue(bot: BranchBot, *rows: tuple[Address, Outgoing]) -> None:
    """Put messages in the outbox and hand them to delivery, as the engine does."""
    async with bot.db.session() as session:
        store = Repositories(session)
        await store.outbox.add_many(
            [
                {
                    "platform": address.platform,
                    "chat_id": address.chat_id,
                    "direct": address.direct,
                    "user_id": address.user_id,
                    "payload": {**message.to_json(), "locale": "en"},
                }
                for address, message in rows
            ]
        )
        pending = await store.outbox.pending("telegram")
    bot.deliveries["telegram"].enqueue(pending)


async def test_topics_and_parts_count_against_telegrams_limits(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """Two topics of a forum are one chat to Telegram; a long text is several messages."""
    fake.group(GROUP, "Forum", forum=True)
    fake.user(7, "Ann")
    fake.started.add(7)
    long = Outgoing(Markup.literal("x " * 2500))  # two messages
    async with telegram_bot(f"sqlite:///{tmp_path}/limits.db", fake) as bot:
        await queue(
            bot,
            (Address("telegram", f"{GROUP}/1"), Outgoing(Markup.literal("one"))),
            (Address("telegram", f"{GROUP}/2"), Outgoing(Markup.literal("two"))),
            (to(7), long),
            (to(7), Outgoing(Markup.literal("after the long one"))),
        )
        await fake.wait(lambda: len(fake.sent) == 5)
        await bot.idle()
    assert [r for r in fake.rejected if r[0] == "sendMessage"] == []
    assert sorted(s.thread for s in fake.to(GROUP)) == [1, 2]
    for chat in (GROUP, 7):
        times = [s.at for s in fake.to(chat)]
        assert all(b - a >= 0.9 for a, b in itertools.pairwise(times)), times
