"""Jinja2 environment shared by every HTML page."""

from __future__ import annotations

import html

import jinja2
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from service.settings import ROOT
from service.text_clean import xml_text


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Templates are written in Vietnamese; catalogs for other languages plug in here.
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    # `tojson` still escapes <, >, & and ' for HTML; Vietnamese stays readable and a third
    # of the size of \u escapes.
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
    # For stored text in a template that is XML, not HTML (the badge's SVG): a control
    # character stored before they were refused made the whole badge ill-formed.
    env.filters["xml_text"] = xml_text
    env.filters["pasted_attribute"] = pasted_attribute
    env.filters["isolated"] = isolated
    env.globals["vi"] = vi
    return Jinja2Templates(env=env)


def isolated(text: str) -> str:
    """Stored text put among other words where no markup can isolate it (a page's <title>,
    the badge's label): in Unicode's first-strong isolate, so that a right-to-left override
    pasted into an agency's name does not turn the rest of the line around (public pages
    audit)."""
    return f"\u2068{text}\u2069"


def vi(text: str) -> Markup:
    """Stored Vietnamese (an agency's name) put into a translated sentence, marked so that a
    screen reader on the English page reads it as Vietnamese (WCAG 3.1.2), and isolated
    (<bdi>) so that a direction control pasted into the name does not turn the rest of the
    sentence around (review): the sentence is `_(...) | e | format(name=vi(name))`."""
    return Markup('<bdi lang="vi">{}</bdi>').format(text)


def pasted_attribute(value: str) -> str:
    """A value as it must be typed inside a quoted attribute of HTML that a page shows for
    copying (the agency page's snippets, in a textarea): escaped once here for the copied
    text, once more by the page. Escaped once, a name with a double quote closed the pasted
    iframe's title early (audit). A plain str, so that autoescape escapes it again."""
    return html.escape(str(value), quote=True)
