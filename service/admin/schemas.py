"""API shapes for the agency tree."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from service.text_clean import Storable
from service.web.schemas import CursorPage, Flag, NullAsAbsent, NullsAsAbsent, strict_with_example


class AgencyPublic(BaseModel):
    code: str
    name: str
    parent_code: str | None
    level: int


class AgencyList(BaseModel):
    data: list[AgencyPublic]
    count: int


class KeyPublic(BaseModel):
    """An API key as admins see it: never the key itself nor its hash."""

    id: int
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    role: str
    agency_code: str | None = Field(description="The key's scope; null: every agency")
    status: Literal["active", "expired", "revoked"]
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="Accurate to about a minute (written at most once a minute per key)"
    )
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None


class KeyList(CursorPage[KeyPublic]):
    """API keys by id."""


class KeyRotated(BaseModel):
    """The successor of a rotated key; `key` is shown this once."""

    key: str
    replaces: int
    data: KeyPublic


class AuditRecordPublic(BaseModel):
    """One change: who made it, when, to what, and what it was before and after."""

    id: int
    at: datetime
    actor: str = Field(description="`key:<id>:<name>` of an API key, `cli`, `kiosk` or `citizen`")
    action: str = Field(examples=["key.revoke"])
    target: str | None = Field(examples=["api_key:3"])
    detail: dict[str, Any] = Field(description="What changed: from what, to what")


class AuditPage(CursorPage[AuditRecordPublic]):
    """Audit records, newest first."""


class OfficialPublic(BaseModel):
    """An official as admins see them: never the provider's subject itself."""

    id: int
    email: str
    name: str
    role: str = Field(examples=["manager"])
    agency_code: str | None = Field(description="The official's scope; null: every agency")
    created_at: datetime
    last_sign_in_at: datetime | None
    disabled_at: datetime | None
    disabled_by: str | None = Field(description="The audit log's actor who disabled them")
    subject_bound: bool = Field(
        description="Whether the provider's subject is bound (at the first sign-in): from "
        "then on only that provider account opens this official's console"
    )


class OfficialList(BaseModel):
    data: list[OfficialPublic]
    count: int


class OfficialUpdate(BaseModel):
    model_config = strict_with_example({"role": "manager", "agency_code": "79.SGN"})

    name: Annotated[str, Storable] | None = Field(default=None, max_length=255)
    email: Annotated[str, Storable] | None = Field(
        default=None,
        max_length=255,
        description="The address the provider now gives for this official (a renamed "
        "mailbox): they keep their account, its history and its bound provider account",
    )
    role: Literal["manager", "admin", "auditor"] | None = None
    agency_code: str | None = Field(
        default=None,
        max_length=64,
        description="Move to this agency's tree; null: every agency; absent: unchanged",
    )
    enabled: Annotated[bool, Flag] | None = Field(
        default=None, description="true: enable a disabled official again; false: disable"
    )
    subject_bound: Literal[False] | None = Field(
        default=None,
        description="false: release the provider account bound at the first sign-in (a "
        "mailbox handed to a successor); the next sign-in binds again",
    )


class OfficialCreate(NullsAsAbsent):
    model_config = strict_with_example(
        {
            "email": "nguyen.van.a@tphcm.gov.vn",
            "name": "Nguyễn Văn A",
            "role": "manager",
            "agency_code": "79.BTH",
        }
    )

    email: Annotated[str, Storable] = Field(
        min_length=1, max_length=255, description="The e-mail the identity provider vouches for"
    )
    name: Annotated[str, Storable, NullAsAbsent()] = Field(
        default="", max_length=255, description="Default: the e-mail"
    )
    role: Literal["manager", "admin", "auditor"]
    agency_code: str | None = Field(
        default=None, max_length=64, description="Limit to this agency's tree; null: every agency"
    )
