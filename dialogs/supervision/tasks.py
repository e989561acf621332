"""Rectification tasks (整改任务), followed to the end.

``/task add <branch>`` (admins, the branch's secretaries) asks for the title, the owner (a
member of the branch) and the deadline; a problem of an appraisal's problem list becomes one
with a button (``rectify:``, see ``bot.figures.Problem``). The owner, the branch's
secretaries and the admins move it on: ``/task start``, ``/task done`` (a closing note and
evidence, guided), ``/task drop <reason>``, ``/task owner``, ``/task due``; each step is in
its history (``/task show``). ``/tasks`` lists mine and, for secretaries and admins, their
branches'. The watch worker reminds owners before the deadline; overdue tasks colour the
branch on the board.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from bot.commands import BranchArg, Number, Rest, Where
from bot.context import Context
from bot.conversation import Dialog, answers
from bot.events import Attachment
from bot.figures import RECTIFY
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Choice
from dialogs.supervision.common import TASK, TASK_STATUS, config, router, today
from dialogs.supervision.evidence import FileStore
from dialogs.supervision.repository import NewFile, Supervision
from dialogs.supervision.tables import TASK_OPEN, Task
from store.models import Branch, Member, Secretary

TITLE_MAX = 300
OWNERS_LISTED = 20
LISTED = 30
DONE_WORDS = {"done", "完成", "好了"}
ISO_DAY = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
SPANS = (
    ("w1", 7, _("in a week")),
    ("w2", 14, _("in two weeks")),
    ("m1", 30, _("in a month")),
    ("m3", 91, _("in three months")),
)


def who_am_i(ctx: Context) -> str:
    return ctx.who.name or ctx.who.identity


def may_manage(ctx: Context, task: Task) -> bool:
    return ctx.who.manages(task.branch_id)


def may_move(ctx: Context, task: Task) -> bool:
    """The owner, the branch's secretaries and the admins move a task on."""
    return may_manage(ctx, task) or (
        ctx.who.member_id is not None and task.owner_id == ctx.who.member_id
    )


def parse_day(text: str, today_: date) -> date | None:
    """``2026-12-31`` (full-width digits too), not in the past; else ``None``."""
    typed = text.strip().translate(str.maketrans("０１２３４５６７８９－", "0123456789-"))
    if not ISO_DAY.match(typed):
        return None
    try:
        year, month, day = (int(part) for part in typed.split("-"))
        found = date(year, month, day)
    except ValueError:
        return None
    return found if found >= today_ else None


async def members_of(ctx: Context, branch_id: int) -> list[tuple[int, str]]:
    """The branch's members and secretaries, by name."""
    secretaries = select(Secretary.member_id).where(Secretary.branch_id == branch_id)
    rows = await ctx.store.session.execute(
        select(Member.id, Member.display_name)
        .where((Member.branch_id == branch_id) | Member.id.in_(secretaries))
        .order_by(func.lower(Member.display_name), Member.id)
    )
    return [(member_id, name) for member_id, name in rows]


async def names(ctx: Context, ids: set[int]) -> dict[int, str]:
    ids.discard(0)
    if not ids:
        return {}
    rows = await ctx.store.session.execute(
        select(Member.id, Member.display_name).where(Member.id.in_(sorted(ids)))
    )
    return {member_id: name for member_id, name in rows}


def task_line(
    ctx: Context, task: Task, owners: dict[int, str], branches: dict[int, str], day: date
) -> Markup:
    overdue = task.status in TASK_OPEN and task.due < day
    template = (
        _("{number} · {title} · {branch} · {owner} · due {due} · {status} ⚠️ overdue")
        if overdue
        else _("{number} · {title} · {branch} · {owner} · due {due} · {status}")
    )
    return ctx.t(
        template,
        number=TASK.format(task.id),
        title=task.title,
        branch=branches.get(task.branch_id, ""),
        owner=owners.get(task.owner_id or 0, ctx.text(_("no owner"))),
        due=ctx.translator.day(task.due),
        status=ctx.text(TASK_STATUS[task.status]),
    )


