"""Ports for the servers a test starts (the fake Telegram, Synapse, a bot's HTTP).

Under pytest-xdist several workers pick ports at once: each takes its own block below the
kernel's ephemeral range (32768–60999 on Linux), so two workers never pick the same port and
no outgoing connection's local port can take one between the pick and the listen."""

from __future__ import annotations

import itertools
import os
import socket

FIRST = 20_000
BLOCK = 1_000
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_START = FIRST + BLOCK * (int(_WORKER) % 12 if _WORKER.isdecimal() else 0)
_NEXT = itertools.cycle(range(_START, _START + BLOCK))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, from this worker's block."""
    for _try in range(BLOCK):
        port = next(_NEXT)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_START}–{_START + BLOCK - 1}")
