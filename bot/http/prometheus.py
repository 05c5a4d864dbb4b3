"""Prometheus counters, on a registry of their own (one per server, so tests can run
several servers in one process without clashing in the global registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.handoffs = Counter(
            "ignorerate_handoffs_total",
            "Leads received, by door and by result (new, known, refused).",
            ["door", "result"],
            registry=self.registry,
        )
        self.actions = Counter(
            "ignorerate_actions_total",
            "Actions received from outside a click, by door and by result (new, known, refused).",
            ["door", "result"],
            registry=self.registry,
        )
        self.clicks = Counter(
            "ignorerate_clicks_total",
            "Actions asked for from Slack, by kind and result (malformed: a value not read).",
            ["kind", "result"],
            registry=self.registry,
        )
        self.commands = Counter(
            "ignorerate_commands_total",
            "/ignorerate requests, by result.",
            ["result"],
            registry=self.registry,
        )
        self.rejected_requests = Counter(
            "ignorerate_rejected_requests_total",
            "Requests refused at the door (unsigned, too large, malformed), by door and reason.",
            ["door", "reason"],
            registry=self.registry,
        )
        self.outbox = Counter(
            "ignorerate_outbox_total",
            "Outbox sends, by result: sent, retry, dead, rate_limited, deferred (paced), "
            "redelivered (a claim expired unfinished: a possible duplicate).",
            ["status"],
            registry=self.registry,
        )
        self.ticks = Counter(
            "ignorerate_scheduler_ticks_total",
            "Scheduler ticks, by result: done, skipped (another replica held it), failed.",
            ["result"],
            registry=self.registry,
        )
        self.errors = Counter(
            "ignorerate_listener_errors_total",
            "Slack listeners that raised.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
