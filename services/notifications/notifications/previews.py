"""Sample values for previewing a template (``POST /templates/{kind}/preview``), so that a
translator sees every part of a message filled in as a recipient would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from notifications.domain import wording
from peerlink.bilingual import site_name

SAMPLE_START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def sample_context(kind: str, *, audience: str, given_name: str, site: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "audience": audience,
        "given_name": given_name,
        "site_name": site_name(site),
        "reference": "5F0C6F0E",
        "reentry": False,
        "reason": "other",
        "self_referral": False,
        "welsh_preferred": True,
        "title": {"cy": "Grŵp celf Glynebwy", "en": "Ebbw Vale art group"},
        "venue": "Ebbw Vale Institute",
        "starts_at": SAMPLE_START,
        "ends_at": SAMPLE_START + timedelta(hours=2),
        "person_id": "0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f",
        "places": 1,
        "position": 3,
        "changed": ["starts_at", "ends_at"],
        "other_name": "Gareth" if audience == "person" else "Dylan",
        "about_kind": "event-reminder",
        "about_label": {lang: wording.kind_label("event-reminder", lang) for lang in ("cy", "en")},
        "day": SAMPLE_START.date().isoformat(),
        "count": 2,
        "items": [
            {
                "kind": "referral-received-coordinator",
                "at": SAMPLE_START - timedelta(hours=20),
                "reference": "5F0C6F0E",
                "name": None,
                "about_label": None,
                "welsh_preferred": True,
            },
            {
                "kind": "please-phone",
                "at": SAMPLE_START - timedelta(hours=3),
                "reference": None,
                "name": "Rhian",
                "about_label": {lang: wording.kind_label("event-reminder", lang) for lang in ("cy", "en")},
                "welsh_preferred": True,
            },
        ],
    }
