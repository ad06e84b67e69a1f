"""Scoring profiles: shipped ones load; a broken one is refused at start, naming the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from service.app import create_app
from service.profile import PROFILES_DIR, ProfileError, load_profile
from tests.conftest import make_settings


def test_shipped_profiles_differ_only_where_the_rules_do() -> None:
    hcmc, national = load_profile("hcmc-104-2024"), load_profile("vn-766")
    assert not hcmc.k_score.supplements_make_overdue
    assert national.k_score.supplements_make_overdue
    assert hcmc.survey == national.survey and hcmc.group5 == national.group5
    assert [q.field for q in hcmc.survey.questions] == [
        "timeliness",
        "supplement_requests",
        "staff_attitude",
        "overall",
    ]


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "mine.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("full_marks_rate = 0.90", "full_marks_rate = 1.5", "group5.full_marks_rate"),
        ("points = 6.0", "pionts = 6.0", "group5.pionts"),
        # Accepted once and changed nothing: refused until a reading of `false` is decided.
        ("no_due_time_is_on_time = true", "no_due_time_is_on_time = false", "k_score.no_due_time"),
        # Wider than the response's column: on PostgreSQL such a complaint was a 500.
        ("complaint_max_chars = 2000", "complaint_max_chars = 5000", "survey.complaint_max_chars"),
        ("handling_deadline_working_days = 15", "", "petitions.handling_deadline_working_days"),
        # Group 5 is D when none is imported: it may not be worth more (rules audit).
        ("points = 6.0", "points = 7.0", "group5: its most"),
        # E is all or nothing, stored whole: 0 or e_max (recompute audit).
        ("e_max = 1.0\n", "e_max = 0.5\n", "k_score.e_max"),
        (
            'role_for_evaluations = "returning"',
            'role_for_evaluations = "boss"',
            "staff.role_for_evaluations",
        ),
        # Taken once (pydantic's default): D inf made every score read a 500, a nan
        # threshold left every K unsatisfied (audit).
        ("d_max = 18.0", "d_max = inf", "k_score.d_max"),
        ("satisfied_threshold = 20.0", "satisfied_threshold = nan", "k_score.satisfied_threshold"),
        # Above the most K can be (22): no agency could ever be satisfied.
        ("satisfied_threshold = 20.0", "satisfied_threshold = 30.0", "satisfied_threshold = 30"),
        # Without its Vietnamese text the citizen's survey page was a 500 (audit).
        (
            'label = { vi = "Hồ sơ có được trả đúng hẹn không?", en',
            "label = { en",
            "survey.questions.0.label",
        ),
        ('label = { vi = "Hồ sơ có được trả đúng hẹn không?", ', 'label = { vi = " ", ', "label"),
    ],
)
def test_invalid_profile_is_refused_at_start_naming_the_key(
    tmp_path: Path, old: str, new: str, named: str
) -> None:
    path = _broken(tmp_path, old, new)
    settings = make_settings("sqlite:///:memory:").model_copy(update={"scoring_profile": str(path)})
    with pytest.raises(ProfileError, match=named.replace(".", r"\.")):
        create_app(settings)


@pytest.mark.parametrize(
    "encoded",
    [
        lambda text: text.encode("utf-16"),  # Notepad's "Unicode"
        lambda text: text.encode("cp1258", errors="replace"),  # a Vietnamese Windows editor
    ],
    ids=["utf-16", "windows-1258"],
)
def test_profile_saved_in_another_encoding_is_refused_not_a_traceback(
    tmp_path: Path, encoded: Callable[[str], bytes]
) -> None:
    """It raised UnicodeDecodeError, a traceback at start instead of a sentence (audit)."""
    path = tmp_path / "mine.toml"
    path.write_bytes(encoded((PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")))
    settings = make_settings("sqlite:///:memory:").model_copy(update={"scoring_profile": str(path)})
    with pytest.raises(ProfileError, match="must be UTF-8 text"):
        create_app(settings)
    also = tmp_path / "also.toml"
    also.write_bytes(encoded((PROFILES_DIR / "tt-01-2018.toml").read_text(encoding="utf-8")))
    with pytest.raises(ProfileError, match="must be UTF-8 text"):
        load_profile("hcmc-104-2024", str(also))


def test_a_profile_saved_as_utf8_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Windows Notepad's "UTF-8" begins with a byte-order mark: refused as not valid TOML."""
    path = tmp_path / "mine.toml"
    text = (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8-sig")
    shipped = load_profile("hcmc-104-2024")
    assert load_profile(str(path)).fingerprint() == shipped.fingerprint()


def _broken_tt01(tmp_path: Path, old: str, new: str) -> Path:
    text = (PROFILES_DIR / "tt-01-2018.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "mine-tt01.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        # `inf` made the TT 01 scores a 500; above 18 (9 × 2), no total reached the class.
        ("at_least = 15\n", "at_least = inf\n", r"classes\.0\.at_least"),
        ("at_least = 15\n", "at_least = 19\n", r"classes: the highest at_least \(19\)"),
        # Two classes alike: a stored or reported class could not be told apart (audit).
        ('key = "dat"', 'key = "tot"', r"classes: each key once"),
        # Named as the K profile, `profile=` always chose K: the TT 01 scores were
        # computed and never readable (audit).
        ('name = "tt-01-2018"', 'name = "hcmc-104-2024"', "name = 'hcmc-104-2024'"),
        ('name = "tt-01-2018"', 'name = ""', "name = ''"),
    ],
)
def test_invalid_tt01_profile_is_refused_at_start_naming_the_key(
    tmp_path: Path, old: str, new: str, named: str
) -> None:
    path = _broken_tt01(tmp_path, old, new)
    settings = make_settings("sqlite:///:memory:", scoring_profile_also=str(path))
    with pytest.raises(ProfileError, match=named):
        create_app(settings)


