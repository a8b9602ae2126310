"""Prometheus metrics, one registry per process (no module globals: tests build their own).

Counters and histograms count what this process did; gauges that describe shared state (queue
depth, open tickets) are read from the store at scrape time, so every replica reports the same
value for them. Label values are bounded: channel and provider names, decision kinds,
escalation reasons, outcomes; never ids or text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from brain.slots import SlotUsage

HANDLE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
FIRST_RESPONSE_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0, 86400.0)
LLM_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Shared and slow-changing state, read when Prometheus scrapes."""

    queue_depth: int
    tickets_open: int
    breakers_open: Mapping[tuple[str, str], bool] = field(default_factory=dict)
    channels_connected: Mapping[str, bool] = field(default_factory=dict)
    unclaimed_past_sla: int = 0
    spend_today_usd: float = 0.0
    budget_usd: float = 0.0
    suppressed: Mapping[str, int] = field(default_factory=dict)
    """Messages channels deliberately did not answer, by reason, since this process started."""
    llm_slots: Mapping[tuple[str, str], SlotUsage] = field(default_factory=dict)
    """Each LLM deployment's in-flight cap and use in this process."""


class Metrics:
    def __init__(self) -> None:
        self._suppressed_seen: dict[str, int] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages_received = Counter(
            "frontdesk_messages_received", "Customer messages queued", ["channel"], registry=r
        )
        self.replies_sent = Counter(
            "frontdesk_replies_sent", "Messages delivered to customers", ["channel"], registry=r
        )
        self.decisions = Counter(
            "frontdesk_decisions", "Brain decisions by kind", ["kind"], registry=r
        )
        self.escalations = Counter(
            "frontdesk_escalations", "Escalations by reason", ["reason"], registry=r
        )
        self.handle_seconds = Histogram(
            "frontdesk_handle_seconds",
            "From a customer message being queued to its reply being sent",
            buckets=HANDLE_BUCKETS,
            registry=r,
        )
        self.llm_requests = Counter(
            "frontdesk_llm_requests",
            "LLM requests by outcome (ok, error, timeout, invalid, rejected)",
            ["provider", "model", "outcome"],
            registry=r,
        )
        self.llm_seconds = Histogram(
            "frontdesk_llm_seconds", "LLM request latency", ["provider", "model"],
            buckets=LLM_BUCKETS, registry=r,
        )  # fmt: skip
        self.llm_tokens = Counter(
            "frontdesk_llm_tokens", "LLM tokens", ["provider", "model", "type"], registry=r
        )
        self.llm_cost = Counter(
            "frontdesk_llm_cost_usd", "LLM spend in US dollars", ["provider", "model"], registry=r
        )
        self.breaker_open = Gauge(
            "frontdesk_breaker_open", "1 while a provider's circuit breaker is open",
            ["provider", "model"], registry=r,
        )  # fmt: skip
        labels = ["provider", "model"]
        self.llm_max_in_flight = Gauge(
            "frontdesk_llm_max_in_flight", "A deployment's in-flight cap (this process)", labels,
            registry=r,
        )  # fmt: skip
        self.llm_in_flight = Gauge(
            "frontdesk_llm_in_flight", "LLM requests running on a deployment now", labels,
            registry=r,
        )  # fmt: skip
        self.llm_waiting = Gauge(
            "frontdesk_llm_waiting", "LLM requests waiting for a deployment's free slot", labels,
            registry=r,
        )  # fmt: skip
        self.llm_slot_timeouts = Counter(
            "frontdesk_llm_slot_timeouts",
            "Waits for a deployment's slot that ran out (the request went to the next one)",
            labels, registry=r,
        )  # fmt: skip
        self._slot_timeouts_seen: dict[tuple[str, str], int] = {}
        self.queue_depth = Gauge(
            "frontdesk_queue_depth", "Queued messages not yet handled (all replicas)", registry=r
        )
        self.duplicates_dropped = Counter(
            "frontdesk_duplicates_dropped", "Platform redeliveries dropped", registry=r
        )
        self.suppressed = Counter(
            "frontdesk_suppressed",
            "Inbound messages deliberately not answered (auto-replies, bounces, ...)",
            ["reason"],
            registry=r,
        )
        self.tickets_open = Gauge(
            "frontdesk_tickets_open", "Escalated or claimed tickets (all replicas)", registry=r
        )
        self.channel_connected = Gauge(
            "frontdesk_channel_connected", "1 while a channel is connected", ["channel"],
            registry=r,
        )  # fmt: skip

        self.unclaimed_past_sla = Gauge(
            "frontdesk_tickets_unclaimed_past_sla",
            "Escalated tickets nobody claimed within their SLA (all replicas)", registry=r,
        )  # fmt: skip
        self.spend_today = Gauge(
            "frontdesk_llm_spend_today_usd", "LLM spend today, UTC (all replicas)", registry=r
        )
        self.budget = Gauge(
            "frontdesk_llm_budget_usd", "The configured daily LLM budget (0: none)", registry=r
        )
        self.first_response = Histogram(
            "frontdesk_first_response_seconds",
            "A conversation's first response: by the bot from its first message, by a human "
            "from its escalation",
            ["responder"], buckets=FIRST_RESPONSE_BUCKETS, registry=r,
        )  # fmt: skip
        self.csat = Counter(
            "frontdesk_csat_ratings", "Customer satisfaction ratings (1-5)", ["rating"],
            registry=r,
        )  # fmt: skip
        self.intents = Counter(
            "frontdesk_intents", "Classified intents of handled messages (the playbook's names)",
            ["intent"], registry=r,
        )  # fmt: skip

    # -- what happened -------------------------------------------------------------------------
    def received(self, channel: str) -> None:
        self.messages_received.labels(channel).inc()

    def replied(self, channel: str, seconds: float | None = None) -> None:
        self.replies_sent.labels(channel).inc()
        if seconds is not None and seconds >= 0:
            self.handle_seconds.observe(seconds)

    def decided(self, kind: str, reasons: Iterable[str] = ()) -> None:
        self.decisions.labels(kind).inc()
        for reason in reasons:
            self.escalations.labels(reason).inc()

    def responded(self, responder: str, seconds: float) -> None:
        if seconds >= 0:
            self.first_response.labels(responder).observe(seconds)

    def rated(self, rating: int) -> None:
        self.csat.labels(str(rating)).inc()

    def intent(self, name: str) -> None:
        self.intents.labels(name).inc()

    def duplicate(self) -> None:
        self.duplicates_dropped.inc()

    def suppress(self, reason: str, count: int = 1) -> None:
        self.suppressed.labels(reason).inc(count)

    def llm(
        self,
        provider: str,
        model: str,
        outcome: str,
        seconds: float,
        tokens: Mapping[str, int] | None = None,
        cost_usd: float = 0.0,
    ) -> None:
        self.llm_requests.labels(provider, model, outcome).inc()
        self.llm_seconds.labels(provider, model).observe(seconds)
        for kind, count in (tokens or {}).items():
            if count:
                self.llm_tokens.labels(provider, model, kind).inc(count)
        if cost_usd:
            self.llm_cost.labels(provider, model).inc(cost_usd)

    # -- scrape ----------------------------------------------------------------------------
    def render(self, snapshot: Snapshot) -> bytes:
        self.queue_depth.set(snapshot.queue_depth)
        self.tickets_open.set(snapshot.tickets_open)
        self.unclaimed_past_sla.set(snapshot.unclaimed_past_sla)
        self.spend_today.set(snapshot.spend_today_usd)
        self.budget.set(snapshot.budget_usd)
        for (provider, model), is_open in snapshot.breakers_open.items():
            self.breaker_open.labels(provider, model).set(1 if is_open else 0)
        for (provider, model), usage in snapshot.llm_slots.items():
            self.llm_max_in_flight.labels(provider, model).set(usage.limit)
            self.llm_in_flight.labels(provider, model).set(usage.in_flight)
            self.llm_waiting.labels(provider, model).set(usage.waiting)
            seen = self._slot_timeouts_seen.get((provider, model), 0)
            if usage.timeouts > seen:
                self.llm_slot_timeouts.labels(provider, model).inc(usage.timeouts - seen)
                self._slot_timeouts_seen[(provider, model)] = usage.timeouts
        for channel, connected in snapshot.channels_connected.items():
            self.channel_connected.labels(channel).set(1 if connected else 0)
        for reason, count in snapshot.suppressed.items():
            # Channels count for themselves; the counter follows their running totals.
            seen = self._suppressed_seen.get(reason, 0)
            if count > seen:
                self.suppress(reason, count - seen)
                self._suppressed_seen[reason] = count
        return generate_latest(self.registry)
