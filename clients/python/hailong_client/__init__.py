"""Typed client for hailong: issue surveys at handover, and (soon) read scores."""

from hailong_client.client import AsyncHailongClient, HailongClient
from hailong_client.errors import (
    Conflict,
    Forbidden,
    HailongError,
    InvalidInput,
    NotFound,
    Unauthorized,
)
from hailong_client.models import Agency, Survey

__all__ = [
    "Agency",
    "AsyncHailongClient",
    "Conflict",
    "Forbidden",
    "HailongClient",
    "HailongError",
    "InvalidInput",
    "NotFound",
    "Survey",
    "Unauthorized",
]
