"""``branchbot run | db upgrade | admin add <identity> | config check``, and the features' own
(``bank import <file>``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
from typing import Any

from bot.app import FEATURES, BranchBot, configure, settings_of
from bot.config import Config, ConfigError
from bot.feature import CliServices, migrations
from store.db import Database
from store.repos import Repositories

FEATURE_COMMANDS = {command.name: command for feature in FEATURES for command in feature.cli}


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


SECRETS = re.compile(
    r"(?<=/bot)\d+:[\w-]{20,}|(?<=access_token=)[^&\s\"']+|(?<=://)[^/\s@\"']+(?=@)"
)
"""Credentials that libraries put in URLs they log: Telegram's bot token, Matrix access tokens,
and any URL's ``user:password@`` (an error about a callback or database URL quotes it)."""


class Redact(logging.Filter):
    """Mask credentials in every record, whatever logger wrote it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if SECRETS.search(message):
            record.msg, record.args = SECRETS.sub("<secret>", message), None
        return True


def _logging(level: str, style: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(Redact())
    if style == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # httpx logs every request URL at INFO, and Telegram's URLs carry the bot token;
    # aiosqlite logs every statement with its parameters at DEBUG (docs/privacy.md).
    for chatty in (
        "apscheduler",
        "transitions",
        "alembic.runtime.migration",
        "httpx",
        "httpcore",
        "aiosqlite",
    ):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="branchbot", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="TOML config file (default: $BRANCHBOT_CONFIG)")
    common.add_argument("--log-format", choices=["text", "json"], default="text")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", parents=[common], help="run the bot")
    db = commands.add_parser("db", help="database tasks").add_subparsers(
        dest="action", required=True
    )
    db.add_parser("upgrade", parents=[common], help="apply every migration")
    admin = commands.add_parser("admin", help="organisation admins").add_subparsers(
        dest="action", required=True
    )
    add = admin.add_parser("add", parents=[common], help="make a platform account an admin")
    add.add_argument("identity", help="platform-qualified id: telegram:123, webhook:lab:boss, ...")
    for feature in FEATURES:
        for command in feature.cli:
            command.arguments(commands.add_parser(command.name, help=command.help), common)
    check = commands.add_parser("config", help="configuration").add_subparsers(
        dest="action", required=True
    )
    check.add_parser("check", parents=[common], help="validate the config and print it")
    return parser


def _database(config: Config) -> Database:
    """The store, with every feature's migration branch."""
    return Database(config.database_url, migrations=migrations(FEATURES))


async def _upgrade(config: Config) -> None:
    db = _database(config)
    try:
        await db.upgrade()
    finally:
        await db.dispose()


async def _admin_add(config: Config, identity: str) -> bool:
    db = _database(config)
    try:
        await db.upgrade()
        async with db.session() as session:
            return await Repositories(session).people.add_admin(identity)
    finally:
        await db.dispose()


USERINFO = re.compile(r"(?<=://)\S*@")
"""``user:password@`` after a scheme, up to the last ``@`` (a password may hold ``@``, ``/`` or
``?`` unescaped): by pattern, so a URL no parser accepts (a bad port, an unclosed ``[``) is
masked as well as a good one."""


def _redacted(value: Any) -> Any:
    """The config as ``config check`` prints it: secrets are SecretStr (dumped as stars) or
    left out, but a URL can carry credentials of its own, in ``user:password@`` or in its query
    (a group robot's ``?access_token=``); those are masked in every URL, wherever it is."""
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    if not isinstance(value, str) or "://" not in value:
        return value
    head, mark, query = USERINFO.sub("***@", value, count=1).partition("?")
    query, hash_mark, fragment = query.partition("#")
    query = "&".join(f"{part.partition('=')[0]}=***" for part in query.split("&") if part)
    return head + mark + query + hash_mark + fragment


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = configure(args.config)
    except ConfigError as error:
        print(f"branchbot: invalid configuration:\n{error}", file=sys.stderr)
        return 2
    _logging(config.log_level, args.log_format)
    if args.command == "run":
        asyncio.run(BranchBot(config).run_forever())
    elif args.command == "db":
        asyncio.run(_upgrade(config))
        print("database is up to date")
    elif args.command in FEATURE_COMMANDS:
        services = CliServices(lambda: _database(config), settings_of(config))
        return FEATURE_COMMANDS[args.command].run(config, args, services)
    elif args.command == "admin":
        if ":" not in args.identity:
            print(
                "branchbot: identity must be platform-qualified, like telegram:123", file=sys.stderr
            )
            return 2
        added = asyncio.run(_admin_add(config, args.identity))
        print(f"{args.identity} is {'now' if added else 'already'} an admin")
    else:
        shown = config.model_dump(
            mode="json", exclude={"webhook": {"channels": {"__all__": {"secret"}}}}
        )
        print(json.dumps(_redacted(shown), indent=2, ensure_ascii=False))
        print("configuration is valid", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
