"""The health report: ``/survey report`` under the k rule (a branch of k+2 shown, a branch of two
folded into the organisation), colours, the problem list, the differences from the organisation
and from the previous round, free text, the chart; ``/survey mine`` and ``/survey grades``; who
is refused."""

from __future__ import annotations

import asyncio
import csv
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from adapters.memory import MemoryAdapter, Sent
from bot.app import BranchBot
from bot.cli import main
from bot.messages import Capabilities
from dialogs.appraisal import figures
from dialogs.appraisal.repository import Appraisal
from store.models import Member
from store.repos import Repositories
from tests.support.appraisal import import_template
from tests.support.appraisal_rounds import (
    HEALTH,
    MAIN_SCALES,
    K,
    held_round,
    prepare,
)
from tests.support.broadcasts import plain, say
from tests.support.chat import BotFactory


async def report(bot: BranchBot, adapter: MemoryAdapter, user: str, text: str) -> list[Sent]:
    return await say(bot, adapter, user, text)


async def test_the_report_under_the_k_rule(
    make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, adapter = await make_bot()
    branches = await prepare(bot, adapter)
    template_id = await import_template(bot, HEALTH)
    first = await held_round(bot, branches, template_id, MAIN_SCALES, remarks=4)
    better = {**MAIN_SCALES, "duty": 3}
    monkeypatch.setattr(figures.SHUFFLE, "shuffle", lambda values: values.sort(reverse=True))
    second = await held_round(bot, branches, template_id, better, remarks=K)

    answers = await report(bot, adapter, "boss", f"/survey report R{second}")
    text = plain(answers)
    assert f"Health report of survey R{second}: Branch health" in text
    # The organisation: Main's 7 and North's 2 (folded into other branches) together.
    assert "Organisation: 9 of 9 answered (100%)" in text
    assert "Main: 7 of 7 answered (100%)" in text
    assert "North: 2 of 2 answered (100%)" in text
    assert "this branch counts only in the organisation's figures" in text
    # Main's items, coloured by the thresholds (good from 75%, medium from 50%).
    assert "• Study: 5.0 of 5 (100%) 🟢 good, 7 answers" in text
    assert "• Meetings: 4.0 of 5 (75%) 🟢 good, 7 answers" in text
    assert "• Service: 3.0 of 5 (50%) 🟡 medium, 7 answers" in text
    assert "• Openness: 2.0 of 5 (25%) 🔴 poor, 7 answers" in text
    assert "• Duty: 3.0 of 5 (50%) 🟡 medium, 7 answers" in text
    # The distribution, and a single question's counts per option.
    assert "1: 0 · 2: 7 · 3: 0 · 4: 0 · 5: 0" in text
    assert "• How often to meet (7 answers): Weekly 4 · Monthly 3" in text
    # Against the organisation (Main's 7 and North's 2 answers together) and against the
    # first round (Duty went from 1 to 3: +50 points; the others stayed).
    organisation_openness = (7 * 0.25 + 2 * 1.0) / 9
    assert f"{round(100 * (0.25 - organisation_openness)):+d} points from the organisation" in text
    assert f"+50 points from R{first}" in text
    assert f"±0 points from R{first}" in text
    # The problem list: the three weakest of Main, weakest first.
    main = text[text.index("Main: 7 of 7") :]
    problems = main[main.index("Problem list:") :].splitlines()[1:4]
    assert problems == ["1. Openness (25%)", "2. Duty (50%)", "3. Service (50%)"]
    # Overall: the mean share of Main's scale items (100, 75, 50, 25, 50 → 60%).
    assert "Overall: 60% 🟡 medium" in main
    # Free text: k remarks, shown, in the shuffle's order (here: reversed by the patch).
    remarks = [line for line in main.splitlines() if line.startswith("– remark")]
    assert remarks == [f"– remark number {n}" for n in reversed(range(K))]
    # The chart: a PNG with Main against the organisation.
    image = answers[0].message.image
    assert image is not None and image.mime == "image/png"
    with Image.open(BytesIO(image.data)) as picture:
        assert picture.format == "PNG" and picture.size[0] == 720

    # The first round had 4 remarks: fewer than k, so none is shown.
    earlier = plain(await report(bot, adapter, "boss", f"/survey report R{first}"))
    assert "remark number" not in earlier
    assert "Remarks" not in earlier


async def test_who_sees_which_report(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    branches = await prepare(bot, adapter)
    template_id = await import_template(bot, HEALTH)
    number = await held_round(bot, branches, template_id, MAIN_SCALES, remarks=K)
    assert "Only branch secretaries and admins can use /survey report." in plain(
        await report(bot, adapter, "mei", f"/survey report R{number}")
    )
    refused = plain(await report(bot, adapter, "nia", f"/survey report R{number} Main"))
    assert "Only the secretaries of Main and admins can use /survey report for it." in refused
    # North's secretary: the organisation's figures and North (folded), never Main's.
    north = plain(await report(bot, adapter, "nia", f"/survey report R{number}"))
    assert "Organisation: 9 of 9 answered" in north
    assert "North: 2 of 2 answered" in north
    assert "Main" not in north and "remark number" not in north
    # Main's secretary sees Main.
    main = plain(await report(bot, adapter, "sam", f"/survey report R{number} Main"))
    assert "Main: 7 of 7 answered" in main and "North" not in main


async def test_before_the_seal_only_admins_look(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    branches = await prepare(bot, adapter)
    template_id = await import_template(bot, HEALTH)
    async with bot.db.session() as session:
        row = (
            await Repositories(session)
            .get(Appraisal)
            .open_round(
                template_id, [branches["Main"]], bot.db.clock.now() + timedelta(days=7), None, K
            )
        )
    text = plain(await report(bot, adapter, "sam", f"/survey report R{row.number}"))
    assert "is ready once it is closed and its answers are in" in text
    text = plain(await report(bot, adapter, "boss", f"/survey report R{row.number}"))
    assert "Not final" in text and "Fewer than 5 answers: nothing is shown." in text


async def test_a_members_own_report(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    branches = await prepare(bot, adapter)
    template_id = await import_template(bot, HEALTH)
    number = await held_round(
        bot, branches, template_id, MAIN_SCALES, remarks=0, grade={"mei": "excellent"}
    )
    mine = plain(await report(bot, adapter, "mei", f"/survey mine R{number}"))
    assert "Graded by 6 members:" in mine
    assert "• Excellent: 6" in mine and "• Competent: 0" in mine
    assert "Your self-assessment is kept without your name" in mine
    # ned of North was graded by one member only: fewer than k.
    ned = plain(await report(bot, adapter, "ned", f"/survey mine R{number}"))
    assert "Fewer than 5 members graded you" in ned and "Excellent" not in ned
    # Main's secretary sees the counts of a member of Main; North's secretary does not.
    sam = plain(await report(bot, adapter, "sam", f"/survey grades R{number} kai"))
    assert "Graded by 6 members:" in sam and "• Competent: 6" in sam
    nia = plain(await report(bot, adapter, "nia", f"/survey grades R{number} kai"))
    assert "No member of your branches in survey" in nia
    assert "Only branch secretaries and admins can use /survey grades." in plain(
        await report(bot, adapter, "mei", f"/survey grades R{number} kai")
    )


def same(cell: str) -> str | float:
    """A cell as both files hold it: a spreadsheet keeps 1.0 as the number 1."""
    try:
        return float(cell)
    except ValueError:
        return cell


def export(url: str, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setenv("BRANCHBOT_DATABASE_URL", url)
    monkeypatch.setenv("BRANCHBOT_DEFAULT_LOCALE", "en")
    return main(["survey", "export", *argv])


async def test_the_export_holds_the_reports_figures_and_no_name(
    make_bot: BotFactory, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bot, adapter = await make_bot()
    branches = await prepare(bot, adapter)
    template_id = await import_template(bot, HEALTH)
    first = await held_round(bot, branches, template_id, MAIN_SCALES, remarks=K)
    second = await held_round(bot, branches, template_id, {**MAIN_SCALES, "duty": 3}, remarks=K)
    text = plain(await say(bot, adapter, "boss", f"/survey report R{second}"))
    csv_file, xlsx_file = tmp_path / "r.csv", tmp_path / "r.xlsx"
    for form, path in (("csv", csv_file), ("xlsx", xlsx_file)):
        code = await asyncio.to_thread(
            export, database_url, monkeypatch, f"R{second}", "--format", form, "--output", str(path)
        )
        assert code == 0
    with csv_file.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.reader(source))
    sheet = load_workbook(xlsx_file).active
    assert sheet is not None
    cells = [
        ["" if c is None else str(c) for c in row] for row in sheet.iter_rows(values_only=True)
    ]
    assert [[same(c) for c in row] for row in cells] == [[same(c) for c in row] for row in rows]
    header = rows[0]
    assert header[:4] == ["Branch", "Answered", "Invited", "Response rate"]
    assert f"Points from R{first}" in header
    column = {name: header.index(name) for name in header}
    by_group: dict[str, list[list[str]]] = {}
    group = ""
    for row in rows[1:]:
        if row[0]:
            group = row[0]
        by_group.setdefault(group, []).append(row)
    assert set(by_group) == {"Organisation", "Main", "North"}
    main_rows = {row[column["Question"]]: row for row in by_group["Main"][1:]}
    # The same figures as the report: Main's means, shares, colours, differences, problems.
    for question, mean, share, colour in (
        ("Study", "5.0", "1.0", "good"),
        ("Meetings", "4.0", "0.75", "good"),
        ("Service", "3.0", "0.5", "medium"),
        ("Openness", "2.0", "0.25", "poor"),
        ("Duty", "3.0", "0.5", "medium"),
    ):
        row = main_rows[question]
        assert (row[column["Mean"]], row[column["Share of the scale"]]) == (mean, share)
        assert row[column["Colour"]] == colour
        mark = {"good": "🟢", "medium": "🟡", "poor": "🔴"}[colour]
        percent = round(100 * float(share))
        assert f"• {question}: {mean} of 5 ({percent}%) {mark} {colour}, 7 answers" in text
        organisation = int(row[column["Points from the organisation"]])
        shown = f"{organisation:+d}" if organisation else "±0"
        assert f"{shown} points from the organisation" in text
    assert main_rows["Duty"][column[f"Points from R{first}"]] == "50"
    problems = {
        q: r[column["Problem list"]] for q, r in main_rows.items() if r[column["Problem list"]]
    }
    assert problems == {"Openness": "1", "Duty": "2", "Service": "3"}
    assert main_rows["How often to meet"][column["Distribution"]] == "Weekly: 4, Monthly: 3"
    # North (two answers) is a row of counts and a note, no figures.
    assert len(by_group["North"]) == 1
    assert by_group["North"][0][column["Note"]] == "Fewer than 5 answers: nothing is shown."
    # No name of any member, and no free text, in either file.
    async with bot.db.session() as session:
        names = list(await session.scalars(select(Member.display_name)))
    written = csv_file.read_text(encoding="utf-8-sig")
    for name in names:
        assert name not in written
    assert "remark" not in written
    flat = " ".join(" ".join(row) for row in cells)
    assert not any(name in flat for name in names)


async def test_a_long_report_is_split_to_the_platforms_length(make_bot: BotFactory) -> None:
    limit = 600
    bot, adapter = await make_bot(MemoryAdapter(capabilities=Capabilities(max_text_length=limit)))
    branches = await prepare(bot, adapter)
    template_id = await import_template(bot, HEALTH)
    number = await held_round(bot, branches, template_id, MAIN_SCALES, remarks=K)
    answers = await say(bot, adapter, "boss", f"/survey report R{number}")
    assert len(answers) > 1
    assert all(len(sent.message.text.plain()) <= limit for sent in answers)
    # Nothing lost: every item of Main and its problem list are there, the chart on the first.
    text = plain(answers)
    for question in ("Study", "Meetings", "Service", "Openness", "Duty"):
        assert f"• {question}: " in text
    assert "Problem list:" in text
    assert answers[0].message.image is not None
    assert all(sent.message.image is None for sent in answers[1:])


async def test_the_report_in_chinese(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot(default_locale="zh_Hans")
    branches = await prepare(bot, adapter)
    template_id = await import_template(bot, HEALTH)
    number = await held_round(bot, branches, template_id, MAIN_SCALES, remarks=0)
    answers = await say(bot, adapter, "boss", f"/survey report R{number}")
    text = plain(answers)
    assert f"问卷R{number}体检报告：支部体检" in text
    assert "• 公开：2.0/5（25%）🔴 差，7份答卷" in text
    assert "• 会议：4.0/5（75%）🟢 好，7份答卷" in text
    assert "问题清单：\n1. 责任（0%）\n2. 公开（25%）\n3. 服务（50%）" in text
    assert answers[0].message.image is not None
