"""The ``Feature`` record: what one feature package gives the core, and what the core gives it.

A feature (``dialogs/<name>/``) exports one ``FEATURE``; the composition root (``bot/app.py``,
``bot/cli.py``) iterates them and never names one. The core reads from the record: commands
and dialogs (its ``Router`` and ``dialogs``), its config section (``config``: a pydantic model
validated as the ``[<name>]`` table of the config file and ``BRANCHBOT_<NAME>__*`` variables),
its scheduled sources and background workers (``workers``, built from ``Services``), its
``branchbot`` subcommands (``cli``), and its tables (``tables``, declared on the shared
``store.models.Base`` in a module of its own) with the directory of their migrations
(``migrations``, an Alembic branch of its own), the pages it serves on the bot's HTTP server
(``routes``) and its figures for the monthly branch report (``figures``, see
``bot/figures.py``). Its repositories need no declaration: a handler reaches one as
``ctx.store.get(Kind)`` (see ``store/repos.py``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import BaseModel

from bot.commands import Router
from bot.conversation import Dialog
from bot.figures import Figures, Problems
from bot.messages import Capabilities
from store.clock import Clock
from store.db import Database
from store.models import Base
from store.runtime import PendingMessage

if TYPE_CHECKING:
    from bot.config import Config
    from bot.context import Settings
    from bot.scheduler import ScheduleSource


@dataclass(frozen=True, slots=True)
class Services:
    """What a feature's workers are given by the core (they run outside any event)."""

    db: Database
    deliver: Callable[[list[PendingMessage]], None]
    """Hand committed outbox rows to delivery."""
    settings: Settings
    """The organisation's settings and every feature's config section."""
    capabilities: Callable[[str], Capabilities]
    """A platform's capabilities (whether its bot may write to a person first, ...)."""

    @property
    def clock(self) -> Clock:
        """The time workers read to decide what is due (the store's: tests move it)."""
        return self.db.clock


@dataclass(frozen=True, slots=True)
class CliServices:
    """What a feature's ``branchbot`` subcommand is given besides its arguments."""

    database: Callable[[], Database]
    """Opens the store with every feature's migrations (a feature cannot list the others),
    to upgrade and use."""
    settings: Settings
    """The same settings the running bot gives its handlers and workers."""


@dataclass(frozen=True, slots=True)
class CliCommand:
    """A ``branchbot <name> …`` subcommand a feature adds (``branchbot bank import``)."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser, argparse.ArgumentParser], None]
    """Declare the subcommand's own subparsers and arguments on the parser given first; the
    second is the parent every leaf parser takes (``--config``, ``--log-format``)."""
    run: Callable[[Config, argparse.Namespace, CliServices], int]
    """Do it; returns the exit status."""


@dataclass(frozen=True)
class Feature:
    name: str
    """Its config section, its log and metrics label."""
    router: Router
    dialogs: Sequence[type[Dialog]] = ()
    config: type[BaseModel] | None = None
    """The model of its ``[name]`` config section (all defaults: the section is optional)."""
    workers: Callable[[Services], Sequence[ScheduleSource]] = field(default=lambda _: ())
    """Its schedule sources and periodic workers, given the core's services."""
    cli: Sequence[CliCommand] = ()
    tables: Sequence[type[Base]] = ()
    """Its tables: on the shared ``Base``, so their foreign keys reach the core's tables, a
    ``/link`` merge moves their rows, and Alembic's autogenerate compares them."""
    migrations: Path | None = None
    """The directory of its own Alembic revisions (a branch with its ``branch_labels``), which
    the store applies after the core's."""
    routes: Callable[[Services], Sequence[web.RouteDef]] = field(default=lambda _: ())
    """Pages and endpoints it serves on the bot's one HTTP server (the supervision board)."""
    figures: Figures | None = None
    """Its lines in the monthly branch report (``bot/figures.py``)."""
    problems: Problems | None = None
    """Looks up the problems of its problem lists (``bot/figures.py``)."""
    rectifies: bool = False
    """It turns problems into rectification tasks (it handles ``RECTIFY`` buttons)."""

    def __post_init__(self) -> None:
        for table in self.tables:
            if table.metadata is not Base.metadata:
                raise ValueError(f"{self.name}: {table.__name__} is not on store.models.Base")


def migrations(features: Sequence[Feature]) -> list[Path]:
    """The revision directories of ``features``, for ``Database(migrations=...)``."""
    return [feature.migrations for feature in features if feature.migrations is not None]
