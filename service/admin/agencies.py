"""The agency tree: adding, importing, listing, and scope checks."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from service.audit import record
from service.auth.principal import Principal
from service.csv_cells import other_separator, unreadable_record
from service.db import exclusive
from service.errors import Conflict, InvalidInput, NotFound, field_error, storable_field
from service.models import Agency, AgencyDayCounter, Dossier, OutboxEvent, ScoreRankAnnounced
from service.models.agency import AGENCY_PATH_MAX, path_within
from service.score_markers import dirty_periods, mark_periods_dirty
from service.text_clean import composed, one_line

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def path_for(code: str, parent: Agency | None, below: int = 0) -> str:
    """The agency's path under `parent`; refused when it, or the longest path `below` it
    (that many characters more, for a move), would not fit the column."""
    path = f"{parent.path if parent else '/'}{code}/"
    if len(path) + below > AGENCY_PATH_MAX:
        raise field_error(
            "parent_code",
            f"the tree would be too deep there: the path of codes from the root to "
            f"'{code}' and below would pass {AGENCY_PATH_MAX} characters",
        )
    return path


def parent_code_of(agency: Agency) -> str | None:
    codes = agency.path.strip("/").split("/")
    return codes[-2] if len(codes) > 1 else None


def get_agency_by_code(session: Session, code: str) -> Agency | None:
    return session.exec(select(Agency).where(Agency.code == code)).first()


def validate_code(code: str, field: str = "code") -> str:
    code = code.strip()
    if not CODE_PATTERN.match(code):
        raise field_error(
            field, "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return code


# "hailongt": one change of the tree at a time. Two moves side by side each checked for a
# loop on a tree the other was changing (A under B and B under A both went through), and a
# child added under an agency being moved kept the old path, outside every scope above it.
TREE_LOCK = 0x6861696C6F6E6774


def keep_places_of_waiting_events(session: Session, moving_path: str) -> None:
    """The events not fanned out yet of the agencies at or below `moving_path`, about to
    move, keep where each agency stands now: the ids of it and its ancestors, "/1/5/17/"
    (outbox_event.agency_ancestry). An event belongs to the portals of the tree it happened
    in (delivery/fan_out.py, dispatch_events), by agency, not by path: a portal whose agency
    moved with it (the ward's own, or its district's) is still one of them. Run before the
    paths change; an event a fan-out has taken meanwhile was matched on these same paths."""
    waiting = session.exec(
        select(Agency.id, Agency.path).where(
            path_within(col(Agency.path), moving_path),
            col(Agency.id).in_(
                select(OutboxEvent.agency_id).where(
                    col(OutboxEvent.dispatched_at).is_(None),
                    col(OutboxEvent.agency_ancestry).is_(None),
                )
            ),
        )
    ).all()
    if not waiting:
        return
    codes = {code for _, path in waiting for code in path.strip("/").split("/")}
    named = select(Agency.code, Agency.id).where(col(Agency.code).in_(codes))
    id_of = dict(session.exec(named).all())
    rows = [
        {
            "agency": agency_id,
            "ancestry": "/" + "".join(f"{id_of[code]}/" for code in path.strip("/").split("/")),
        }
        for agency_id, path in waiting
    ]
    event = OutboxEvent.__table__  # type: ignore[attr-defined]
    session.connection().execute(  # Core: one statement, executed for each agency's row
        update(event)
        .where(
            event.c.agency_id == bindparam("agency"),
            event.c.dispatched_at.is_(None),
            event.c.agency_ancestry.is_(None),
        )
        .values(agency_ancestry=bindparam("ancestry")),
        rows,
    )


def _move_subtree(session: Session, agency: Agency, new_parent: Agency | None) -> int:
    """Move `agency` and everything below it under `new_parent`; returns how many agencies
    moved with it."""
    if new_parent is not None and new_parent.is_within(agency.path):
        raise field_error(
            "parent_code", f"'{new_parent.code}' lies under '{agency.code}': that makes a loop"
        )
    _mark_families_to_rank(session, agency, new_parent)
    old_path = agency.path
    descendants = session.exec(
        select(Agency).where(path_within(col(Agency.path), old_path), Agency.id != agency.id)
    ).all()
    below = max((len(child.path) - len(old_path) for child in descendants), default=0)
    new_path = path_for(agency.code, new_parent, below)
    level_shift = (new_parent.level + 1 if new_parent else 0) - agency.level
    for child in descendants:
        child.path = new_path + child.path.removeprefix(old_path)
        child.level += level_shift
        session.add(child)
    agency.parent_id = new_parent.id if new_parent else None
    agency.path = new_path
    agency.level += level_shift
    return len(descendants)


def _mark_scores_renamed(session: Session, agency: Agency) -> None:
    """A score carries its agency's name: a renamed agency's scores are marked changed, so
    that subscribers get them under the new name (they kept the old one until the next
    answer moved the score). Every period it has counted anything in: a rename is rare,
    and a portal keeps past periods too."""
    assert agency.id is not None
    days = session.exec(
        select(col(AgencyDayCounter.day)).where(AgencyDayCounter.agency_id == agency.id).distinct()
    ).all()
    mark_periods_dirty(session, dirty_periods((agency.id, day) for day in days))


def _mark_families_to_rank(session: Session, agency: Agency, new_parent: Agency | None) -> None:
    """Before `agency` leaves its parent: mark it, and one sibling it leaves, changed for
    each period with a rank announced in the family it leaves or the one it joins, so that
    the fan-out ranks the family it joins (its own, once moved) and the one it leaves (the
    sibling's) and tells the siblings whose rank the move changed
    (service/delivery/fan_out.ranked_anew ranks only the families of marked agencies;
    nothing was marked, and subscribers kept the old ranks; review). The family joined
    counts too: an agency whose old family was never announced moved the ranks of the one
    it joined unsaid (review)."""
    assert agency.id is not None

    def children_of(parent_id: int | None) -> set[int]:
        same = (
            col(Agency.parent_id).is_(None)
            if parent_id is None
            else (col(Agency.parent_id) == parent_id)
        )
        return {a for a in session.exec(select(Agency.id).where(same)).all() if a is not None}

    family = children_of(agency.parent_id)
    joined = children_of(new_parent.id if new_parent else None)
    periods = session.exec(
        select(ScoreRankAnnounced.period)
        .where(
            col(ScoreRankAnnounced.agency_id).in_(family | joined | {agency.id}),
            col(ScoreRankAnnounced.rank).is_not(None),
        )
        .distinct()
    ).all()
    if not periods:
        return  # no rank announced there: the fan-out has nothing to correct
    marked = [agency.id, *sorted(a for a in family if a != agency.id)[:1]]
    mark_periods_dirty(session, [(a, p) for a in marked for p in periods])


def upsert_agency(
    session: Session,
    code: str,
    name: str,
    parent_code: str | None,
    *,
    actor: str,
    keep_parent: bool = False,
) -> tuple[Agency, bool]:
    """Create the agency, or update its name and parent. Returns (agency, created).

    `parent_code` None makes it a root, unless `keep_parent`: then an existing agency stays
    where it is (a rename must not move a ward to the top of the tree, out of every scope
    above it)."""
    agency, outcome = _upsert(
        session, code, name, parent_code, actor=actor, keep_parent=keep_parent
    )
    return agency, outcome == "created"


def _upsert(
    session: Session,
    code: str,
    name: str,
    parent_code: str | None,
    *,
    actor: str,
    keep_parent: bool,
) -> tuple[Agency, Literal["created", "moved", "updated", "unchanged"]]:
    """upsert_agency, saying whether the agency was created, moved to another parent (with
    its subtree), updated, or left as it was."""
    code = validate_code(code)
    storable_field("name", name)  # shown on pages, badges, e-mail subjects and documents
    # A name is one line wherever it is shown: a line break typed in a spreadsheet cell
    # (Alt+Enter) made the parent's report a 500 (its chart cannot measure two lines), so
    # line breaks, tabs and runs of spaces are one space.
    name = composed(one_line(name))
    if not name or len(name) > 255:
        raise field_error("name", "give a name of 1 to 255 characters")
    exclusive(session, TREE_LOCK, Agency.__tablename__)
    parent = None
    if parent_code:
        parent = get_agency_by_code(session, parent_code.strip())
        if parent is None:
            raise field_error("parent_code", f"no agency has the code '{parent_code}'")
    agency = get_agency_by_code(session, code)
    if agency is None:
        agency = Agency(
            code=code,
            name=name,
            parent_id=parent.id if parent else None,
            level=parent.level + 1 if parent else 0,
            path=path_for(code, parent),
        )
        session.add(agency)
        session.flush()
        record(
            session,
            actor,
            "agency.create",
            f"agency:{code}",
            {"name": name, "parent_code": parent.code if parent else None},
        )
        return agency, "created"
    before = {"name": agency.name, "parent_code": parent_code_of(agency)}
    if keep_parent and parent is None:
        after = {"name": name, "parent_code": before["parent_code"]}
    else:
        after = {"name": name, "parent_code": parent.code if parent else None}
    if after == before:
        return agency, "unchanged"  # nothing to record
    if name != agency.name:
        _mark_scores_renamed(session, agency)
    agency.name = name
    moves = after["parent_code"] != before["parent_code"]
    if moves:
        keep_places_of_waiting_events(session, agency.path)
    descendants = _move_subtree(session, agency, parent) if moves else 0
    session.add(agency)
    session.flush()
    detail: dict[str, Any] = {"from": before, "to": after}
    if descendants:
        detail["descendants_moved"] = descendants
    record(session, actor, "agency.update", f"agency:{code}", detail)
    return agency, "moved" if moves else "updated"


@dataclass
class ImportResult:
    created: int
    updated: int  # the moved ones among them
    moved: int = 0  # given another parent by the file (each with its subtree)
    # Rows that changed nothing: a file imported again said "4 updated" where nothing was,
    # and no audit record said what (a stranger's README walkthrough).
    unchanged: int = 0


def _blank(value: str | None) -> bool:
    """A cell with nothing in it (None: past the end of a short row)."""
    return value is None or not value.strip()


# A record by the header's names, as csv.DictReader makes it: None holds the values past
# the header.
Record = dict[str | None, Any]


def _csv_records(text: str) -> tuple[list[str], list[tuple[int, Record]]]:
    """The header and the records, each with its line in the file; a line the CSV reader
    cannot read (a cell over its field limit, a stray quote) is a field error naming the
    line, not a traceback (audit). Records with nothing in them are left out: a sheet whose
    formatting runs past its last row is saved by Excel with rows of commas (",,"), and the
    whole file was refused over them, where `hailong import` ignores them (audit)."""
    # Strict: an unclosed quote swallowed the rest of the file into one cell, without an
    # error ("79.Q2,\"Quận 2,79" made a top-level agency named 'Quận 2,79': audit). A plain
    # reader, as `hailong import`'s: a DictReader skips blank lines inside its own step, and
    # a refused record was named by a blank line before it (review).
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), strict=True)
    header: list[str] | None = None
    records: list[tuple[int, Record]] = []
    began = 1  # the line the next record begins on
    try:
        for row in reader:
            if header is None:
                # A header typed "code, name, parent_code" (a space after each comma) was
                # refused as missing name and parent_code (audit): names count unspaced.
                header = [name.strip() for name in row]
                # A sheet's header often runs on into empty (formatted) cells: they name no
                # column, so a value under one is past the header (`hailong import`'s rule).
                while header and not header[-1]:
                    header.pop()
            elif not all(_blank(v) for v in row):
                records.append((began, _record(header, row)))
            began = reader.line_num + 1
    except csv.Error as exc:
        problem = unreadable_record(exc, began, reader.line_num)
        where, _, why = problem.partition(" cannot be read as CSV ")
        raise field_error(where, f"cannot be read as CSV {why}") from None
    return header or [], records


def _record(header: list[str], row: list[str]) -> Record:
    """A row by the header's names, as csv.DictReader makes it: a name without a value
    None, values past the header under None."""
    record: Record = {name: None for name in header}
    record.update(zip(header, row, strict=False))  # a short row: the rest stay None
    if len(row) > len(header):
        record[None] = row[len(header) :]
    return record


def _past_header(header: list[str], beyond: list[str]) -> str | None:
    """What is wrong with a record holding a value past the header's last column, else
    None. Such a value was dropped without a word: an unquoted comma inside a name
    ("79.BTH,Phường Bến Thành, Quận 1,79") split it, the rest of the name became the parent
    code and the real one was lost (review)."""
    first = next((i for i, value in enumerate(beyond) if not _blank(value)), None)
    if first is None:
        return None  # empty cells past the header: Excel writes them for formatted columns
    from openpyxl.utils import get_column_letter  # lazily: only a refused file needs it

    column, last = len(header) + first + 1, len(header)
    return (
        f"has a value in column {get_column_letter(column)} ({column}), past the header's "
        f"last column ({get_column_letter(last)}, {header[-1]}): a cell holding a comma "
        'must be in quotes ("Phường 1, Quận 3"), else the comma splits it and its values '
        "shift into the next columns; quote that cell or remove the value"
    )


def import_agencies_csv(session: Session, text: str, *, actor: str) -> ImportResult:
    """Import `code,name,parent_code` rows; parents may come after their children.

    A blank parent_code makes a new agency top-level and leaves an existing one where it
    is, as `hailong agencies add` without --parent does: a sheet of renames with the
    column left empty moved each ward, with its subtree, to the top of the tree, out of
    every scope above it (audit)."""
    header, records = _csv_records(text)
    if (separated := other_separator(header)) is not None:  # `hailong import`'s check
        raise field_error("header", separated)
    missing = {"code", "name", "parent_code"} - set(header)
    if missing:
        raise field_error(
            "header",
            f"the CSV needs the columns code, name, parent_code; "
            f"missing: {', '.join(sorted(missing))}",
        )
    rows = []
    first_line: dict[str, int] = {}
    for line_no, row in records:
        if (beyond := _past_header(header, row.get(None) or [])) is not None:
            raise field_error(f"line {line_no}", beyond)
        code = (row.get("code") or "").strip()
        try:
            validate_code(code)
        except InvalidInput as exc:
            raise field_error(f"line {line_no}: code", exc.fields[0]["problem"]) from None
        # Both lines were applied, the one waiting for a parent last: the first line, not
        # the last, decided the agency's name and place, and nothing said so (imports audit).
        if (earlier := first_line.setdefault(code, line_no)) != line_no:
            raise field_error(
                f"line {line_no}: code",
                f"'{code}' is on line {earlier} too: list each agency once",
            )
        rows.append(
            (
                line_no,
                code,
                (row.get("name") or "").strip(),
                (row.get("parent_code") or "").strip() or None,
            )
        )
    known = {code for _, code, _, _ in rows}
    pending, created, updated, moved, unchanged = rows, 0, 0, 0, 0
    while pending:
        waiting = []
        for line_no, code, name, parent_code in pending:
            if (
                parent_code
                and parent_code in known
                and get_agency_by_code(session, parent_code) is None
            ):
                waiting.append((line_no, code, name, parent_code))
                continue
            try:
                _, outcome = _upsert(
                    session, code, name, parent_code, actor=actor, keep_parent=True
                )
            except InvalidInput as exc:
                problem = exc.fields[0]
                raise field_error(
                    f"line {line_no}: {problem['field']}", problem["problem"]
                ) from None
            created += outcome == "created"
            updated += outcome in ("updated", "moved")
            moved += outcome == "moved"
            unchanged += outcome == "unchanged"
        if len(waiting) == len(pending):
            line_no, code, _, parent_code = waiting[0]
            raise field_error(
                f"line {line_no}: parent_code",
                f"'{parent_code}' of '{code}' is never created (a loop between rows?)",
            )
        pending = waiting
    return ImportResult(created=created, updated=updated, moved=moved, unchanged=unchanged)


def paths_by_id(session: Session, agency_ids: set[int]) -> dict[int, str]:
    """The agencies' paths as they are now (a cached Agency may carry one from before a
    move)."""
    if not agency_ids:
        return {}
    rows = session.exec(select(Agency.id, Agency.path).where(col(Agency.id).in_(agency_ids))).all()
    return {agency_id: path for agency_id, path in rows if agency_id is not None}


def agencies_in_order(session: Session, agency_ids: list[int]) -> list[Agency]:
    """The agencies of `agency_ids`, in that order (chosen_agencies': a parent's children by
    code, which their paths do not keep: G22 after G22.39, '.' sorts before '/'; reports and
    reach audits); ids of agencies gone meanwhile are left out."""
    query = select(Agency).where(col(Agency.id).in_(agency_ids))
    by_id = {agency.id: agency for agency in session.exec(query)}
    return [by_id[i] for i in agency_ids if i in by_id]


def visible_children(session: Session, principal: Principal, parent_code: str) -> list[Agency]:
    """A parent's children the caller can see (a ranking's): the parent need not be
    visible itself."""
    parent = get_agency_by_code(session, parent_code)
    if parent is None:
        raise NotFound(f"No agency has the code '{parent_code}'.")
    found = session.exec(select(Agency).where(Agency.parent_id == parent.id)).all()
    return [agency for agency in found if principal.can_see(agency)]


def list_agencies(session: Session, scope_path: str | None) -> list[Agency]:
    query = select(Agency).order_by(col(Agency.path))
    if scope_path is not None:
        query = query.where(path_within(col(Agency.path), scope_path))
    return list(session.exec(query).all())


def visible_agency(session: Session, principal: Principal, code: str) -> Agency:
    """The agency with this code, if the caller's scope covers it (404, else 403)."""
    agency = get_agency_by_code(session, code)
    if agency is None:
        raise NotFound(f"No agency has the code '{code}'.")
    principal.require_scope(agency)
    return agency


