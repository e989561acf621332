"""The router's argument parsing, driven directly: a handler sees only arguments already
parsed (numbers in range), and everything else is answered by the router itself."""

from __future__ import annotations

from typing import Any, cast

import pytest

from bot.commands import INT_DIGITS, Int, Rest, Router, Word
from bot.context import Context, ConversationHost, Settings
from bot.events import Chat, Incoming, Sender
from bot.identity import Principal
from bot.messages import Capabilities
from store.repos import Repositories

router = Router()
calls: list[dict[str, Any]] = []


@router.command("pick", summary="pick", args=[Int("n", "count", maximum=20)])
async def pick(ctx: Context, **values: Any) -> None:
    calls.append(values)


@router.command(
    "level",
    summary="level",
    args=[Int("number", "level number", maximum=99, invalid="There is no level {number}.")],
)
async def level(ctx: Context, **values: Any) -> None:
    calls.append(values)


@router.command("group", summary="group", args=[Int("count", "number", optional=True, maximum=20)])
async def group(ctx: Context, **values: Any) -> None:
    calls.append(values)


@router.command(
    "rename", summary="rename", args=[Word("code", "code"), Rest("name", "name", optional=True)]
)
async def rename(ctx: Context, **values: Any) -> None:
    calls.append(values)


def context() -> Context:
    """A context for parsing only: the commands here read no store and start no dialog."""
    event = Incoming("memory", "e1", Chat("dm-mei", True), Sender("mei", "Mei"), "/x")
    return Context(
        event,
        Principal("memory", "mei", "Mei"),
        cast(Repositories, None),
        Settings(default_locale="en"),
        Capabilities(),
        cast(ConversationHost, None),
        router.buttons.keys(),
    )


async def run(command: str, *args: str) -> tuple[dict[str, Any] | None, str]:
    """What the handler got (``None``: it did not run) and what the router answered."""
    calls.clear()
    ctx = context()
    await router.dispatch(ctx, command, args)
    answer = "\n".join(queued.message.text.plain() for queued in ctx.outbox)
    return (calls[0] if calls else None), answer


@pytest.mark.parametrize(
    ("typed", "number"),
    [("1", 1), ("20", 20), ("07", 7), ("１２", 12), ("١٢", 12), ("०३", 3)],
)
async def test_a_number_in_range_reaches_the_handler_as_an_int(typed: str, number: int) -> None:
    assert await run("pick", typed) == ({"n": number}, "")


@pytest.mark.parametrize(
    "typed",
    [
        "0",
        "21",
        "-3",
        "+3",
        "3.0",
        "1e3",
        "3_0",
        "twelve",
        "²",  # a digit, but no decimal one: int() would refuse it
        "½",
        "9" * INT_DIGITS,
        "9" * (INT_DIGITS + 1),
        "1" * 100,
    ],
)
async def test_anything_else_is_answered_by_the_router(typed: str) -> None:
    assert await run("pick", typed) == (None, "Give a number from 1 to 20.")


async def test_a_number_too_long_to_be_a_word_is_refused_unread() -> None:
    assert await run("pick", "9" * 200) == (
        None,
        "That count is too long: at most 128 characters.",
    )


async def test_the_invalid_message_can_repeat_what_was_typed() -> None:
    assert await run("level", "100") == (None, "There is no level 100.")
    assert await run("level", "a" * 40) == (None, f"There is no level {'a' * 23}….")
    assert await run("level", "5") == ({"number": 5}, "")


async def test_missing_and_too_many_arguments_get_the_usage_line() -> None:
    assert await run("pick") == (None, "Usage: /pick <count>")
    assert await run("pick", "3", "4") == (None, "Usage: /pick <count>")
    assert await run("group", "3", "4") == (None, "Usage: /group [<number>]")


async def test_an_optional_number_left_out_is_none_and_given_wrong_is_refused() -> None:
    assert await run("group") == ({"count": None}, "")
    assert await run("group", "5") == ({"count": 5}, "")
    assert await run("group", "99") == (None, "Give a number from 1 to 20.")
    assert await run("group", "lots") == (None, "Give a number from 1 to 20.")


async def test_rest_takes_every_word_left_and_may_be_left_out() -> None:
    assert await run("rename", "AB12", "Main", "Library", "East") == (
        {"code": "AB12", "name": "Main Library East"},
        "",
    )
    assert await run("rename", "AB12") == ({"code": "AB12", "name": None}, "")
    assert await run("rename") == (None, "Usage: /rename <code> [<name>]")
    # a Rest is not held to the length of one word
    long_name = "x" * 300
    assert await run("rename", "AB12", long_name) == ({"code": "AB12", "name": long_name}, "")
