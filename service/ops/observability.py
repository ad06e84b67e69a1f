"""Request metrics and structured request logs, as one pure ASGI middleware.

Pure ASGI (not BaseHTTPMiddleware) keeps the per-request cost to a few microseconds, which
matters on the handover hot path.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Survey tokens sit in paths (/s/<token>/...): logs and metric labels must never carry them.
_TOKEN_PATH = re.compile(r"^/s/[^/]+")

request_logger = logging.getLogger("hailong.request")


def redact(path: str) -> str:
    return _TOKEN_PATH.sub("/s/{token}", path)


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


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    request_logger.handlers[:] = [handler]
    request_logger.setLevel(logging.INFO)
    request_logger.propagate = False


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, log_requests: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests
        # Each label set's series, looked up once: labels() validates and locks every call.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            # The route template (/s/{token}/slip) keeps label cardinality bounded.
            route_label = getattr(route, "path", "unmatched")
            method = scope["method"]
            requests, latency = self._series_of(method, route_label, status)
            requests.inc()
            latency.observe(elapsed)
            if self.log_requests:
                record: dict[str, Any] = {
                    "event": "request",
                    "method": method,
                    "path": redact(scope["path"]),
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                }
                request_logger.info(json.dumps(record))

    def _series_of(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            if len(self._series) > 10_000:  # any method name a client sends is a key
                self._series.clear()
            series = (
                self.metrics.requests.labels(method, route, str(status)),
                self.metrics.latency.labels(method, route),
            )
            self._series[key] = series
        return series
