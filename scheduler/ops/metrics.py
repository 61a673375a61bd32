"""Prometheus metrics for ``postq run --metrics-port N``, served by ``prometheus-client``.

Counts by state and channel are read from the database when scraped, so they are what the
queue shows (every publisher reports the same totals); the histograms and counters are
this process's own work, fed by the same events as the log lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: Buckets in seconds: a publish call takes ~0.1-30 s; lateness is judged against a
#: one-second tick and minutes of grace.
_CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_LATE_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 1800, 3600)


class Metrics:
    """The registry and the event listener that feeds it."""

    def __init__(self, store: Any, settings: Any = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.store = store
        self.registry = CollectorRegistry()
        self.registry.register(_QueueCollector(store))
        self.publish_seconds = Histogram(
            "postq_publish_seconds", "Seconds from claim to recorded publication.",
            ["channel"], buckets=_CALL_BUCKETS, registry=self.registry)
        self.lateness_seconds = Histogram(
            "postq_lateness_seconds", "Seconds between a delivery's time and its publication.",
            ["channel"], buckets=_LATE_BUCKETS, registry=self.registry)
        self.attempts = Counter(
            "postq_attempts", "Publish attempts finished by this publisher, by outcome.",
            ["channel", "outcome"], registry=self.registry)
        self.errors = Counter(
            "postq_errors", "Deliveries that did not publish, by kind (retry_wait, failed, "
            "needs_check, missed).", ["channel", "kind"], registry=self.registry)
        self.last_published = Gauge(
            "postq_last_published_timestamp_seconds",
            "Unix time of this publisher's last successful publication per channel.",
            ["channel"], registry=self.registry)
        self.credential_expiry = Gauge(
            "postq_credential_expiry_timestamp_seconds",
            "Unix time a channel's access token runs out (its token_expires setting).",
            ["channel"], registry=self.registry)
        if settings is not None:
            from datetime import UTC, datetime, time

            from scheduler.ops.health import token_expiries

            for channel, day in token_expiries(settings).items():
                moment = datetime.combine(day, time(0, 0), tzinfo=UTC)
                self.credential_expiry.labels(channel).set(moment.timestamp())

    def __call__(self, event: dict[str, Any]) -> None:
        """An :class:`~scheduler.ops.events.EventReporter` listener."""
        channel, kind = event.get("channel", ""), event.get("event", "")
        if kind not in ("published", "retry_wait", "failed", "needs_check", "missed"):
            return
        self.attempts.labels(channel, kind).inc()
        if kind != "published":
            self.errors.labels(channel, kind).inc()
            return
        if event.get("publish_s") is not None:
            self.publish_seconds.labels(channel).observe(max(event["publish_s"], 0.0))
        if event.get("lateness_s") is not None:
            self.lateness_seconds.labels(channel).observe(max(event["lateness_s"], 0.0))
        self.last_published.labels(channel).set_to_current_time()

    def serve(self, port: int, host: str = "127.0.0.1") -> Any:
        """Serve ``/metrics`` on ``host:port`` in a daemon thread; returns the server."""
        from prometheus_client import start_http_server

        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server


class _QueueCollector:
    """``postq_deliveries{state, channel}`` straight from the database at each scrape."""

    def __init__(self, store: Any, settings: Any = None) -> None:
        self.store = store

    def describe(self) -> list[Any]:
        return []  # collected live; nothing to declare at registration

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily("postq_deliveries", "Deliveries in the queue by state "
                                   "and channel (current revisions).",
                                   labels=["state", "channel"])
        for (state, channel), n in sorted(self.store.counts_by_channel().items()):
            family.add_metric([state, channel], n)
        yield family
