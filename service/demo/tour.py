"""What `hailong demo` prints once it has seeded: the keys, a handover to try with curl,
the kiosk's pairing code and where to look. With the demo, not the command line: it names
the demo's agencies, counter and staff, and the quarter its activity fills."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from service.calendar.working_days import LOCAL_TZ, local_date
from service.demo.seed import DemoKey
from service.periods import period_containing


def sample_handover(now: datetime) -> dict[str, Any]:
    """A birth registration resolved two hours ago, handed over now at the demo ward."""
    return {
        "dossier_code": f"79.BTH-{now:%y%m%d-%H%M%S}",
        "agency_code": "79.BTH",
        "procedure_code": "1.001612",
        "procedure_name": "Đăng ký khai sinh",
        "received_at": (now - timedelta(days=3)).isoformat(),
        "due_at": (now + timedelta(days=1)).isoformat(),
        "resolved_at": (now - timedelta(hours=2)).isoformat(),
        "handed_over_at": now.isoformat(),
        "supplement_requests": 0,
        "channel": "counter",
        "staff": {"receiving": "BTH-CB01", "handling": "BTH-CB02", "returning": "BTH-CB01"},
        "counter_code": "Q01",
        "language": "vi",
    }


def keys_and_handover(keys: list[DemoKey], base_url: str) -> str:
    """The new keys (shown once) and a curl that issues a survey with the issuer's."""
    lines = [
        "Demo agencies: 79 (province) > 79.STP, 79.SXD (departments), "
        "79.BTH, 79.SGN, 79.TDH (wards)\n",
        "API keys (shown once):",
    ]
    for k in keys:
        scope = f"  (agency {k.agency_code})" if k.agency_code else ""
        lines.append(f"  {k.role:<8} {k.key}{scope}")
    issuer = next(k.key for k in keys if k.role == "issuer")
    body = sample_handover(datetime.now(LOCAL_TZ).replace(microsecond=0))
    lines += [
        "\nIssue a survey at handover:",
        f"  curl -sS -X POST {base_url}/api/v1/handovers \\\n"
        f"    -H 'Authorization: Bearer {issuer}' -H 'Content-Type: application/json' \\\n"
        f"    -d '{json.dumps(body, ensure_ascii=False)}'",
    ]
    return "\n".join(lines)


def where_to_look(
    base_url: str, kiosk_code: str, pairing_minutes: int, also: str | None = None
) -> str:
    """The kiosk to pair, and the pages that show the activity (current and last quarter);
    with a profile computed beside the K score, where to read it."""
    last = period_containing(local_date(datetime.now(LOCAL_TZ)), "quarter").previous().key
    beside = (
        f"\n{also}: {base_url}/api/v1/rankings?parent_code=79&period={last}&profile={also} "
        "(with the reader key as Bearer: the manager key sees its own ward only; the "
        "console's agency pages show it too)"
        if also
        else ""
    )
    return (
        f"\nCounter kiosk: open {base_url}/kiosk on a tablet (or a second browser "
        f"window) and pair it with the code {kiosk_code} (valid "
        f"{pairing_minutes} minutes; `hailong kiosk pair --agency 79.BTH "
        "--counter Q01` makes a new one). The handover above then appears on it by itself."
        f"\n\nScoreboard: {base_url}/rankings?parent_code=79 (this quarter so far; "
        f"last quarter: {base_url}/rankings?parent_code=79&period={last})\n"
        f"Console:    {base_url}/console (sign in with the manager key)\n"
        f"API:        {base_url}/docs" + beside
    )
