"""Tries of invite and link codes from the web chat, per client address and per code.

The store already counts wrong codes per sender and chat (``code_failures``), but on the web
a sender is free: a new anonymous identity is one cookie away. So the page's tries are also
held here, in a sliding window per address and per code, before anything reaches the core.
Memory is bounded: at most ``keys`` keys, the least recently used dropped first."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address

Network = IPv4Network | IPv6Network
LOOPBACK: tuple[Network, ...] = (IPv4Network("127.0.0.0/8"), IPv6Network("::1/128"))


def client_address(peer: str | None, forwarded: str | None, trusted: Sequence[Network]) -> str:
    """Whom a request is from, for the per-address limit. Behind a reverse proxy every peer is
    the proxy, so one stranger's wrong codes would lock everybody out: where the peer is a
    trusted proxy, the client is the nearest address in ``X-Forwarded-For`` that is not one.
    Only what trusted proxies appended counts (a client can write anything before it), so the
    list is read from its end; an entry that is no address is taken as the client's own. List
    only the proxies' own addresses: a client inside a trusted network could name any other."""
    hops = [hop.strip() for hop in forwarded.split(",")] if forwarded else []
    candidate = peer or "unknown"
    for candidate in [peer or "unknown", *reversed(hops)]:
        try:
            parsed = ip_address(candidate)
        except ValueError:
            return candidate[:64]
        # a dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d
        mapped = parsed.ipv4_mapped if isinstance(parsed, IPv6Address) else None
        address = mapped or parsed
        if not any(address in network for network in trusted):
            return str(address)
    return candidate


class SlidingWindow:
    def __init__(
        self,
        limit: int,
        window: float,
        keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.keys = keys
        self.clock = clock
        self._tries: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        tries = self._tries.get(key)
        if tries is None:
            tries = self._tries[key] = deque(maxlen=self.limit)
            while len(self._tries) > self.keys:
                self._tries.popitem(last=False)
        else:
            self._tries.move_to_end(key)
        while tries and tries[0] <= now - self.window:
            tries.popleft()
        return tries

    def full(self, key: str) -> bool:
        return len(self._recent(key, self.clock())) >= self.limit

    def note(self, key: str) -> None:
        self._recent(key, self.clock()).append(self.clock())

    def __len__(self) -> int:
        return len(self._tries)


class CodeLimits:
    """30 tries in 10 minutes per address, 5 per code (defaults). Every try counts, right or
    wrong (the adapter cannot tell), so the per-address figure leaves room for a training
    session that joins from one office's address; against guessing, an 8-character code of 31
    signs (8.5 × 10¹¹) is the defence, and the limits only stop scanning."""

    def __init__(
        self,
        per_address: int = 30,
        per_code: int = 5,
        window: float = 600.0,
        keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.addresses = SlidingWindow(per_address, window, keys, clock)
        self.codes = SlidingWindow(per_code, window, keys, clock)

    def allow(self, address: str, code: str) -> bool:
        """Whether one more try of ``code`` from ``address`` may go on (and count it)."""
        code = code.strip().upper()[:64]
        if self.addresses.full(address) or self.codes.full(code):
            return False
        self.addresses.note(address)
        self.codes.note(code)
        return True
