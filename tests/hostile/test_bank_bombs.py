"""Hostile bank files: each bomb through ``branchbot bank import`` (a clear ``file:line`` error,
exit 1, nothing imported, bounded time and memory) and sent in a direct chat (the same error
from the bank worker, while another person's commands are answered promptly)."""

from __future__ import annotations

import asyncio
import io
import resource
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.cli import main
from dialogs.learning.bank_imports import BankImports
from store.banks import Limits
from store.banks.sandbox import parse_isolated
from tests.support.chat import BotFactory, settle
from tests.support.learning import RECEIVED, answer_after, count, questions, send_file

OTHER_USER_SECONDS = 2.0
"""How long another person may wait for an answer while a bomb is being read (generous: the
engine answers a command in milliseconds)."""


def billion_laughs() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for name, previous in zip("bcdefghi", "abcdefgh", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return ("\n".join(lines) + "\nquestions: *i\n").encode()


def huge_dimension() -> bytes:
    """A few KB declaring A1:XFD1048576 (a value in the last cell of the sheet)."""
    book = Workbook()
    sheet = book.active
    sheet.append(["question", "A", "B", "answer"])
    sheet.append(["Which floor?", "1", "2", "A"])
    sheet["XFD1048576"] = "x"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A workbook whose sheet unpacks from ~40 KB to 40 MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (40 * 1024 * 1024))
    return out.getvalue()


def many_rows() -> bytes:
    """250,000 questions in 3 MB (it was "too many SQL variables")."""
    rows = "".join(f"Q{i},y,n,A\n" for i in range(250_000))
    return ("question,A,B,answer\n" + rows).encode()


def many_questions() -> bytes:
    return "".join(f"Q{i}?\nA. y\nB. n\nANSWER: A\n\n" for i in range(5_001)).encode()


@dataclass(frozen=True)
class Bomb:
    name: str
    make: Callable[[], bytes]
    error: str
    """What the error line says, ``file:line: …`` included."""