def test_tt01_profile_without_indicator_4_is_refused(tmp_path: Path) -> None:
    """With neither indicator 4's points nor its question, the profile loaded and every
    total read "chua_du_du_lieu" for ever (audit)."""
    points = "[contacts_points]\ndesk_only = 2\none_more = 1\nseveral_more = 0\n"
    path = _broken_tt01(tmp_path, points, "[contacts_points]\n")
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("[[questions]]")], encoding="utf-8")  # and its question
    with pytest.raises(ProfileError, match="the question 'agencies_contacted' is needed"):
        load_profile("hcmc-104-2024", str(path))


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("returns_points = [2, 1, 0]", "returns_points = [2, 1, -1]", r"returns_points\.2"),
        ("several_more = 0", "several_more = -2", r"contacts_points\.several_more"),
        ("poor = 0", "poor = -1", r"attitude_points\.poor"),
    ],
)
def test_negative_tt01_points_are_refused_at_start(
    tmp_path: Path, old: str, new: str, named: str
) -> None:
    """Indicators 3, 4 and 7's points were plain numbers: a negative one loaded, a total
    below the lowest class's bound (0) had no class, and classify raised, a 500 on the score
    API (audit)."""
    path = _broken_tt01(tmp_path, old, new)
    settings = make_settings("sqlite:///:memory:", scoring_profile_also=str(path))
    with pytest.raises(ProfileError, match=named):
        create_app(settings)


def test_a_too_high_tt01_point_is_refused_naming_its_key(tmp_path: Path) -> None:
    """'no indicator may score more than max_points (2)' named no key: with some twenty
    point keys in the file, the operator had to guess which one (audit)."""
    path = _broken_tt01(
        tmp_path, "on_time_points = 2\nlate_points = 1", "on_time_points = 3\nlate_points = 1"
    )
    with pytest.raises(ProfileError, match=r"invalid: Value error, petitions\.on_time_points = 3"):
        load_profile("hcmc-104-2024", str(path))


def test_grace_points_above_on_time_points_are_refused(tmp_path: Path) -> None:
    """A's maximum is `on_time_points` (k_max, the range K can still reach, the threshold
    check): a dossier a few working days late earning more than one on time made A exceed
    it, and a late agency outscore a punctual one (audit)."""
    path = _broken(tmp_path, "on_time_points = 1.0", "on_time_points = 0.5")
    text = path.read_text(encoding="utf-8")
    old = "late_within_grace_points = 0.0"
    assert old in text
    path.write_text(text.replace(old, "late_within_grace_points = 1.0", 1), encoding="utf-8")
    with pytest.raises(
        ProfileError, match=r"late_within_grace_points = 1 is more than on_time_points = 0\.5"
    ):
        load_profile(str(path))


def test_a_tt01_table_inside_a_k_profile_is_refused(tmp_path: Path) -> None:
    """An [also] table in a K-score file loaded as "TT 01 computed beside" without
    HAILONG_SCORING_PROFILE_ALSO, skipping with_also: indicator 4's question was never
    asked and its checks never ran, so every TT 01 total read "chua_du_du_lieu" (audit)."""
    tt01 = (PROFILES_DIR / "tt-01-2018.toml").read_text(encoding="utf-8")
    body = tt01[tt01.index('name = "tt-01-2018"') : tt01.index("[[questions]]")]
    # As a sub-table: [also], [also.time], [[also.classes]], ...
    lines = [
        "[[also." + line[2:]
        if line.startswith("[[")
        else "[also." + line[1:]
        if line.startswith("[")
        else line
        for line in body.splitlines()
    ]
    path = tmp_path / "mine.toml"
    text = (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")
    path.write_text(text + "\n[also]\n" + "\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="HAILONG_SCORING_PROFILE_ALSO"):
        load_profile(str(path))


def test_unknown_profile_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ProfileError, match="hcmc-104-2024, tt-01-2018, vn-766"):
        load_profile("hcmc-2099")


def test_operator_profile_changes_the_questions(tmp_path: Path) -> None:
    path = _broken(tmp_path, '"Mức độ hài lòng chung?"', '"Ông/bà hài lòng không?"')
    assert load_profile(str(path)).survey.question("overall").text("vi") == "Ông/bà hài lòng không?"  # type: ignore[union-attr]


# What the shipped profiles' counters rest on, as deployed: a changed fingerprint rebuilds
# every deployment's counters at its next start and audits a profile change. Change these
# only with a rule change (review: a float written as an int changed them, no rule did), or
# with the national calendar (a `holidays` release or an ANNOUNCED day that moves a working
# day: calendar/working_days.py), whose rebuild at the next start is then meant.
SHIPPED_FINGERPRINTS = {
    ("hcmc-104-2024", None): "7b248a904729c45e0405fd90f31b4cb7850ce81741d94314e7e6c9076e65c8bd",
    ("hcmc-104-2024", "tt-01-2018"): (
        "ecf6ad3f6c18808bd6e00d9937a8869bec415598991c92274af89a8450aa897e"
    ),
    ("vn-766", None): "371818fd4ff4f5095b07b3de2b06b7b96b75ee890b6a6f4b561062f9c73cd190",
    ("vn-766", "tt-01-2018"): "68d465f3286117deea475b4c900e30c9534012a5670fb6050cb51db2eb3067b1",
}


@pytest.mark.parametrize(("name", "also"), list(SHIPPED_FINGERPRINTS))
def test_the_shipped_profiles_fingerprints_hold(name: str, also: str | None) -> None:
    assert load_profile(name, also).fingerprint() == SHIPPED_FINGERPRINTS[(name, also)]