async def find_task(ctx: Context, number: int, *, manage: bool = False) -> Task | None:
    task = await ctx.store.get(Supervision).task(number)
    allowed = task is not None and (may_manage(ctx, task) if manage else may_move(ctx, task))
    if task is None or not allowed:
        ctx.reply(_("There is no task {number} that you may change."), number=TASK.format(number))
        return None
    return task


# -- making ---------------------------------------------------------------------------------


@router.command(
    "task add",
    summary=_("make a rectification task for a branch"),
    role=Role.SECRETARY,
    where=Where.DIRECT,
    args=[BranchArg("branch", _("branch"), managed=True)],
)
async def task_add(ctx: Context, branch: Branch) -> None:
    await Making.start(ctx, {"branch_id": branch.id, "title": ""})


class Making(Dialog[dict[str, object]]):
    name = "sup_task_make"
    slot = "task"
    states = ["title", "owner", "due"]
    transitions = [
        {"trigger": "titled", "source": "title", "dest": "owner"},
        {"trigger": "owned", "source": "owner", "dest": "due"},
    ]
    timeout = 60 * 60

    async def setup(self, ctx: Context, arguments: dict[str, object]) -> None:
        self.data.update(arguments)
        if self.data.get("title"):
            self.state = "title"  # the title came with it (a problem): ask for the owner

    async def on_enter_title(self, ctx: Context) -> None:
        if self.data.get("title"):
            await self.fire(ctx, "titled")
            return
        ctx.reply(_("What is to be rectified? Write the task's title."))

    @answers("title", text=True)
    async def wrote_title(self, ctx: Context, text: str) -> None:
        title = " ".join(text.split())
        if not title or len(title) > TITLE_MAX:
            ctx.reply(_("A title of 1 to {count} characters, please."), count=TITLE_MAX)
            return
        self.data["title"] = title
        await self.fire(ctx, "titled")

    async def on_enter_owner(self, ctx: Context) -> None:
        people = await members_of(ctx, int(str(self.data["branch_id"])))
        if not people:
            ctx.reply(_("The branch has no members yet to own the task; nothing was made."))
            self.finish()
            return
        choices = [
            [Choice(name or f"#{member_id}", f"o{member_id}")]
            for member_id, name in people[:OWNERS_LISTED]
        ]
        ask = _("Who owns it?")
        if len(people) > OWNERS_LISTED:
            ask = _("Who owns it? Press a name, or write one.")
        ctx.reply(ask, choices=choices)

    @answers("owner")
    async def chose_owner(self, ctx: Context, payload: str) -> None:
        people = dict(await members_of(ctx, int(str(self.data["branch_id"]))))
        owner = int(payload[1:]) if payload.startswith("o") and payload[1:].isdecimal() else 0
        if owner not in people:
            return
        self.data["owner_id"] = owner
        await self.fire(ctx, "owned")

    @answers("owner", text=True)
    async def named_owner(self, ctx: Context, text: str) -> None:
        wanted = " ".join(text.split()).lower()
        people = [
            (i, n)
            for i, n in await members_of(ctx, int(str(self.data["branch_id"])))
            if n.lower() == wanted
        ]
        if len(people) != 1:
            ctx.reply(_("No single member of the branch is called that; press a name above."))
            return
        self.data["owner_id"] = people[0][0]
        await self.fire(ctx, "owned")

    async def on_enter_due(self, ctx: Context) -> None:
        ctx.reply(
            _("By when? Press one, or write a date like {example}."),
            example=(today(ctx) + timedelta(days=config(ctx).task_days)).isoformat(),
            choices=[
                [Choice(ctx.text(label), key) for key, _days, label in SPANS[:2]],
                [Choice(ctx.text(label), key) for key, _days, label in SPANS[2:]],
            ],
        )

    @answers("due")
    async def chose_span(self, ctx: Context, payload: str) -> None:
        days = next((d for key, d, _label in SPANS if key == payload), None)
        if days is not None:
            await self._make(ctx, today(ctx) + timedelta(days=days))

    @answers("due", text=True)
    async def typed_due(self, ctx: Context, text: str) -> None:
        due = parse_day(text, today(ctx))
        if due is None:
            ctx.reply(
                _("Write a date that is not past, like {example}."), example=today(ctx).isoformat()
            )
            return
        await self._make(ctx, due)

    async def _make(self, ctx: Context, due: date) -> None:
        branch_id = int(str(self.data["branch_id"]))
        if not ctx.who.manages(branch_id):
            self.finish()
            return
        supervision = ctx.store.get(Supervision)
        source = str(self.data["source"]) if self.data.get("source") else None
        task = await supervision.add_task(
            branch_id=branch_id,
            title=str(self.data["title"]),
            owner_id=int(str(self.data["owner_id"])),
            made_by_id=ctx.who.member_id,
            made_by=who_am_i(ctx),
            due=due,
            today=today(ctx),
            source=source,
        )
        owners = await names(ctx, {task.owner_id or 0})
        ctx.reply(
            _(
                "Task {number} is made: {title}, owned by {owner}, due {due}. "
                "`/task show {number}` shows it."
            ),
            number=TASK.format(task.id),
            title=task.title,
            owner=owners.get(task.owner_id or 0, ""),
            due=ctx.translator.day(due),
        )
        self.finish()