BOMBS = [
    Bomb("laughs.yaml", billion_laughs, "laughs.yaml:4: more than 20 aliases"),
    Bomb("wide.xlsx", huge_dimension, "wide.xlsx:10001: more than 10,000 rows"),
    Bomb("bomb.xlsx", zip_bomb, "bomb.xlsx:1: the workbook unpacks to more than"),
    Bomb("deep.yaml", lambda: b"[" * 100 + b"]" * 100, "deep.yaml:1: nested deeper than 16"),
    Bomb(
        "deeper.yaml",
        lambda: b"[" * 5000 + b"]" * 5000,
        "deeper.yaml:1: not valid YAML: while increasing flow level",
    ),
    Bomb(
        "field.csv",
        lambda: b"question,A,B,answer\n" + b"x" * 140_000 + b",a,b,A\n",
        "field.csv:2: a cell is longer than 16,384 characters",
    ),
    Bomb(
        "digits.yaml",
        lambda: (
            b"questions:\n  - text: Hard?\n    answer: true\n    difficulty: " + b"9" * 5000 + b"\n"
        ),
        "digits.yaml:2: difficulty 99999999999999999999… must be a number from 1 to 5",
    ),
    Bomb("many.csv", many_rows, "many.csv:10001: more than 10,000 rows"),
    Bomb("many.txt", many_questions, "many.txt:25001: more than 5,000 questions"),
    Bomb(
        "nul.txt",
        lambda: b"Which \x00 floor?\nA. One\nB. Two\nANSWER: A\n",
        "nul.txt:1: the text contains the control character U+0000",
    ),
    Bomb(
        "blank.gift",
        lambda: b"x\n\n" * 1_000_000,
        "blank.gift:1: a question is longer than 16,384 characters",
    ),
    Bomb(
        "eight.txt",
        lambda: b"Which floor?\nA. 1\nB. 2\nC. 3\nD. 4\nE. 5\nF. 6\nA. 7\nA. 8\nANSWER: A\n",
        "eight.txt:1: at most 6 options",
    ),
    Bomb(
        "flat.yaml",
        lambda: b"questions: [" + b"0," * (2 * 1024 * 1024 - 10) + b"0]\n",
        "flat.yaml:1: the file expands to more than 200,000 values",
    ),
    Bomb(
        "dashes.yaml",
        lambda: b"questions:\n" + b"- 0\n" * (1024 * 1024 - 4),
        "dashes.yaml:199999: the file expands to more than 200,000 values",
    ),
    Bomb(
        "aliased.yaml",
        lambda: b"a: &a [" + b"0," * 15_000 + b"0]\nquestions: [" + b"*a," * 19 + b"*a]\n",
        "aliased.yaml:2: the file expands to more than 200,000 values",
    ),
    Bomb(
        "loop.yaml",
        lambda: b"questions: &q [*q]\n",
        "loop.yaml:1: an alias refers to the node that contains it",
    ),
    Bomb(
        "nooptions.txt",
        lambda: b"A question\nANSWER: B\n",
        "nooptions.txt:1: an Aiken question needs options",
    ),
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("bomb", BOMBS, ids=[b.name for b in BOMBS])
def test_each_bomb_through_the_cli(
    bomb: Bomb,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("BRANCHBOT_DATABASE_URL", url)
    monkeypatch.setenv("BRANCHBOT_DEFAULT_LOCALE", "en")
    path = tmp_path / bomb.name
    path.write_bytes(bomb.make())
    before = peak_rss_mb()
    started = time.perf_counter()
    code = main(["bank", "import", str(path), "--skip-bad"])
    elapsed = time.perf_counter() - started
    err = capsys.readouterr().err
    assert code == 1, err
    assert bomb.error in err, err
    assert "nothing could be read" in err and "Traceback" not in err
    assert elapsed < 10, elapsed
    assert peak_rss_mb() - before < 300
    assert count(url) == 0


@pytest.mark.parametrize("bomb", BOMBS, ids=[b.name for b in BOMBS])
async def test_each_bomb_in_a_direct_chat_while_others_are_answered(
    bomb: Bomb, make_bot: BotFactory
) -> None:
    bot, adapter = await make_bot()
    await settle(bot)
    start = len(adapter.sent)
    assert RECEIVED in await send_file(bot, adapter, "boss", bomb.name, bomb.make(), "skip-bad")
    waited = time.perf_counter()
    await adapter.say("mei", "/help")
    await settle(bot)
    assert time.perf_counter() - waited < OTHER_USER_SECONDS
    assert any(s.address.chat_id == "dm-mei" for s in adapter.sent[start:])
    said = await answer_after(adapter, "boss", start + 1, 60)
    assert bomb.error in said, said
    assert "Nothing could be read from this file" in said, said
    assert await questions(bot.db) == []


def slow_yaml() -> bytes:
    """An "unknown bomb": nothing the parsers refuse, only slow (600,000 list items)."""
    return b"questions:\n" + b"  - x\n" * 600_000


def big_csv() -> bytes:
    """Rows that are cheap to read and costly to keep (600,000 of them)."""
    return b"question,A,B,answer\n" + b"".join(b"Q%d,y,n,A\n" % i for i in range(600_000))


async def test_the_child_process_fences_what_the_parsers_do_not_know() -> None:
    lax = Limits(
        file_bytes=8 << 20,
        rows=10**8,
        cells=10**9,
        yaml_nodes=10**8,
        questions=10**8,
        errors=10**8,
        wall_seconds=60,
    )
    for name, data, limits, error in (
        ("slow.yaml", slow_yaml(), replace(lax, cpu_seconds=1), "took more than 1 s"),
        ("slow.yaml", slow_yaml(), replace(lax, wall_seconds=0.5), "took longer than 0.5 s"),
        ("big.csv", big_csv(), replace(lax, memory_bytes=120 << 20), "needs more memory than"),
    ):
        started = time.perf_counter()
        bank = await parse_isolated(name, data, None, limits)
        assert len(bank.errors) == 1 and bank.questions == []
        assert str(bank.errors[0]).startswith(f"{name}:1: reading the file {error}"), bank.errors
        assert time.perf_counter() - started < 40


async def test_others_are_answered_while_a_slow_file_is_read(make_bot: BotFactory) -> None:
    """A file the parsers do not refuse, read for seconds in the child process: another
    person's command is answered meanwhile, and the file ends as an error."""
    bot, adapter = await make_bot()
    bot.worker(BankImports).limits = Limits(
        file_bytes=8 << 20, yaml_nodes=10**7, questions=10**7, errors=10**7, cpu_seconds=4
    )
    start = len(adapter.sent)
    assert RECEIVED in await send_file(bot, adapter, "boss", "slow.yaml", slow_yaml())
    await asyncio.sleep(1.0)  # the worker has taken it and the child is reading
    waited = time.perf_counter()
    await adapter.say("mei", "/help")
    await settle(bot)
    assert time.perf_counter() - waited < OTHER_USER_SECONDS
    said = await answer_after(adapter, "boss", start + 1, 60)
    assert "slow.yaml:1: reading the file took more than 4 s" in said, said
