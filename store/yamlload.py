"""PyYAML's safe loader with bounds, for every YAML file a person hands the bot (question
banks, survey templates, supervision indicators).

It counts while it composes the node tree: nesting, aliases, and the values the tree would
hold with every alias expanded (a "billion laughs" file is a few hundred bytes, a flat list of
a million zeros a few MB). Each count is checked as the node is composed, so a file past a
limit stops there, before the rest is read and before a single Python object is built.
libyaml scans and parses (five times faster than PyYAML's own parser, which took 14 s to reach
the node limit); PyYAML's Python composer builds the tree, so each node passes through
``compose_node``. The node tree keeps each value's line, for ``file:line`` errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

import yaml
from yaml._yaml import CParser

INT_TAG = "tag:yaml.org,2002:int"
STR_TAG = "tag:yaml.org,2002:str"


class YamlBounds(Protocol):
    @property
    def yaml_depth(self) -> int: ...
    @property
    def yaml_aliases(self) -> int: ...
    @property
    def yaml_nodes(self) -> int:
        """Nodes with every alias expanded (what the file would become in memory)."""

    @property
    def field_chars(self) -> int:
        """Characters of any one scalar."""


class TooBig(Exception):
    """A limit was reached while reading: the file is refused as a whole at ``line``."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class BoundedLoader(
    yaml.composer.Composer,
    CParser,
    yaml.constructor.SafeConstructor,
    yaml.resolver.Resolver,
):
    """``get_single_node`` composes under the bounds (raising ``TooBig``);
    ``construct_document`` then builds plain Python values from the node tree."""

    def __init__(self, text: str, limits: YamlBounds) -> None:
        CParser.__init__(self, text)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self.limits = limits
        self.depth = 0
        self.aliases = 0
        self.nodes = 0
        self.anchored: dict[str, int] = {}
        """The expanded size of each anchored node once it is complete."""

    def _grow(self, count: int, line: int) -> None:
        self.nodes += count
        if self.nodes > self.limits.yaml_nodes:
            raise TooBig(line, f"the file expands to more than {self.limits.yaml_nodes:,} values")

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        peek = cast(Callable[[], yaml.Event], self.peek_event)  # the stubs leave it untyped
        event = peek()
        line = event.start_mark.line + 1 if event.start_mark else 1
        anchor: str | None = getattr(event, "anchor", None)
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > self.limits.yaml_aliases:
                raise TooBig(line, f"more than {self.limits.yaml_aliases} aliases (*name)")
            if anchor in self.anchors:
                if anchor not in self.anchored:
                    raise TooBig(line, "an alias refers to the node that contains it")
                self._grow(self.anchored[anchor], line)
            return super().compose_node(parent, index)
        self.depth += 1
        if self.depth > self.limits.yaml_depth:
            raise TooBig(line, f"nested deeper than {self.limits.yaml_depth} levels")
        before = self.nodes
        self._grow(1, line)
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if isinstance(node, yaml.ScalarNode):
            if len(node.value) > self.limits.field_chars:
                message = f"a value is longer than {self.limits.field_chars:,} characters"
                raise TooBig(line, message)
            if node.tag == INT_TAG and len(node.value) > 20:
                # A long number becomes text, so the value that has it gets its own error.
                node.tag = STR_TAG
        if anchor is not None:
            self.anchored[anchor] = self.nodes - before
        return node
