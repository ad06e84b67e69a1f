"""A report for one parent agency and period, in the format asked: what the API, the console
and the CLI all call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlmodel import Session

from service.admin.agencies import get_agency_by_code
from service.auth.principal import Principal
from service.errors import NotFound
from service.periods import Period, refuse_unbegun
from service.profile import Profile
from service.reports import layout
from service.reports.data import Report, gather
from service.reports.docx import render_docx
from service.reports.pdf import render_pdf

Format = Literal["docx", "pdf"]
FORMATS: tuple[Format, ...] = ("docx", "pdf")
CONTENT_TYPES: dict[Format, str] = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    content_type: str
    file_name: str


def gather_for(
    session: Session,
    parent_code: str,
    period: Period,
    profile: Profile,
    principal: Principal | None = None,
    today: date | None = None,
) -> Report:
    """The figures, read in one transaction. `principal`: the key or official asking (None:
    the CLI, which sees everything). The report names every child of the parent, so asking
    needs the parent in scope."""
    parent = get_agency_by_code(session, parent_code)
    if parent is None:
        raise NotFound(f"No agency has the code '{parent_code}'.")
    if principal is not None:
        principal.require_scope(parent)
    # A document an office signs and files: for a quarter still to come it read as one
    # with no data ("4 units lack data", "E is entered at the period's end"; audit).
    refuse_unbegun(period, "a report is of the current or a past period")
    return gather(session, parent, period, profile, today)


def render(report: Report, fmt: Format) -> ReportFile:
    """The file, drawn outside the transaction (charts and fonts take a moment)."""
    content = render_docx(report) if fmt == "docx" else render_pdf(report)
    return ReportFile(content, CONTENT_TYPES[fmt], layout.file_name(report, fmt))


def download_headers(report_file: ReportFile) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{report_file.file_name}"',
        "Cache-Control": "private, no-store",
    }
