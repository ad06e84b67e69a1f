"""Bulk imports of the past (`hailong import`): one row per file being imported, so that an
interrupted import resumes where it stopped."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from service.models.base import ACTOR_MAX, UTCDateTime, utcnow


class ImportJob(SQLModel, table=True):
    __tablename__ = "import_job"

    id: int | None = Field(default=None, primary_key=True)
    file_name: str = Field(max_length=500)
    # The file is known by its content: `--resume` continues only the same bytes.
    file_sha256: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)
    status: str = Field(default="running", max_length=16)  # running, interrupted or done
    skip_invalid: bool = False
    rows_valid: int = 0  # rows to write (the refused ones left out)
    rows_refused: int = 0
    # The file's row number (1 = the header) up to which every valid row is written: its
    # chunk's transaction moved it, so rows up to here are in the database and no others.
    done_through_row: int = 1
    rows_written: int = 0
    actor: str = Field(max_length=ACTOR_MAX)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
