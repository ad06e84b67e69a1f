"""Request metrics and structured request logs."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# Credentials sit in paths: the survey's token (/s/, /embed/s/, /api/v1/surveys/) and its
# short code (/m/), the follow-up's (/p/), the opt-out's (/u/). Each opens a citizen's
# survey or complaint, or opts them out, so logs and metric labels must never carry them.
# Matched as a mistyped address still carries them: /S/, //s/ or /s//, which no route
# answers, logged the token of the 404 (audit).
_TOKEN_PATH = re.compile(r"^(/+(?:s|p|m|u|embed/+s|api/+v1/+surveys))/+[^/]+", re.IGNORECASE)
# The methods a request is counted under by name (RFC 9110); any other is "OTHER".
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

request_logger = logging.getLogger("hailong.request")

# Messages failed for good (service/messaging/leased.py), the citizens' and the officials'
# alert e-mails. The process's one counter, registered with each Metrics' registry: the
# message lanes are built by the worker without a Metrics of their own, and the embedded
# worker's failures show on its server's /metrics. `reason_class`: refused (the provider's
# final refusal), gave_up (temporary failures past HAILONG_MESSAGE_GIVE_UP_HOURS),
# cannot_fit (an SMS the links leave no room for).
MESSAGE_FAILURES = Counter(
    "hailong_message_failures_total",
    "Messages failed for good by channel and class: refused, gave_up, cannot_fit",
    ["channel", "reason_class"],
    registry=None,
)


def redact(path: str) -> str:
    return _TOKEN_PATH.sub(r"\1/{token}", path)


UNMATCHED = "unmatched"  # the route label of a request no route answered


# A segment a 404's log line keeps: a word of the site (static, api, v1, survey.css), never
# a survey token (mixed case, 43 characters) or a short code (upper case).
_SITE_WORD = re.compile(r"[a-z][a-z0-9._-]{0,23}")


def logged_path(route: str, path: str) -> str:
    """The path a request log line shows: redacted, and for a request no route answered
    its words of the site only, each other segment '…'. A mistyped address can carry a
    credential in any shape (/s/./TOKEN, /x/../s/TOKEN, /s;/TOKEN, the token alone:
    review), while /api/v1/handover (an integrator's typo) and /static/survey.css keep
    what an operator reads them for (review)."""
    if route != UNMATCHED:
        return redact(path)
    segments = path.split("/")
    return "/".join(s if not s or _SITE_WORD.fullmatch(s) else "…" for s in segments)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hailong_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hailong_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.handover_batch_size = Histogram(
            "hailong_handover_batch_size",
            "New dossiers written per transaction by the handover writer",
            registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64),
        )
        self.invitations_issued = Counter(
            "hailong_invitations_issued_total",
            "Survey invitations issued at handover",
            registry=self.registry,
        )
        # Webhook sending, in the process that sends (the embedded worker's server).
        self.webhook_latency = Histogram(
            "hailong_webhook_delivery_duration_seconds",
            "Time from sending a webhook attempt to the receiver's answer (or the error)",
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.webhook_failures = Counter(
            "hailong_webhook_delivery_failures_total",
            "Failed webhook attempts by class: timeout, connect, network, refused_target,"
            " http_4xx, http_5xx, http_other",
            ["reason"],
            registry=self.registry,
        )
        self.webhook_backlog = WebhookBacklog()
        self.registry.register(self.webhook_backlog)
        self.message_failures = MESSAGE_FAILURES
        self.registry.register(MESSAGE_FAILURES)


class WebhookBacklog(Collector):
    """Pending deliveries per subscription, read when /metrics is scraped (from the
    database: right whichever process sends). `source` is set once the engine exists."""

    def __init__(self) -> None:
        self.source: Callable[[], Mapping[str, int]] | None = None

    def describe(self) -> list[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        if self.source is not None:
            try:
                counts = self.source()
            except Exception:  # the database is down: /metrics still answers, without it
                logging.getLogger("hailong.metrics").exception("webhook backlog unreadable")
                counts = {}
            for subscription_id, count in sorted(counts.items()):
                family.add_metric([subscription_id], count)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "hailong_webhook_backlog",
            "Pending webhook deliveries per subscription",
            labels=["subscription"],
        )


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    request_logger.handlers[:] = [handler]
    request_logger.setLevel(logging.INFO)
    request_logger.propagate = False


class RequestRecorder:
    """Counts, times and (optionally) logs each finished request. The app factory calls it
    from its one middleware; nothing here knows how requests arrive."""

    def __init__(self, metrics: Metrics, log_requests: bool) -> None:
        self.metrics = metrics
        self.log_requests = log_requests
        # Each label set's series, looked up once: labels() validates and locks every call.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def record(self, method: str, route: str, path: str, status: int, elapsed: float) -> None:
        """`route`: the route template (/s/{token}/slip), which keeps label cardinality
        bounded; `path` is logged with its survey token redacted (logged_path)."""
        requests, latency = self._series_of(method, route, status)
        requests.inc()
        latency.observe(elapsed)
        if self.log_requests:
            record: dict[str, Any] = {
                "event": "request",
                "method": method,
                "path": logged_path(route, path),
                "status": status,
                "ms": round(elapsed * 1000, 2),
            }
            request_logger.info(json.dumps(record))

    def _series_of(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        # Any method name a client invents would be a series of its own for ever (the
        # registry keeps every label set): those are counted together as "OTHER".
        method = method if method in HTTP_METHODS else "OTHER"
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = (
                self.metrics.requests.labels(method, route, str(status)),
                self.metrics.latency.labels(method, route),
            )
            self._series[key] = series
        return series
