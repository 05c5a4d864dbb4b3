"""Prometheus counters, on a registry of their own (one per server, so tests can run
several servers in one process without clashing in the global registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


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
        self.crm_syncs = Counter(
            "ignorerate_crm_syncs_total",
            "CRM syncs of one object, by CRM, object and result: done, failed; and runs "
            "skipped because another replica was syncing (object all).",
            ["source", "object", "result"],
            registry=self.registry,
        )
        self.crm_records = Counter(
            "ignorerate_crm_records_total",
            "CRM records read by the sync, by CRM and what became of them: lead_new, "
            "lead_known, action_new, action_known, not_ours, before_handoff, written_back.",
            ["source", "result"],
            registry=self.registry,
        )
        self.crm_lag = Gauge(
            "ignorerate_crm_lag_seconds",
            "Seconds since the oldest last successful sync of a CRM's objects (absent: never).",
            ["source"],
            registry=self.registry,
        )
        self.crm_errors = Gauge(
            "ignorerate_crm_errors",
            "Failed syncs in a row of a CRM's worst object (0: the last one worked).",
            ["source"],
            registry=self.registry,
        )
        self.crm_budget_left = Gauge(
            "ignorerate_crm_api_budget_left",
            "API requests left today as the CRM last reported them (Salesforce).",
            ["source"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
