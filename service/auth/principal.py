"""The caller behind a valid key, as the rest of the service sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.errors import Forbidden, NotFound
from service.models import Agency
from service.models.base import ACTOR_MAX


@dataclass(frozen=True)
class Principal:
    """An API key (`key_id`) or, in the console, an official signed in through the
    province's identity provider (`official_id`, `key_id` None; service/auth/officials.py)."""

    key_id: int | None
    name: str
    role: str
    scope_agency_id: int | None
    scope_path: str | None  # materialised path of the scope agency, if any
    expires_at: datetime | None = None  # the key cache forgets the key by then
    official_id: int | None = None
    # The CLI's own work (the demo, a bulk import): recorded as this actor, "cli:import";
    # with no key nor official it read "key:None:import", a key that never existed.
    cli_actor: str | None = None
    # An official's name: what they enter is signed with it where other agencies read it.
    official_name: str | None = None

    @classmethod
    def of_cli(cls, actor: str) -> Principal:
        """An admin's reach, for work the CLI does itself, recorded as `actor`."""
        return cls(None, actor, "admin", None, None, cli_actor=actor)

    @property
    def actor(self) -> str:
        if self.cli_actor is not None:
            return self.cli_actor
        if self.official_id is not None:
            return f"official:{self.official_id}:{self.name}"[:ACTOR_MAX]
        return f"key:{self.key_id}:{self.name}"[:ACTOR_MAX]

    @property
    def signature(self) -> str:
        """Who entered a value, as a Score tells it (`inputs.*.set_by`): the actor, but an
        official by their name, not the mailbox the audit log keeps. Scores go to the
        agency's reader keys and portals, which the officials API does not show an official
        of another agency: a province's official entering a ward's D and E handed their
        e-mail address to the ward's portal (scope audit)."""
        if self.official_id is not None and self.cli_actor is None:
            name = self.official_name or ""
            if not name.strip() or "@" in name:  # added without a name: their mailbox
                name = f"Cán bộ #{self.official_id}"
            return f"official:{self.official_id}:{name}"[:ACTOR_MAX]
        return self.actor

    def require_role(self, *roles: str) -> None:
        if self.role not in roles:
            allowed = " or ".join(roles)
            raise Forbidden(f"This needs a key with the role {allowed}; yours is '{self.role}'.")

    def require_unscoped(self, what: str) -> None:
        """For what covers every agency (the calendar, the audit log): refused to a key
        limited to one part of the tree."""
        if self.scope_path is not None:
            raise Forbidden(
                f"{what} covers every agency: it needs a key that is not limited to an agency."
            )

    def can_see(self, agency: Agency) -> bool:
        return self.scope_path is None or agency.is_within(self.scope_path)

    def placed_above(self, agency: Agency) -> bool:
        """Whether this key's scope lies strictly above the agency (unscoped: above every
        one): where the competent authority's keys, the national petition connector's and
        an import's sit. A key limited to the agency itself is the agency's own."""
        return self.scope_path is None or (
            agency.path != self.scope_path and agency.is_within(self.scope_path)
        )

    def require_visible(self, agency: Agency | None, missing: str) -> None:
        """For a record found by its id or code: one of an agency beyond this key's part of
        the tree is answered as missing (NotFound with `missing`), so that a 403 naming its
        agency tells nothing of what exists there."""
        if agency is None or not self.can_see(agency):
            raise NotFound(missing)

    def require_scope(self, agency: Agency) -> None:
        if not self.can_see(agency):
            raise Forbidden(
                f"Your key is limited to another part of the agency tree and cannot act "
                f"for agency '{agency.code}'."
            )