@router.button(RECTIFY)
async def rectify(ctx: Context, rest: str) -> None:
    """A problem of another feature's problem list (``<source>``) made into a task: the
    first source that knows it gives its title; its branch is in the source."""
    source = rest[:64]
    branch_id = _branch_of(source)
    if branch_id is None or not ctx.who.manages(branch_id):
        ctx.reply(_("Only the branch's secretaries and the admins make its tasks."))
        return
    existing = await ctx.store.get(Supervision).task_from(source)
    if existing is not None:
        ctx.reply(_("That problem is already task {number}."), number=TASK.format(existing.id))
        return
    for problems in ctx.settings.problems:
        problem = await problems(ctx.store, source, ctx.translator.locale)
        if problem is not None:
            await Making.start(
                ctx, {"branch_id": branch_id, "title": problem.title[:TITLE_MAX], "source": source}
            )
            return
    ctx.reply(_("That problem list is gone; make the task with `/task add <branch>`."))


def _branch_of(source: str) -> int | None:
    """``appraisal:R3:12:2`` names branch 12: a source's third part is its branch."""
    parts = source.split(":")
    return int(parts[2]) if len(parts) >= 4 and parts[2].isdecimal() else None


# -- reading --------------------------------------------------------------------------------


@router.command(
    "tasks",
    summary=_("rectification tasks: mine and my branches'"),
    role=Role.MEMBER,
    args=[BranchArg("branch", _("branch"), optional=True, managed=True)],
)
async def tasks_command(ctx: Context, branch: Branch | None = None) -> None:
    supervision, day = ctx.store.get(Supervision), today(ctx)
    mine = (
        []
        if ctx.who.member_id is None or branch is not None
        else await supervision.tasks(owner_id=ctx.who.member_id, limit=LISTED)
    )
    branch_ids: list[int] | None
    if branch is not None:
        branch_ids = [branch.id]
    elif ctx.who.is_admin:
        branch_ids = None
    else:
        branch_ids = list(ctx.who.secretary_of)
    theirs = (
        [] if branch_ids == [] else await supervision.tasks(branch_ids=branch_ids, limit=LISTED)
    )
    theirs = [t for t in theirs if t.id not in {m.id for m in mine}]
    if not mine and not theirs:
        ctx.reply(_("No open rectification tasks."))
        return
    owners = await names(ctx, {t.owner_id or 0 for t in mine + theirs})
    branches = {b.id: b.name for b in await ctx.store.branches.all()}
    lines = []
    if mine:
        lines.append(ctx.t(_("**Your tasks**")))
        lines += [task_line(ctx, t, owners, branches, day) for t in mine]
    if theirs:
        lines.append(ctx.t(_("**Your branches' tasks**")))
        lines += [task_line(ctx, t, owners, branches, day) for t in theirs]
    lines.append(ctx.t(_("`/task show <number>` shows one with its history.")))
    ctx.reply(Markup.join(lines))


STEP = {
    "made": _("made"),
    "started": _("started"),
    "done": _("done"),
    "dropped": _("dropped"),
    "owner": _("new owner"),
    "due": _("new deadline"),
}


