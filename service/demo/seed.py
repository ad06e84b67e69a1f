"""A small, realistic demo: one province, two departments, three wards, staff, counters."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from service.admin.agencies import upsert_agency
from service.admin.keys import create_key
from service.demo.activity import ACTOR, seed_activity
from service.models import ApiKey, Counter, Staff, utcnow
from service.profile import Profile
from service.scoring.rebuild import note_first_profile
from service.settings import Settings

PROVINCE = ("79", "Thành phố Hồ Chí Minh", None)
AGENCIES = [
    PROVINCE,
    ("79.STP", "Sở Tư pháp", "79"),
    ("79.SXD", "Sở Xây dựng", "79"),
    ("79.BTH", "Phường Bến Thành", "79"),
    ("79.SGN", "Phường Sài Gòn", "79"),
    ("79.TDH", "Phường Tân Định", "79"),
]
STAFF = {
    "79.STP": [("STP-CB01", "Nguyễn Thị Lan"), ("STP-CB02", "Trần Văn Minh")],
    "79.SXD": [("SXD-CB01", "Lê Hoàng Nam"), ("SXD-CB02", "Phạm Thu Hà")],
    "79.BTH": [("BTH-CB01", "Võ Thị Mai"), ("BTH-CB02", "Đặng Quốc Huy")],
    "79.SGN": [("SGN-CB01", "Bùi Thanh Tâm"), ("SGN-CB02", "Hồ Ngọc Ánh")],
    "79.TDH": [("TDH-CB01", "Ngô Minh Khoa"), ("TDH-CB02", "Đỗ Thị Hạnh")],
}
COUNTERS = ["Q01", "Q02"]
# role, scope agency: the manager key belongs to one ward, as in real life. No kiosk key: a
# tablet's key is made by pairing it with a counter (the demo prints a pairing code).
KEYS = [
    ("issuer", None),
    ("reader", None),
    ("manager", "79.BTH"),
    ("admin", None),
]


@dataclass
class DemoKey:
    role: str
    agency_code: str | None
    key: str


def seed_demo(
    session: Session, settings: Settings | None = None, profile: Profile | None = None
) -> list[DemoKey]:
    """Create or refresh the demo. Keys are only ever shown once, so each run revokes the
    previous demo keys and prints new ones. With settings and a profile it also adds last
    quarter's activity (handovers, answers, complaints, E), so pages have scores to show."""
    if profile is not None:
        # The counters it writes are this profile's: the first `serve` must not rebuild
        # them as another's (rebuild.note_first_profile).
        note_first_profile(session, profile)
    agencies = {}
    for code, name, parent in AGENCIES:
        agencies[code], _ = upsert_agency(session, code, name, parent, actor=ACTOR)
    for code, people in STAFF.items():
        agency_id = agencies[code].id
        assert agency_id is not None
        for staff_code, display_name in people:
            staff = session.exec(
                select(Staff).where(Staff.agency_id == agency_id, Staff.code == staff_code)
            ).first() or Staff(agency_id=agency_id, code=staff_code)
            staff.display_name = display_name
            session.add(staff)
        for counter_code in COUNTERS:
            exists = session.exec(
                select(Counter).where(Counter.agency_id == agency_id, Counter.code == counter_code)
            ).first()
            if exists is None:
                session.add(
                    Counter(agency_id=agency_id, code=counter_code, name=f"Quầy {counter_code[1:]}")
                )
    old_keys = session.exec(
        select(ApiKey).where(col(ApiKey.name).startswith("demo-"), col(ApiKey.revoked_at).is_(None))
    ).all()
    for old in old_keys:
        old.revoked_at = utcnow()
        session.add(old)
    keys = []
    for role, agency_code in KEYS:
        _, raw = create_key(
            session, role=role, name=f"demo-{role}", agency_code=agency_code, actor=ACTOR
        )
        keys.append(DemoKey(role, agency_code, raw))
    session.flush()
    if settings is not None and profile is not None:
        staff_codes = {code: [c for c, _ in people] for code, people in STAFF.items()}
        seed_activity(session, staff_codes, settings, profile)
    return keys
