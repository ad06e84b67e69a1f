"""Answers sent as JSON (the responses API, kiosks): checked against the questionnaire,
with every problem named by its JSON field."""

from __future__ import annotations

from service.errors import InvalidInput
from service.profile import Channel, Profile
from service.surveys.answers import Answers, check_answers
from service.surveys.schemas import AnswersIn


def _json_field(name: str) -> str:
    """The JSON field a problem of check_answers is named by. The consent box's is the
    contact's: the API has always named "contact" for a contact sent without consent, and
    its clients read that."""
    return "contact" if name in ("contact", "consent") else f"answers.{name}"


def checked_json_answers(
    profile: Profile,
    given: AnswersIn,
    channel: Channel,
    contact: str | None = None,
    consent: bool = False,
    language: str | None = None,
) -> Answers:
    """The clean answers, or a 422 listing each missing or invalid one."""
    checked = check_answers(
        profile,
        {
            "timeliness": given.timeliness,
            "supplement_requests": given.supplement_requests,
            "staff_attitude": given.staff_attitude,
            "overall": given.overall,
            "agencies_contacted": given.agencies_contacted,
        },
        given.complaint,
        contact,
        consent,
        lang="en",
        channel=channel,
        wants_reply=given.wants_reply,
        answered_in=language,
    )
    if checked.problems:
        fields = [
            {"field": _json_field(name), "problem": problem}
            for name, problem in checked.problems.items()
        ]
        raise InvalidInput(
            "Some answers are missing or invalid: "
            + "; ".join(f"{f['field']}: {f['problem']}" for f in fields),
            fields,
        )
    return checked.answers