@router.command(
    "task show",
    summary=_("a rectification task and its history"),
    role=Role.MEMBER,
    args=[Number("number", _("task number"), kind=TASK)],
)
async def task_show(ctx: Context, number: int) -> None:
    task = await ctx.store.get(Supervision).task(number)
    if task is None or not (may_move(ctx, task)):
        ctx.reply(_("There is no task {number} that you may see."), number=TASK.format(number))
        return
    supervision = ctx.store.get(Supervision)
    owners = await names(ctx, {task.owner_id or 0})
    branches = {b.id: b.name for b in await ctx.store.branches.all()}
    lines = [task_line(ctx, task, owners, branches, today(ctx))]
    steps = await supervision.steps(task.id)
    files = await supervision.step_files([s.id for s in steps])
    for step in steps:
        lines.append(
            ctx.t(
                _("— {when}, {who}: {what}"),
                when=ctx.translator.day(step.at.date()),
                who=step.by,
                what=ctx.text(STEP.get(step.kind, step.kind)),
            )
        )
        if step.text and step.kind != "made":
            lines.append(Markup.literal(step.text))
        if files.get(step.id):
            lines.append(ctx.t(_("Files: {count}"), count=len(files[step.id])))
    ctx.reply(Markup.join(lines))


# -- moving on ------------------------------------------------------------------------------


@router.command(
    "task start",
    summary=_("mark a task as in progress"),
    role=Role.MEMBER,
    args=[Number("number", _("task number"), kind=TASK)],
)
async def task_start(ctx: Context, number: int) -> None:
    task = await find_task(ctx, number)
    if task is None:
        return
    if task.status != "open":
        ctx.reply(
            _("Task {number} is {status}."),
            number=TASK.format(task.id),
            status=ctx.text(TASK_STATUS[task.status]),
        )
        return
    task.status = "in_progress"
    await ctx.store.get(Supervision).step(task, "started", who_am_i(ctx))
    ctx.reply(_("Task {number} is in progress."), number=TASK.format(task.id))


@router.command(
    "task drop",
    summary=_("drop a task, with the reason"),
    role=Role.SECRETARY,
    args=[Number("number", _("task number"), kind=TASK), Rest("reason", _("reason"))],
)
async def task_drop(ctx: Context, number: int, reason: str) -> None:
    task = await find_task(ctx, number, manage=True)
    if task is None:
        return
    if task.status not in TASK_OPEN:
        ctx.reply(
            _("Task {number} is {status}."),
            number=TASK.format(task.id),
            status=ctx.text(TASK_STATUS[task.status]),
        )
        return
    reason = " ".join(reason.split())[:1000]
    task.status, task.note, task.closed_on = "dropped", reason, today(ctx)
    await ctx.store.get(Supervision).step(task, "dropped", who_am_i(ctx), reason)
    ctx.reply(_("Task {number} is dropped."), number=TASK.format(task.id))


@router.command(
    "task due",
    summary=_("move a task's deadline"),
    role=Role.SECRETARY,
    args=[Number("number", _("task number"), kind=TASK), Rest("day", _("date"))],
)
async def task_due(ctx: Context, number: int, day: str) -> None:
    task = await find_task(ctx, number, manage=True)
    if task is None:
        return
    due = parse_day(day, today(ctx))
    if due is None or task.status not in TASK_OPEN:
        ctx.reply(
            _("Write a date that is not past, like {example}."), example=today(ctx).isoformat()
        )
        return
    task.due, task.reminded = due, 0
    await ctx.store.get(Supervision).step(task, "due", who_am_i(ctx), due.isoformat())
    ctx.reply(
        _("Task {number} is now due {due}."),
        number=TASK.format(task.id),
        due=ctx.translator.day(due),
    )


