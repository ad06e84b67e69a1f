"""Counters of failed survey-token guesses, shared by every process through the database."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class GuessThrottle(SQLModel, table=True):
    __tablename__ = "guess_throttle"

    # sha256 of the client address with the signing key: the address itself is never
    # stored, and nothing links this row to any response.
    client_hash: str = Field(max_length=64, primary_key=True)
    window_start: int = Field(primary_key=True)  # unix seconds, floored to the window
    failures: int = 0
