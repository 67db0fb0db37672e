"""Controlled vocabularies shared by every service and the central figures.

Codes, not labels: they travel on the wire and into the central office's reports, so they
change only by adding. Labels in Welsh and English belong to the services that show them.
"""

REFERRAL_SOURCES = (
    "self",
    "gp",
    "drug-alcohol-service",
    "probation",
    "mental-health-team",
    "family",
    "housing",
    "other-agency",
)

SUPPORT_NEEDS = (
    "substance-use",
    "alcohol",
    "mental-health",
    "trauma",
    "health-condition",
    "isolation",
    "housing",
    "employment",
    "education",
    "finance",
    "family",
    "offending",
)

LANGUAGES = ("cy", "en")

CONTACT_CHANNELS = ("email", "sms", "phone", "post")

AGE_BANDS = ("16-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")


def age_band(age_in_years: int) -> str:
    """The band the central office sees instead of a date of birth."""
    if age_in_years < 16:
        raise ValueError("Peerlink takes referrals from the age of 16")
    for band, upper in (("16-17", 17), ("18-24", 24), ("25-34", 34), ("35-44", 44), ("45-54", 54), ("55-64", 64)):
        if age_in_years <= upper:
            return band
    return "65+"