@router.command(
    "task owner",
    summary=_("give a task to another member of its branch"),
    role=Role.SECRETARY,
    args=[Number("number", _("task number"), kind=TASK), Rest("name", _("name"))],
)
async def task_owner(ctx: Context, number: int, name: str) -> None:
    task = await find_task(ctx, number, manage=True)
    if task is None:
        return
    wanted = " ".join(name.split()).lower()
    people = [(i, n) for i, n in await members_of(ctx, task.branch_id) if n.lower() == wanted]
    if len(people) != 1 or task.status not in TASK_OPEN:
        ctx.reply(_("No single member of the branch is called that; press a name above."))
        return
    task.owner_id = people[0][0]
    await ctx.store.get(Supervision).step(task, "owner", who_am_i(ctx), people[0][1])
    ctx.reply(
        _("Task {number} is now owned by {owner}."), number=TASK.format(task.id), owner=people[0][1]
    )


@router.command(
    "task done",
    summary=_("close a task with a note and its evidence"),
    role=Role.MEMBER,
    where=Where.DIRECT,
    args=[Number("number", _("task number"), kind=TASK)],
)
async def task_done(ctx: Context, number: int) -> None:
    task = await find_task(ctx, number)
    if task is None:
        return
    if task.status not in TASK_OPEN:
        ctx.reply(
            _("Task {number} is {status}."),
            number=TASK.format(task.id),
            status=ctx.text(TASK_STATUS[task.status]),
        )
        return
    await Closing.start(ctx, {"task_id": task.id})


class Closing(Dialog[dict[str, int]]):
    name = "sup_task_close"
    slot = "task"
    states = ["note"]
    timeout = 60 * 60

    async def setup(self, ctx: Context, arguments: dict[str, int]) -> None:
        self.data.update(task_id=arguments["task_id"], texts=[], files=[])

    async def on_enter_note(self, ctx: Context) -> None:
        ctx.reply(
            _(
                "What was done? Write the closing note and send its evidence (photos, "
                "files); press Done when it is complete."
            ),
            choices=[[Choice(ctx.text(_("Done")), "done")]],
        )

    @answers("note", text=True)
    async def wrote(self, ctx: Context, text: str) -> None:
        if text.strip().lower() in DONE_WORDS:
            await self.pressed(ctx, "done")
            return
        if (
            text.strip()
            and sum(map(len, self.data["texts"])) + len(text) <= config(ctx).text_max_length
        ):
            self.data["texts"].append(text.strip())
            ctx.reply(
                _("Added. Send more, or press Done."),
                choices=[[Choice(ctx.text(_("Done")), "done")]],
            )

    @answers("note", files=True)
    async def attached(self, ctx: Context, attachment: Attachment) -> None:
        settings = config(ctx)
        if (
            len(attachment.data) > settings.file_max_bytes
            or len(self.data["files"]) >= settings.files_per_report
        ):
            ctx.reply(
                _(
                    "That file was not added: it is too large, or the task has all the "
                    "files it takes."
                )
            )
            return
        digest = await FileStore.of(ctx.settings).put(attachment.data)
        self.data["files"].append(
            {
                "name": attachment.name or "file",
                "mime": attachment.mime,
                "size": len(attachment.data),
                "sha256": digest,
            }
        )
        ctx.reply(
            _("File added ({count} so far). Send more, or press Done."),
            count=len(self.data["files"]),
            choices=[[Choice(ctx.text(_("Done")), "done")]],
        )

    @answers("note")
    async def pressed(self, ctx: Context, payload: str) -> None:
        if payload != "done":
            return
        if not self.data["texts"]:
            ctx.reply(_("Write the closing note first: what was done."))
            return
        task = await ctx.store.get(Supervision).task(self.data["task_id"])
        if task is None or task.status not in TASK_OPEN or not may_move(ctx, task):
            ctx.reply(_("The task is no longer open; nothing was changed."))
            self.finish()
            return
        note = "\n\n".join(self.data["texts"])
        task.status, task.note, task.closed_on = "done", note, today(ctx)
        files = [
            NewFile(f["name"], f["mime"], int(f["size"]), f["sha256"]) for f in self.data["files"]
        ]
        await ctx.store.get(Supervision).step(task, "done", who_am_i(ctx), note, files)
        in_time = task.closed_on <= task.due
        ctx.reply(
            _("Task {number} is done, in time.")
            if in_time
            else _("Task {number} is done, after its deadline."),
            number=TASK.format(task.id),
        )
        self.finish()
