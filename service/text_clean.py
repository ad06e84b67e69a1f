"""Free text from citizens and managers: cleaned of invisible direction controls, and
refused with a NUL or another control character documents cannot hold.

PostgreSQL text cannot hold NUL (U+0000). An API request that carries one is a 422 from
the error handler (service/web/errors.py), but only once its statement fails; the input
models refuse it first, naming the field, so that an import (the same models, outside a
request) refuses the row in its checking pass rather than crashing in its writing one.
Text kept from outside (a webhook receiver's reply) is made storable instead.

Bidirectional embedding, override and isolate controls (U+202A..U+202E, U+2066..U+2069)
and the direction marks (U+200E, U+200F, U+061C) are invisible, yet one U+202E turns the
rest of a line around: a comment could make itself, or the dossier code printed after
it, read backwards in the console. Vietnamese text never needs them, and Arabic or Hebrew
text still shows right-to-left without them, so they are removed on input. Text stored
before this rule is isolated where it is shown (`dir="auto"` in the templates).
"""

from __future__ import annotations

import re
import unicodedata

from pydantic import AfterValidator, BeforeValidator

BIDI_CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


def strip_bidi_controls(text: str) -> str:
    return BIDI_CONTROLS.sub("", text)


def textarea_text(text: str) -> str:
    """A form's textarea text with each line break as one "\\n": a browser sends a break as
    CRLF, which the textarea's maxlength counts as one character, so a text the form let
    someone type was refused as too long (audit). Stored as one, too."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def one_line(text: str) -> str:
    """`text` with every run of whitespace (line breaks, tabs) as one space: a name or a
    subject is one line wherever it is shown (a chart's label, an e-mail header)."""
    return " ".join(text.split())


def clean_optional(text: str | None) -> str | None:
    return None if text is None else strip_bidi_controls(text)


# C0 control characters XML 1.0 cannot hold (all but tab, line feed, carriage return):
# stored, one made every XLSX export and the DOCX report that showed it a 500 for every
# reader (openpyxl and python-docx refuse them), and a badge's SVG ill-formed.
# Lone surrogates too (JSON's "\\ud800" decodes to one): no UTF-8, so the database
# driver refused the row (a 500 for a complaint) and documents cannot hold them either.
# And the two noncharacters U+FFFE and U+FFFF, which XML 1.0 excludes as well (stored in a
# procedure name or a complaint, they made the XLSX and DOCX exports a 500: audit).
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def refuse_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain the NUL character (\\u0000)")
    if (found := XML_ILLEGAL.search(text)) is not None:
        code = ord(found.group())
        if code >= 0xFFFE:
            raise ValueError(f"must not contain U+{code:04X}, which is not a character")
        if code >= 0xD800:
            raise ValueError(f"must not contain U+{code:04X}, half of a character's code")
        raise ValueError(f"must not contain the control character U+{code:04X}")
    return text


def is_storable(text: str) -> bool:
    """`refuse_nul`'s rule as a yes or no, for a form that reports its own field problems."""
    try:
        refuse_nul(text)
    except ValueError:
        return False
    return True


# For an input model's str field: `Annotated[str, Storable]`.
Storable = AfterValidator(refuse_nul)


def composed(text: str) -> str:
    """Text in Unicode's composed form (NFC), as codes and names are kept: "Đăng ký khai
    sinh" typed with Unikey's "Unicode tổ hợp" (a letter, then its marks) was exported
    beside the same name typed precomposed, two rows of one procedure in a spreadsheet's
    filter, and a search typed precomposed missed it (exports audit).

    Unless composing makes it longer: a few characters outside Vietnamese decompose under
    NFC (U+0958 to two, U+1D160 to three), and a text within its field's limit, checked
    before, became one past its column's, a 500 on PostgreSQL (durability audit). Such a
    text is kept as sent; Vietnamese only ever gets shorter."""
    nfc = unicodedata.normalize("NFC", text)
    return nfc if len(nfc) <= len(text) else text


# For a name's field: `Annotated[str, ..., Storable, Composed]`.
Composed = AfterValidator(composed)


def xml_text(text: str) -> str:
    """Text for a document (XLSX, DOCX) with any control character stored before they
    were refused shown as U+FFFD."""
    return XML_ILLEGAL.sub("\ufffd", text)


def storable_text(text: str) -> str:
    """Text kept from outside (a provider's reply, a webhook receiver's answer, an identity
    provider's claim) as a row can hold it: no NUL (PostgreSQL text) and no lone surrogate
    (JSON's "\\ud83d" escapes decode to one, which is no UTF-8: the row's write failed, and
    a message already sent was sent again at every lease), each replaced."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def code_text(text: str) -> str:
    """A code (a staff member's, a counter's, an agency's) as it is matched: without the
    spaces around it, and refused with an invisible character or a space other than ' '
    in it. Codes are matched by their exact text, so "CB003 " or "CB003" + a zero-width
    space became a second officer that looks the same on every page, and " " or "\u200b"
    a staff member and a counter with no visible code (audit). In Unicode's composed form
    (NFC): "Quầy 1" typed with Unikey's "Unicode tổ hợp" (decomposed: a, then its marks) was
    a second counter beside the one typed precomposed."""
    code = composed(text.strip())
    if not code:
        raise ValueError("must not be blank")
    for char in code:
        if char == "\x00":  # worded as the database's refusal of it is (web/errors.py)
            raise ValueError("contains the NUL character (\\u0000), which cannot be stored")
        # Cc too: a NUL reached PostgreSQL, which refused the row with the field unnamed.
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") or (
            char.isspace() and char != " "
        ):
            raise ValueError(
                f"must not contain the invisible character U+{ord(char):04X}: type the code "
                "again, or copy it from where it is kept"
            )
    return code


# For a code field: `Annotated[str, ..., Storable, CodeText]`.
CodeText = AfterValidator(code_text)
# For a code a query may name or leave out: matched as written codes are.
OptionalCodeText = AfterValidator(lambda text: None if text is None else code_text(text))


def stripped(value: object) -> object:
    """A text without the spaces around it, before its pattern is checked (a dossier code
    from a fixed-width column: "G22.39-1   "); anything else as it is, for the type's own
    refusal."""
    return value.strip() if isinstance(value, str) else value


# For a code that must match a pattern (a dossier code): its spaces taken off first.
Stripped = BeforeValidator(stripped)
