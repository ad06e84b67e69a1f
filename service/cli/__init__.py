"""The `hailong` command line. Each group of commands lives in a module of its own;
importing them registers their commands on `app`."""

from __future__ import annotations

from service.cli import agencies, data, keys, kiosk, officials, scores, server
from service.cli.apps import app

__all__ = ["agencies", "app", "data", "keys", "kiosk", "main", "officials", "scores", "server"]


def main() -> None:
    app()
