"""Prometheus metrics, in a registry of the app's own (tests run several apps in one process)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.events = Counter(
            "branchbot_events_total",
            "Events taken in, by outcome",
            ["platform", "outcome"],
            registry=r,
        )
        self.event_seconds = Histogram(
            "branchbot_event_seconds",
            "From an event's arrival to its commit",
            buckets=_FAST,
            registry=r,
        )
        self.slow_events = Counter(
            "branchbot_slow_events_total",
            "Events whose handling inside the batch took longer than the event budget",
            ["platform"],
            registry=r,
        )
        self.batch_size = Histogram(
            "branchbot_batch_events",
            "Events committed together",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=r,
        )
        self.commit_seconds = Histogram(
            "branchbot_batch_seconds",
            "Time to handle and commit a batch",
            buckets=_FAST,
            registry=r,
        )
        self.sent = Counter(
            "branchbot_messages_total",
            "Outbox rows finished, by outcome",
            ["platform", "outcome"],
            registry=r,
        )
        self.folded = Counter(
            "branchbot_messages_folded_total",
            "Queued messages merged into another for a chat with too little send budget",
            ["platform"],
            registry=r,
        )
        self.failed = Counter(
            "branchbot_messages_failed_total",
            "Outbox rows given up on after repeated errors that were not transient (dead "
            "letters), by the error's type",
            ["platform", "error"],
            registry=r,
        )
        self.pruned = Counter(
            "branchbot_outbox_pruned_total",
            "Finished outbox rows deleted after the retention period",
            registry=r,
        )
        self.retries = Counter(
            "branchbot_send_retries_total",
            "Sends to be tried again, by reason",
            ["platform", "reason"],
            registry=r,
        )
        self.pending = Gauge(
            "branchbot_outbox_pending", "Messages waiting to be sent", ["platform"], registry=r
        )
