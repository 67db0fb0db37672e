"""The network's sites as people read them, in Welsh and English (slugs are the machine names)."""

from __future__ import annotations

SITE_NAMES = {
    "ebbw-vale": {"cy": "Glynebwy", "en": "Ebbw Vale"},
    "merthyr": {"cy": "Merthyr Tudful", "en": "Merthyr Tydfil"},
    "pontypridd": {"cy": "Pontypridd", "en": "Pontypridd"},
    "forest-of-dean": {"cy": "Fforest y Ddena", "en": "Forest of Dean"},
    "central": {"cy": "Y swyddfa ganolog", "en": "Central office"},
}


def site_name(slug: str) -> dict[str, str]:
    """A site's name in both languages; a site not listed here is named from its slug."""
    fallback = slug.replace("-", " ").title()
    return SITE_NAMES.get(slug, {"cy": fallback, "en": fallback})
