"""How much a bank file may ask of the machine that reads it.

One set of limits for every way a file comes in (``branchbot bank import`` and a file sent in
a chat), checked while reading, before anything grows: a file over a limit is one
``file:line`` error, never a traceback or a frozen bot. The process limits (CPU, memory, wall
clock) apply where the file is parsed in a child process (``store.banks.sandbox``).
"""

from __future__ import annotations

from dataclasses import dataclass

from store.yamlload import TooBig

__all__ = ["LIMITS", "Limits", "TooBig"]

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True, slots=True)
class Limits:
    file_bytes: int = 4 * MIB
    """The file as sent."""
    unpacked_bytes: int = 32 * MIB
    """An XLSX after decompression, from the sizes its zip directory declares."""
    unpacked_ratio: int = 100
    """Decompressed size over compressed size of any one member of an XLSX."""
    zip_members: int = 200
    rows: int = 10_000
    """CSV and XLSX rows (the header included)."""
    columns: int = 32
    cells: int = 200_000
    """Non-empty CSV or XLSX cells."""
    field_chars: int = 16 * KIB
    """Any one value: a cell, a YAML scalar, an Aiken or GIFT question."""
    yaml_aliases: int = 20
    yaml_nodes: int = 200_000
    """YAML nodes with every alias expanded (what the file would become in memory)."""
    yaml_depth: int = 16
    questions: int = 5_000
    errors: int = 100
    """Problems listed before reading stops (a file of nothing but errors stays small)."""
    cpu_seconds: int = 20
    memory_bytes: int = 768 * MIB
    wall_seconds: float = 30.0


LIMITS = Limits()
