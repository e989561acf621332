"""``/mail``: writing a letter, guided, in a direct chat: signed or anonymous → category →
the letter (several messages and images, "done" to finish) → a preview → send.

The draft is kept sealed with the relay key in the conversation (its images in
``mail_files`` under a random token), so even while a letter is being written a copy of the
database does not show what a member is writing. Every message of this dialog vanishes from
the outbox once delivered, and none of its events' ids is stored (``Context.leave_no_trace``):
nothing in the store ties the letter to the chat it was written in.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from bot.commands import Where
from bot.context import Context
from bot.conversation import Dialog, answers
from bot.events import Attachment
from bot.i18n import Plural, _, _n
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Choice
from bot.recipients import may_open, queue
from dialogs.mailbox.common import (
    calendar,
    category_label,
    config,
    relay,
    router,
    today,
)
from dialogs.mailbox.posts import case, letter_notes, secretaries
from dialogs.mailbox.repository import Draft, Mailbox

DONE_WORDS = {"done", "完成", "好了", "写完了"}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


async def refusal(ctx: Context) -> str | None:
    """Why the speaker may not write a letter now (no membership yet, a block, the daily cap),
    or ``None``."""
    member_id = ctx.who.member_id
    if member_id is None:  # an admin of the config who never joined a branch
        return ctx.translator(
            _("Letters are written by members: join a branch with `/join <code>` first.")
        ).plain()
    mailbox, key, day = ctx.store.get(Mailbox), relay(ctx), today(ctx)
    until = await mailbox.blocked_until(member_id, key, day)
    if until is not None:
        return ctx.translator(
            _("You cannot send letters until {until}: a secretary blocked it after a letter."),
            until=ctx.translator.day(until),
        ).plain()
    cap = config(ctx).daily_cap
    if await mailbox.sent_today(member_id, key, day) >= cap:
        return ctx.translator(
            _n(
                "You have sent {count} letter today, the most for one day. Write again tomorrow.",
                "You have sent {count} letters today, the most for one day. Write again tomorrow.",
            ),
            count=cap,
        ).plain()
    return None


@router.command(
    "mail", summary=_("write a letter to your secretary"), role=Role.MEMBER, where=Where.DIRECT
)
async def mail(ctx: Context) -> None:
    ctx.leave_no_trace()  # every event of a letter being written: see ``Writing``
    reason = await refusal(ctx)
    if reason is not None:
        ctx.reply(Markup.literal(reason), vanish=True)
        return
    await Writing.start(ctx)


class Writing(Dialog[None]):
    name = "mail_write"
    slot = "mail"
    states = ["signed", "category", "body", "preview"]
    transitions = [
        {"trigger": "chose", "source": "signed", "dest": "category"},
        {"trigger": "categorised", "source": "category", "dest": "body"},
        {"trigger": "done", "source": "body", "dest": "preview"},
        {"trigger": "more", "source": "preview", "dest": "body"},
    ]
    timeout = 60 * 60

    # The draft, sealed: {"anonymous", "category", "parts"}; only the token is in the clear.

    def _draft(self, ctx: Context) -> dict[str, Any]:
        sealed = self.data.get("sealed")
        if not sealed:
            return {"anonymous": False, "category": "", "parts": []}
        plain = relay(ctx).open_bytes(f"draft:{self.data['token']}", base64.b64decode(sealed))
        return json.loads(plain) if plain else {"anonymous": False, "category": "", "parts": []}

    def _keep(self, ctx: Context, draft: dict[str, Any]) -> None:
        plain = json.dumps(draft, ensure_ascii=False).encode()
        sealed = relay(ctx).seal_bytes(f"draft:{self.data['token']}", plain)
        self.data["sealed"] = base64.b64encode(sealed).decode()

    def _say(
        self,
        ctx: Context,
        message: str | Plural,
        count: int | None = None,
        *,
        done: bool = False,
        **values: object,
    ) -> None:
        """Say it in the writer's chat (vanishing); ``done``: with a fresh Done button, since
        the one above belongs to an earlier step once a message was added."""
        choices = [[Choice(ctx.text(_("Done")), "done")]] if done else None
        ctx.reply(ctx.t(message, count, **values), choices=choices, vanish=True)

    async def setup(self, ctx: Context, arguments: None) -> None:
        self.data["token"] = secrets.token_hex(16)
        self.data["images"] = 0

    async def on_enter_signed(self, ctx: Context) -> None:
        ctx.reply(
            _(
                "A letter goes to your branch's secretaries. Sign it with your name, or send it "
                "anonymously: then nobody, not the secretaries, the admins or whoever runs the "
                "server, can see who wrote it (/privacy says how)."
            ),
            choices=[
                [Choice(ctx.text(_("With my name")), "signed")],
                [Choice(ctx.text(_("Anonymously")), "anonymous")],
            ],
            vanish=True,
        )

    @answers("signed")
    async def chose_signed(self, ctx: Context, payload: str) -> None:
        ctx.leave_no_trace()
        if payload not in ("signed", "anonymous"):
            return
        self._keep(ctx, {"anonymous": payload == "anonymous", "category": "", "parts": []})
        await self.fire(ctx, "chose")

    async def on_enter_category(self, ctx: Context) -> None:
        categories = config(ctx).categories
        ctx.reply(
            _("What is it about?"),
            choices=[[Choice(category_label(ctx, c), f"c{i}")] for i, c in enumerate(categories)],
            vanish=True,
        )

    @answers("category")
    async def chose_category(self, ctx: Context, payload: str) -> None:
        ctx.leave_no_trace()
        categories = config(ctx).categories
        if not (payload.startswith("c") and payload[1:].isdecimal()):
            return
        index = int(payload[1:])
        if index >= len(categories):
            return
        draft = self._draft(ctx)
        draft["category"] = categories[index]
        self._keep(ctx, draft)
        await self.fire(ctx, "categorised")

    async def on_enter_body(self, ctx: Context) -> None:
        limits = config(ctx)
        ctx.reply(
            _(
                "Write your letter: one matter per letter. Send it in as many messages as you "
                "need (up to {length} characters) and up to {images} images; press Done or "
                "send “done” when it is complete."
            ),
            length=limits.text_max_length,
            images=limits.images_max,
            choices=[[Choice(ctx.text(_("Done")), "done")]],
            vanish=True,
        )

    @answers("body", text=True)
    async def wrote(self, ctx: Context, text: str) -> None:
        ctx.leave_no_trace()
        text = text.strip()
        if text.lower() in DONE_WORDS:
            await self.finished_body(ctx, "done")
            return
        if text and self._add(ctx, text):
            self._say(ctx, _("Added. Write more, or press Done."), done=True)

    def _add(self, ctx: Context, text: str) -> bool:
        """Add a message to the draft, unless it would pass a limit (the writer is told)."""
        draft, limits = self._draft(ctx), config(ctx)
        if len(draft["parts"]) >= limits.parts_max:
            self._say(
                ctx,
                _("A letter is written in {count} messages at most; press Done to finish."),
                count=limits.parts_max,
                done=True,
            )
            return False
        if sum(len(part) for part in draft["parts"]) + len(text) > limits.text_max_length:
            self._say(
                ctx,
                _(
                    "That would make the letter longer than {length} characters; it was not "
                    "added. Press Done to finish."
                ),
                length=limits.text_max_length,
                done=True,
            )
            return False
        draft["parts"].append(text)
        self._keep(ctx, draft)
        return True

    @answers("body", files=True)
    async def attached(self, ctx: Context, attachment: Attachment) -> None:
        ctx.leave_no_trace()
        limits = config(ctx)
        if attachment.mime not in IMAGE_TYPES:
            self._say(ctx, _("Only images can go with a letter (JPEG, PNG, GIF, WebP)."))
            return
        if len(attachment.data) > limits.image_max_bytes:
            self._say(
                ctx,
                _("That image is larger than {size} MB; it was not added."),
                size=limits.image_max_bytes // 1_000_000,
            )
            return
        if self.data["images"] >= limits.images_max:
            self._say(
                ctx,
                _n(
                    "A letter takes {count} image at most.",
                    "A letter takes {count} images at most.",
                ),
                count=limits.images_max,
            )
            return
        caption = ctx.event.text.strip()
        if caption and not self._add(ctx, caption):
            return
        # Named by its place, never by what the platform called it (a message id, a file name).
        await ctx.store.get(Mailbox).add_draft_file(
            self.data["token"],
            f"image-{self.data['images'] + 1}",
            attachment.mime,
            attachment.data,
            relay(ctx),
            today(ctx),
        )
        self.data["images"] += 1
        self._say(ctx, _("Image added. Write more, or press Done."), done=True)

    @answers("body")
    async def finished_body(self, ctx: Context, payload: str) -> None:
        ctx.leave_no_trace()
        if payload != "done":
            return
        if not self._draft(ctx)["parts"]:
            self._say(ctx, _("The letter is still empty: write what it is about first."))
            return
        await self.fire(ctx, "done")

    async def on_enter_preview(self, ctx: Context) -> None:
        draft = self._draft(ctx)
        how = _("anonymous") if draft["anonymous"] else _("signed with your name")
        ctx.reply(
            Markup.join(
                [
                    ctx.t(
                        _("**Your letter** ({how}, {category}, images: {images}):"),
                        how=ctx.text(how),
                        category=category_label(ctx, draft["category"]),
                        images=self.data["images"],
                    ),
                    Markup.literal("\n\n".join(draft["parts"])),
                    ctx.t(_("Send it?")),
                ],
                "\n\n",
            ),
            choices=[
                [Choice(ctx.text(_("Send")), "send")],
                [
                    Choice(ctx.text(_("Add more")), "more"),
                    Choice(ctx.text(_("Discard")), "discard"),
                ],
            ],
            vanish=True,
        )

    @answers("preview")
    async def decided(self, ctx: Context, payload: str) -> None:
        ctx.leave_no_trace()
        if payload == "more":
            await self.fire(ctx, "more")
        elif payload == "discard":
            await ctx.store.get(Mailbox).drop_draft(self.data["token"])
            self._say(ctx, _("The letter was discarded; nothing was sent."))
            self.finish()
        elif payload == "send":
            await self._send(ctx)

    async def _send(self, ctx: Context) -> None:
        reason = await refusal(ctx)
        if reason is not None:
            ctx.reply(Markup.literal(reason), vanish=True)
            self.finish()
            return
        assert ctx.who.member_id is not None
        draft, settings, day, days = self._draft(ctx), config(ctx), today(ctx), calendar(ctx)
        mailbox = ctx.store.get(Mailbox)
        letter = await mailbox.write(
            Draft(
                anonymous=draft["anonymous"],
                category=draft["category"],
                text="\n\n".join(draft["parts"]),
                branch_id=ctx.who.branch_id,
                writer_id=ctx.who.member_id,
                answer_due=days.add(day, settings.first_answer_days),
                resolve_due=days.add(day, settings.resolve_days),
                token=self.data["token"],
            ),
            relay(ctx),
            day,
        )
        if not letter.anonymous:
            people = await secretaries(ctx.store, ctx.settings, letter, may_open(ctx))
            queue(
                ctx,
                await letter_notes(
                    ctx.store,
                    letter,
                    draft_text(draft),
                    people,
                    ctx.settings,
                    day,
                ),
            )
        self._say(
            ctx,
            _(
                "Your letter is sent: its case number is **{case}**. You will have a first "
                "answer by {answer_due} and a resolution by {resolve_due} (working days). "
                "`/mail show {case}` shows its thread."
            ),
            case=case(letter),
            answer_due=ctx.translator.day(letter.answer_due),
            resolve_due=ctx.translator.day(letter.resolve_due),
        )
        self.finish()

    async def on_timeout(self, ctx: Context) -> None:
        await ctx.store.get(Mailbox).drop_draft(self.data["token"])
        self._say(
            ctx,
            _("I stopped waiting, and the unsent letter was discarded. Send /mail to start again."),
        )
        self.finish()


def draft_text(draft: dict[str, Any]) -> str:
    return "\n\n".join(draft["parts"])
