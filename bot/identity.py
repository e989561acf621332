"""Who is speaking: the sender resolved to a member, with the roles the router checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from bot.i18n import _


class Role(IntEnum):
    ANYONE = 0
    MEMBER = 1
    SECRETARY = 2
    ADMIN = 3

    @property
    def who(self) -> str:
        """Who may use a command that needs this role, for refusals."""
        return {
            Role.ANYONE: _("anyone"),
            Role.MEMBER: _("members of a branch"),
            Role.SECRETARY: _("branch secretaries and admins"),
            Role.ADMIN: _("admins"),
        }[self]


@dataclass(frozen=True, slots=True)
class Principal:
    platform: str
    user_id: str
    name: str
    member_id: int | None = None
    locale: str | None = None
    branch_id: int | None = None
    branch_name: str | None = None
    secretary_of: Mapping[int, str] = field(default_factory=dict)
    is_admin: bool = False
    identities: tuple[str, ...] = ()
    direct_chats: Mapping[str, str] = field(default_factory=dict)
    """Platform → the chat id of this person's direct chat with the bot, where known."""

    @property
    def identity(self) -> str:
        return f"{self.platform}:{self.user_id}"

    def has(self, role: Role) -> bool:
        if role is Role.ANYONE:
            return True
        if role is Role.MEMBER:
            return self.branch_id is not None or bool(self.secretary_of) or self.is_admin
        if role is Role.SECRETARY:
            return bool(self.secretary_of) or self.is_admin
        return self.is_admin

    def manages(self, branch_id: int) -> bool:
        """Admins manage every branch; a secretary only their own."""
        return self.is_admin or branch_id in self.secretary_of
