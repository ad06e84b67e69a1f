"""Checking a citizen's answers against the scoring profile's questionnaire."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.profile import Channel, Profile
from service.surveys.contact import clean_contact, contact_problem
from service.text_clean import composed, is_storable, strip_bidi_controls, textarea_text

MAX_CONTACT_CHARS = 255


@dataclass
class Answers:
    choices: dict[str, str] = field(default_factory=dict)
    complaint: str | None = None
    contact: str | None = None  # kept only when the citizen consented
    # The citizen wants the agency to answer the complaint (a "phản ánh", with a handling
    # deadline), rather than leaving a comment.
    wants_reply: bool = False
    # The language the citizen answered in, where the client says (the page's, the
    # tablet's screen): kept with the response, not compared on a retry.
    language: str | None = None


@dataclass
class Checked:
    answers: Answers
    # field to fix -> problem, in the citizen's terms. A usable contact sent without
    # consent is the consent box's ("consent"): the form marked the number, which was fine,
    # and left the box unmarked (audit). The JSON API names it as its contract does
    # (api_answers.py).
    problems: dict[str, str]


def _hidden_character(en: bool) -> str:
    return (
        "It holds a hidden control character that cannot be kept (often pasted with the "
        "text): please delete it and send again."
        if en
        else "Có ký tự điều khiển ẩn không lưu được (thường lẫn vào khi dán). Ông/bà vui "
        "lòng xóa ký tự đó rồi gửi lại."
    )


def check_answers(
    profile: Profile,
    choices: dict[str, str | None],
    complaint: str | None,
    contact: str | None,
    consent: bool,
    lang: str,
    channel: Channel,
    wants_reply: bool = False,
    answered_in: str | None = None,
) -> Checked:
    """`channel`: where the evaluation comes from; the profile says which questions each
    channel must answer (an admin's import of past evaluations may lack some). `lang`:
    the language of the problems' wording; `answered_in`: the citizen's, where known."""
    en = lang == "en"
    problems: dict[str, str] = {}
    clean: dict[str, str] = {}
    for question in profile.survey.questions:
        value = (choices.get(question.field) or "").strip()
        if not value:
            if question.required_on(channel):
                problems[question.field] = (
                    "Please choose an answer." if en else "Ông/bà vui lòng chọn một câu trả lời."
                )
            continue
        if value not in question.values():
            problems[question.field] = (
                f"'{value}' is not one of: {', '.join(question.values())}."
                if en
                else f"'{value}' không phải là một lựa chọn: {', '.join(question.values())}."
            )
            continue
        clean[question.field] = value
    # A field left out (None) is no answer: the JSON API names all four, whatever the
    # profile asks.
    given = {name for name, value in choices.items() if value is not None}
    unknown = given - {q.field for q in profile.survey.questions}
    for name in sorted(unknown):
        problems[name] = "This is not a question of this survey." if en else "Không có câu hỏi này."
    # A browser sends a textarea's line break as CRLF, which its maxlength counts as one:
    # 1,999 characters shown were 2,008 here, and refused (audit). Stored as one, too.
    # Counted composed, as a person counts letters: 2,000 letters typed with Unikey's
    # "Unicode tổ hợp" (a letter, then its marks) were refused as 2,658 (survey audit).
    complaint = composed(strip_bidi_controls(textarea_text(complaint or ""))).strip() or None
    limit = profile.survey.complaint_max_chars
    if complaint is not None and not is_storable(complaint):
        # The API's rule (Storable), for the form too: PostgreSQL refused a NUL only when
        # the row was written (the typed complaint lost to an error page); SQLite stored it.
        problems["complaint"] = _hidden_character(en)
    elif complaint is not None and len(complaint) > limit:
        problems["complaint"] = (
            f"Please keep it under {limit} characters (now {len(complaint)})."
            if en
            else f"Vui lòng viết không quá {limit} ký tự (hiện có {len(complaint)})."
        )
    contact = clean_contact(contact)
    if contact is not None and len(contact) > MAX_CONTACT_CHARS:
        problems["contact"] = "Too long." if en else "Thông tin liên hệ quá dài."
    elif contact is not None and not is_storable(contact):
        # As the complaint: a NUL in the form's contact lost the answers to PostgreSQL's
        # error page, and SQLite kept it (audit).
        problems["contact"] = _hidden_character(en)
    elif contact is not None and (problem := contact_problem(contact, lang)) is not None:
        problems["contact"] = problem
    elif contact is not None and not consent:
        problems["consent"] = (
            "Tick the consent box so we may keep your contact, or leave it empty."
            if en
            else "Ông/bà vui lòng đánh dấu đồng ý để lưu thông tin liên hệ, hoặc để trống."
        )
    if wants_reply and complaint is None and "complaint" not in problems:
        # Asked for an answer about nothing: neither an item nor an error, and the contact
        # kept for no use (audit). Said, with the form kept as typed.
        problems["complaint"] = (
            "Write what you would like the office to answer, or choose to leave a comment only."
            if en
            else "Ông/bà vui lòng ghi nội dung cần cơ quan trả lời, hoặc chọn chỉ góp ý."
        )
    kept = Answers(clean, complaint, contact if consent else None, wants_reply, answered_in)
    return Checked(kept, problems)
