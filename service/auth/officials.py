"""Officials: people who sign in to the console through the province's identity provider.

An admin keeps the list (e-mail, role, agency scope) with `hailong officials` or the API;
the provider only proves who someone is. Its ID token's verified `email` finds the
official, and its `sub` is bound to the official at the first sign-in, so that a mailbox
handed to someone else later does not open the account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service import db
from service.audit import record
from service.auth.principal import Principal
from service.errors import Conflict, Forbidden, NotFound, field_error, storable_field
from service.models import (
    EVERY_AGENCY_ROLES,
    OFFICIAL_ROLES,
    Agency,
    ConsoleSessionRecord,
    Official,
    utcnow,
)
from service.models.agency import path_within
from service.text_clean import composed, is_storable


class NotAnOfficial(Exception):
    """The provider vouched for someone who may not use the console; `reason` says why."""

    def __init__(self, reason: str, email: str | None) -> None:
        super().__init__(reason)
        self.reason, self.email = reason, email


# Only ASCII letters are folded: str.lower() also maps look-alikes onto them (KELVIN SIGN
# U+212A -> "k"), and a provider account for "\u212aim@x.vn" then signed in as the official
# kim@x.vn, binding its subject to them (audit).
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


# RFC 5322's atext, in dot-separated runs; a mailbox's name beyond ASCII (RFC 6531) too.
_DOT_ATOM = re.compile(
    r"[^\x00-\x20()<>\[\]:;@\\,.\"\x7f]+(?:\.[^\x00-\x20()<>\[\]:;@\\,.\"\x7f]+)*"
)


def normalise_email(email: str) -> str:
    return email.strip().translate(_ASCII_LOWER)


def _storable_email(email: str) -> bool:
    """An address the official table can hold (and a provider's claim can match): no
    control character or half of a character (a claim's lone surrogate was a 500 at the
    database driver)."""
    return "@" in email and len(email) <= 255 and is_storable(email)


def _an_address(email: str) -> bool:
    """What a mailbox's address looks like: one "@" between a local part and a domain with
    a dot, no space. Anything with an "@" was taken, and a typo ("nguyen@", "an @x.vn")
    made an official no provider could ever sign in (audit). The local part a dot-atom
    (RFC 5322): "a,b@x.vn" (two addresses pasted) or "a..b@x.vn" passed, and the official's
    alert e-mails bounced (audit). The domain's labels are not empty. Claims are only
    matched."""
    local, at, domain = email.rpartition("@")
    return (
        bool(at and local and "@" not in local)
        and _DOT_ATOM.fullmatch(local) is not None
        and "." in domain
        and _DOT_ATOM.fullmatch(domain) is not None  # "x.vn," "x,vn" pasted too (review)
    )


def _check_name(name: str) -> None:
    """At most 255 characters, and text the API's input models take (refuse_nul): only NUL
    was refused, and a control character stored broke the XLSX and DOCX exports."""
    if len(name) > 255:
        raise field_error("name", "give a name of at most 255 characters")
    storable_field("name", name)


def add_official(
    session: Session, actor: str, email: str, name: str, role: str, agency_code: str | None
) -> Official:
    email, name = _checked_address(email), composed(name.strip())
    _check_name(name)
    if role not in OFFICIAL_ROLES:
        raise field_error("role", f"one of {', '.join(OFFICIAL_ROLES)}, not '{role}'")
    _check_role_reach(role, agency_code)
    _ensure_address_free(session, email)
    agency_id = None
    if agency_code is not None:
        agency = session.exec(select(Agency).where(Agency.code == agency_code)).first()
        if agency is None:
            raise NotFound(f"No agency has the code '{agency_code}'.")
        agency_id = agency.id
    official = Official(email=email, name=name or email, role=role, agency_id=agency_id)
    session.add(official)
    session.flush()
    record(
        session,
        actor,
        "official.add",
        f"official:{official.id}",
        {"to": {"email": email, "role": role, "agency": agency_code}},
    )
    return official


def _check_role_reach(role: str, agency_code: str | None) -> None:
    """An auditor limited to an agency could read nothing, and signed in to a page refusing
    them (audit): EVERY_AGENCY_ROLES."""
    if role in EVERY_AGENCY_ROLES and agency_code is not None:
        raise field_error("agency_code", f"{EVERY_AGENCY_ROLES[role]}: leave the agency out")


def list_officials(session: Session) -> Sequence[Official]:
    return session.exec(select(Official).order_by(col(Official.id))).all()


def end_official_sessions(session: Session, official_id: int) -> None:
    """Ends every open console session of the official on the server."""
    session.execute(
        update(ConsoleSessionRecord)
        .where(
            col(ConsoleSessionRecord.official_id) == official_id,
            col(ConsoleSessionRecord.ended_at).is_(None),
        )
        .values(ended_at=utcnow()),
        execution_options={"synchronize_session": False},
    )


def disable_official(session: Session, actor: str, official_id: int) -> Official:
    """Refuses the official's next request, in every session (sessions re-read the row).
    Disabling a disabled official changes nothing (the caller can tell by its
    `disabled_by`, `disabled_at`): the API answers with the official as they are."""
    official = session.get(Official, official_id)
    if official is None:
        raise NotFound(f"No official has the id {official_id}.")
    if official.disabled_at is None:
        official.disabled_at, official.disabled_by = utcnow(), actor
        session.add(official)
        # Ended, not only refused: enabled again, the official signs in afresh, and a copy
        # of an old cookie (the stolen laptop the disabling was for) stays dead (audit).
        end_official_sessions(session, official_id)
        record(session, actor, "official.disable", f"official:{official_id}", {"to": "disabled"})
    return official


@dataclass(frozen=True)
class OfficialChange:
    """What an update sets; a field left None keeps its value. `agency_code` is read only
    when `set_agency` (None then: every agency)."""

    name: str | None = None
    # A mailbox renamed at the province's provider (a new name, a merged domain): the
    # official signed in by address was refused as unknown, and could only be added anew,
    # their history under another id (operations audit). The bound subject stays.
    email: str | None = None
    role: str | None = None
    set_agency: bool = False
    agency_code: str | None = None
    enabled: bool | None = None
    # Releases the provider account bound at the first sign-in: a mailbox handed to a
    # successor (another account at the provider) was refused for good ("another account").
    unbind_subject: bool = False


def update_official(
    session: Session, actor: str, official_id: int, change: OfficialChange
) -> Official:
    """Change an official's name, role or agency, or enable them again: an official who
    moves to another ward or role keeps their account (and its bound subject). Sessions
    re-read the row, so the change holds at their next request."""
    official = session.get(Official, official_id)
    if official is None:
        raise NotFound(f"No official has the id {official_id}.")
    before = _described(session, official)
    if change.email is not None:  # checked before it is set (autoflush; review)
        email = _checked_address(change.email)
        _ensure_address_free(session, email, official_id)
        official.email = email
    if change.name is not None:
        name = composed(change.name.strip())
        _check_name(name)
        official.name = name or official.email
    if change.role is not None:
        if change.role not in OFFICIAL_ROLES:
            raise field_error("role", f"one of {', '.join(OFFICIAL_ROLES)}, not '{change.role}'")
        official.role = change.role
    if change.set_agency:
        official.agency_id = None
        if change.agency_code is not None:
            agency = session.exec(select(Agency).where(Agency.code == change.agency_code)).first()
            if agency is None:
                raise NotFound(f"No agency has the code '{change.agency_code}'.")
            official.agency_id = agency.id
    if (change.role is not None or change.set_agency) and official.agency_id is not None:
        # Checked on what the change makes: an auditor given an agency before the rule can
        # still be renamed or disabled (review), and made whole with --every-agency.
        agency = session.get(Agency, official.agency_id)
        _check_role_reach(official.role, agency.code if agency is not None else None)
    if change.enabled is True:
        official.disabled_at, official.disabled_by = None, None
    elif change.enabled is False and official.disabled_at is None:
        official.disabled_at, official.disabled_by = utcnow(), actor
        end_official_sessions(session, official_id)  # as disable_official, for the same reason
    if change.unbind_subject and official.subject is not None:
        official.subject = None
        # The account it was bound to is no longer theirs: its sessions end too.
        end_official_sessions(session, official_id)
    after = _described(session, official)
    if after != before:
        session.add(official)
        changed = [k for k in after if after[k] != before[k]]
        record(
            session,
            actor,
            "official.update",
            f"official:{official_id}",
            {"from": {k: before[k] for k in changed}, "to": {k: after[k] for k in changed}},
        )
    return official


def _checked_address(email: str) -> str:
    """`email` as an official's address is kept, or a field error."""
    email = normalise_email(email)
    if len(email) > 255:
        raise field_error("email", "give an address of at most 255 characters")
    if not _storable_email(email) or not _an_address(email):
        raise field_error("email", f"'{email}' is not an e-mail address")
    return email


def _ensure_address_free(session: Session, email: str, official_id: int | None = None) -> None:
    """Conflict when another official than `official_id` has `email`."""
    holder = session.exec(select(Official.id).where(Official.email == email)).first()
    if holder is not None and holder != official_id:
        raise Conflict(f"An official with the e-mail '{email}' exists already.")


def _described(session: Session, official: Official) -> dict[str, object]:
    agency = session.get(Agency, official.agency_id) if official.agency_id is not None else None
    return {
        "email": official.email,
        "name": official.name,
        "role": official.role,
        "agency": agency.code if agency is not None else None,
        "enabled": official.disabled_at is None,
        "subject_bound": official.subject is not None,
    }


@dataclass(frozen=True)
class OfficialRow:
    official: Official
    agency_code: str | None  # the scope; None: every agency


def official_row(session: Session, official: Official) -> OfficialRow:
    agency = session.get(Agency, official.agency_id) if official.agency_id is not None else None
    return OfficialRow(official, agency.code if agency is not None else None)


def official_rows(session: Session, principal: Principal) -> list[OfficialRow]:
    """The officials by id, with their agency's code; for a principal limited to an agency,
    only the officials within its tree (as `keys.list_keys`)."""
    query = (
        select(Official, Agency.code)
        .join(Agency, Official.agency_id == Agency.id, isouter=True)  # type: ignore[arg-type]
        .order_by(col(Official.id))
    )
    if principal.scope_path is not None:
        query = query.where(path_within(col(Agency.path), principal.scope_path))
    return [OfficialRow(official, code) for official, code in session.exec(query).all()]


def _require_reach(principal: Principal, agency: Agency | None) -> None:
    """A principal limited to an agency manages only officials within that agency's tree;
    an official of every agency (`agency` None) is beyond it."""
    if principal.scope_path is None:
        return
    if agency is None:
        raise Forbidden(
            "Your key is limited to part of the agency tree; officials of every agency are "
            "managed with a key that is not limited to an agency."
        )
    principal.require_scope(agency)


def add_official_as(
    session: Session,
    principal: Principal,
    email: str,
    name: str,
    role: str,
    agency_code: str | None,
) -> Official:
    """`add_official` by an API caller: within the caller's agency tree (403 outside it)."""
    if principal.scope_path is not None:
        agency = None
        if agency_code is not None:
            agency = session.exec(select(Agency).where(Agency.code == agency_code)).first()
        if agency_code is None or agency is not None:  # an unknown code: add_official's 404
            _require_reach(principal, agency)
    try:
        with session.begin_nested():
            return add_official(session, principal.actor, email, name, role, agency_code)
    except IntegrityError:
        # Added by another request between the check and the insert.
        raise Conflict(
            f"An official with the e-mail '{normalise_email(email)}' exists already."
        ) from None


def update_official_as(
    session: Session, principal: Principal, official_id: int, change: OfficialChange
) -> Official:
    """`update_official` by an API caller: the official, and the agency they move to,
    within the caller's agency tree (an official beyond it is answered as missing)."""
    official = session.get(Official, official_id)
    if official is not None and principal.scope_path is not None:
        agency = session.get(Agency, official.agency_id) if official.agency_id is not None else None
        principal.require_visible(agency, f"No official has the id {official_id}.")
        if change.set_agency:
            target = None
            if change.agency_code is not None:
                target = session.exec(
                    select(Agency).where(Agency.code == change.agency_code)
                ).first()
            if change.agency_code is None or target is not None:  # unknown: update's 404
                _require_reach(principal, target)
    return update_official(session, principal.actor, official_id, change)


def disable_official_as(session: Session, principal: Principal, official_id: int) -> Official:
    """`disable_official` by an API caller: within the caller's agency tree (an official
    beyond it, or of every agency, is answered as missing)."""
    official = session.get(Official, official_id)
    if official is not None and principal.scope_path is not None:
        agency = session.get(Agency, official.agency_id) if official.agency_id is not None else None
        principal.require_visible(agency, f"No official has the id {official_id}.")
    return disable_official(session, principal.actor, official_id)


def _said_verified(claim: object) -> bool | None:
    """The provider's word on the address: True, False ("false", "FALSE", "0", "no": some
    send the boolean as a string, and all but "false" and "False" passed; audit), or None
    when it says nothing (Microsoft Entra ID sends no such claim)."""
    if claim is None:
        return None
    if isinstance(claim, str):
        return claim.strip().lower() == "true"
    return claim is True


def official_for_claims(
    session: Session, claims: Mapping[str, Any], require_verified: bool = True
) -> Official:
    """The official an ID token's claims name, or NotAnOfficial with the reason. An address
    the provider calls unverified is refused. One it says nothing about is refused where it
    would bind the provider's account to the official (OpenID Connect Core 5.7: only a
    verified address may be relied on), unless `require_verified` is off for a provider
    that never says (HAILONG_OIDC_REQUIRE_EMAIL_VERIFIED): an official bound already is
    known by the account (`sub`), not the address."""
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        raise NotAnOfficial("no_email", None)
    email = normalise_email(email)
    if not _storable_email(email):
        raise NotAnOfficial("no_email", None)  # no official has it: not kept, not shown
    verified = _said_verified(claims.get("email_verified"))
    if verified is False:
        raise NotAnOfficial("email_unverified", email)
    # Locked: two provider accounts with this address signing in at once both found it
    # unbound, both were let in, and the later commit bound the row to its account
    # (operations audit). The second now waits, and finds it bound to the first.
    official = session.exec(db.for_update(select(Official).where(Official.email == email))).first()
    if official is None:
        raise NotAnOfficial("unknown", email)
    if official.disabled_at is not None:
        raise NotAnOfficial("disabled", email)
    subject = claims.get("sub")
    # OpenID Connect: at most 255 ASCII characters; the column holds no more. Not held to
    # ASCII here (a provider's own subjects, bound already, would stop signing in), only to
    # what the column can store (a lone surrogate was a 500 at the driver).
    if not isinstance(subject, str) or not 1 <= len(subject) <= 255 or not is_storable(subject):
        raise NotAnOfficial("bad_subject", email)
    if official.subject is None:
        if verified is None and require_verified:
            raise NotAnOfficial("email_unverified", email)
        official.subject = subject
    elif official.subject != subject:
        raise NotAnOfficial("other_subject", email)
    official.last_sign_in_at = utcnow()
    session.add(official)
    return official


def official_principal(session: Session, official_id: int) -> Principal | None:
    """The official as a Principal, or None when they are gone or disabled."""
    official = session.get(Official, official_id)
    if official is None or official.disabled_at is not None:
        return None
    scope_path = None
    if official.agency_id is not None:
        agency = session.get(Agency, official.agency_id)
        assert agency is not None
        scope_path = agency.path
    return Principal(
        key_id=None,
        official_id=official.id,
        name=official.email,
        official_name=official.name,
        role=official.role,
        scope_agency_id=official.agency_id,
        scope_path=scope_path,
    )
