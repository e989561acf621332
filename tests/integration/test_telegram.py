"""The Telegram adapter against the fake Bot API: rendering, errors, and the delivery limits."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.telegram import TelegramAdapter
from adapters.telegram.adapter import CAPABILITIES
from adapters.telegram.render import MAX_TEXT, size, split_html
from bot.delivery import Limiter, degrade
from bot.events import Incoming
from bot.markup import Markup
from bot.messages import (
    Accepted,
    Address,
    Capabilities,
    Choice,
    Image,
    Outgoing,
    RetryLater,
    TransientError,
    Unreachable,
)
from tests.fake_telegram import (
    GLOBAL_PER_SECOND,
    FakeTelegram,
    parse_html,
    running_fake,
    telegram_bot,
)

GROUP = -1009876543210


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with running_fake() as fake:
        yield fake


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


def test_the_limiter_keeps_telegrams_group_budget() -> None:
    """20 a minute per group is a minute of real time; the limiter is checked on its own clock."""
    limiter = Limiter(CAPABILITIES)
    group, private = ("-500", False, None), ("7", True, "7")
    for second in range(20):
        assert limiter.wait(group, float(second)) == 0
        limiter.record(group, float(second))
    assert limiter.wait(group, 20.0) == pytest.approx(40.0)
    assert limiter.wait(private, 20.0) == 0  # other chats go on
    for second in range(25):
        limiter.record(private, 100.0 + second)
        assert limiter.wait(private, 100.0 + second + 0.5) == pytest.approx(0.5)


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
