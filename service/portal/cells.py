"""The ranking's rows as HTML, written in Python: the row loop is the page's hot path (300
rows) and f-strings cost a third of the same markup through Jinja's nested blocks. The words
come from the template (where gettext finds them); every value is escaped here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from markupsafe import Markup, escape

from service.numbers import number
from service.portal.charts import gauge
from service.portal.picker import count
from service.portal.views import RankingRow, value_of

VALUE_KEYS = ("a", "b", "c", "d", "e", "g5")
SIGNS = {"hai_long": "✓", "khong_hai_long": "✗", "chua_du_du_lieu": "?"}
# The words a row needs, given by the template already translated:
WORDS = (
    "hai_long",  # group names
    "khong_hai_long",
    "chua_du_du_lieu",
    "none",  # a missing figure, for screen readers
    "unranked",
    "children",  # link to the agency's own children's ranking
    "range",  # "K có thể từ %(low)s đến %(high)s"
    "evaluations",  # label of the evaluations cell on a phone
    "group5",  # label of the group 5 cell on a phone
)


def rows_html(
    rows: Sequence[RankingRow],
    words: Mapping[str, str],
    *,
    lang: str,
    link: Callable[..., str],
    period_key: str,
    k_max: float,
    threshold: float,
) -> Markup:
    w = {key: escape(words[key]) for key in WORDS}
    none = f'—<span class="vh">{w["none"]}</span>'
    letters = ("A", "B", "C", "D", "E", w["group5"])
    out = []
    for row in rows:
        c = row.computed
        group = c.group
        k = c.k  # exact: its float may read as the threshold (views.py)
        rank = str(row.rank) if row.rank else f'—<span class="vh">{w["unranked"]}</span>'
        url = escape(link(f"/agencies/{row.code}", period=period_key))
        name = f'<a href="{url}" lang="vi">{escape(row.name)}</a>'
        if row.has_children:
            sub = escape(link("/rankings", period=period_key, parent_code=row.code))
            name += f' <a class="sub" href="{sub}">{w["children"]}</a>'
        if k is not None:
            k_text = f"<b>{number(k, lang)}</b>"
        else:
            span = {"low": number(c.k_min, lang), "high": number(c.k_max, lang)}
            k_text = f'<span class="range">{escape(words["range"] % span)}</span>'
        bar = gauge(
            float(k) if k is not None else None, float(c.k_min), float(c.k_max), k_max, threshold
        )
        values = "".join(
            f'<td class="v" data-l="{letter}">{none if value is None else number(value, lang)}</td>'
            for letter, value in zip(letters, (value_of(c, key) for key in VALUE_KEYS), strict=True)
        )
        out.append(
            f'<tr class="g-{group}"><td class="rank">{rank}</td>'
            f'<th scope="row" class="name">{name}</th>'
            f'<td class="k">{k_text}{bar}</td>'
            f'<td class="grp"><span class="group g-{group}"><span aria-hidden="true">'
            f"{SIGNS[group]} </span>{w[group]}</span></td>{values}"
            f'<td class="v n" data-l="{w["evaluations"]}:">'
            f"{count(c.counts['evaluations'], lang)}</td></tr>\n"
        )
    return Markup("".join(out))