def visible_dossier(
    session: Session,
    principal: Principal,
    dossier_code: str,
    agency_code: str | None,
    missing: str,
    purpose: str,
) -> tuple[Dossier, Agency]:
    """The dossier with this code among those the key can see (and of `agency_code`, when
    given). Codes are unique per agency: one outside the key's scope is `missing` (404), as
    if it did not exist; two visible ones need `agency_code` to say which (409, naming
    `purpose`)."""
    query = (
        select(Dossier, Agency)
        .join(Agency, col(Agency.id) == col(Dossier.agency_id))
        .where(Dossier.code == dossier_code)
    )
    if principal.scope_path is not None:
        query = query.where(path_within(col(Agency.path), principal.scope_path))
    if agency_code is not None:
        query = query.where(Agency.code == agency_code)
    found = session.exec(query.limit(2)).all()
    if not found:
        where = f" of agency '{agency_code}'" if agency_code is not None else ""
        raise NotFound(f"{missing}{where}.")
    if len(found) > 1:
        raise Conflict(
            f"Several agencies you can act for have a dossier '{dossier_code}'; add "
            f"'?agency_code=<agency code>' to say {purpose}."
        )
    dossier, agency = found[0]
    principal.require_scope(agency)
    return dossier, agency


def chosen_agencies(
    session: Session, principal: Principal, agency_code: str | None, parent_code: str | None
) -> list[Agency]:
    """What a read about agencies covers: one agency, a parent's children, or every agency
    the caller can see (scores, response rates, their exports). Both named, both filter:
    the agency if it is the parent's child (the parent was ignored; contract audit). An
    empty code is refused: `?agency_code=` read as "every agency" gave a portal that lost
    its value a whole province's scores where it asked for one agency's. The parent is a
    filter, as on the rankings (visible_children): a ward's key asking for its district's
    children gets itself, where it got a 403 for the parent it cannot see (scope audit)."""
    for name, code in (("agency_code", agency_code), ("parent_code", parent_code)):
        if code is not None and not code.strip():
            raise field_error(name, "give an agency's code, or leave it out for every agency")
    if parent_code:
        children = visible_children(session, principal, parent_code)
        if agency_code:
            agency = visible_agency(session, principal, agency_code)
            return [agency] if agency in children else []
        return sorted(children, key=lambda child: child.code)
    if agency_code:
        return [visible_agency(session, principal, agency_code)]
    return list_agencies(session, principal.scope_path)
