"""Telegram: python-telegram-bot's ``Bot`` talking to the Bot API (docs/telegram.md)."""

from adapters.telegram.adapter import CommandMenu, TelegramAdapter

__all__ = ["CommandMenu", "TelegramAdapter"]
