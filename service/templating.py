"""Jinja2 environment shared by every HTML page."""

from __future__ import annotations

import jinja2
from fastapi.templating import Jinja2Templates

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
    return Jinja2Templates(env=env)
