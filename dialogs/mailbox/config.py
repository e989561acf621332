"""The ``[mailbox]`` config section: categories, deadlines in working days, the daily cap,
blocks, where letters go, and the relay key that keeps anonymous writers unknown
(docs/mailbox.md, docs/privacy.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from bot.reminders import ReminderSettings

CATEGORIES = ["work", "study", "life", "suggestion", "complaint"]
"""The default categories; each is a catalog message (``dialogs.mailbox.common.CATEGORY``)."""


class MailboxConfig(ReminderSettings):
    """``reminder_interval_hours``, ``reminder_max`` and ``quiet_hours`` (``ReminderSettings``)
    govern the reminders to secretaries before a deadline and the escalations after it."""

    categories: list[str] = Field(default_factory=lambda: list(CATEGORIES), min_length=1)
    """Shown in this order; the defaults are translated, other names are shown as written."""
    first_answer_days: int = Field(3, ge=1, le=30)
    """Working days from the day a letter is written to its first answer."""
    resolve_days: int = Field(30, ge=1, le=30)
    """Working days to its resolution: 30 at most, the promise the mailbox makes."""
    remind_before_days: int = Field(1, ge=0, le=10)
    """Working days before a deadline at which the secretaries are reminded (0: only after)."""
    reopen_days: int = Field(14, ge=1, le=365)
    """Days after an answer (or a close) in which the writer may still reopen the letter; an
    answered letter the writer leaves alone that long is closed."""
    daily_cap: int = Field(3, ge=1, le=100)
    """Letters one member may send per day (named and anonymous together)."""
    block_days: int = Field(90, ge=1, le=3650)
    """How long ``/mail block`` keeps a writer from writing, unless the secretary says."""
    text_max_length: int = Field(4000, ge=100, le=20000)
    """Characters of a letter (all its messages together) or of one reply at most."""
    parts_max: int = Field(20, ge=1, le=100)
    images_max: int = Field(4, ge=0, le=20)
    image_max_bytes: int = Field(5_000_000, ge=10_000, le=20_000_000)
    release_minutes: int = Field(10, ge=1, le=240)
    """Anonymous letters reach the secretaries at the next multiple of this many minutes,
    together with every other letter of that span, so the time they arrive does not match
    the moment their writer was last active (docs/privacy.md)."""
    days_off: list[date] = []
    """Days off of the mailbox only, on top of the organisation's ``days_off`` (ISO dates)."""
    rooms: dict[str, str] = {}
    """A secretaries' room per branch name (``"*"``: every branch without one) as
    ``platform:chat id``; letters go there instead of the secretaries' direct chats."""
    relay_key: SecretStr | None = None
    """The key that seals which member wrote an anonymous letter (32 bytes, hex). Kept out
    of the database on purpose; when unset, ``relay_key_file`` holds it."""
    relay_key_file: Path = Path("mailbox-relay.key")
    """Created with a new random key on first use (mode 0600), relative to the working
    directory. Losing it means answers can no longer reach anonymous writers."""

    @field_validator("categories")
    @classmethod
    def _categories(cls, values: list[str]) -> list[str]:
        cleaned = [" ".join(value.split())[:40] for value in values]
        if any(not value for value in cleaned) or len(set(cleaned)) != len(cleaned):
            raise ValueError("categories must be distinct and not empty")
        return cleaned

    @field_validator("rooms")
    @classmethod
    def _rooms(cls, values: dict[str, str]) -> dict[str, str]:
        for branch, room in values.items():
            platform, colon, chat = room.partition(":")
            if not colon or not platform or not chat:
                raise ValueError(f"room for {branch!r} must be platform:chat_id")
        return values

    @field_validator("relay_key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                if len(bytes.fromhex(value.get_secret_value())) != 32:
                    raise ValueError
            except ValueError:
                raise ValueError("relay_key must be 64 hex digits (32 bytes)") from None
        return value
