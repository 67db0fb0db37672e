"""Every word of the self-referral page, Welsh and English side by side, so that neither
language is ever missing or behind the other (a test checks both have the same keys).

Codes are the shared vocabularies' (``peerlink.contracts.vocabulary``); only their labels are here.
"""

from __future__ import annotations

LANGUAGES = ("cy", "en")

# The consent wording the form shows; a referral records this version with the consent.
CONSENT_VERSION = "self-referral-2026-11"

TEXT: dict[str, dict[str, str]] = {
    "cy": {
        "title": "Atgyfeirio eich hun am fentora cymheiriaid",
        "intro": (
            "Mae gan ein mentoriaid cymheiriaid brofiad bywyd o adferiad. Dywedwch ychydig amdanoch chi "
            "eich hun a bydd rhywun o dîm {site} yn cysylltu â chi."
        ),
        "welsh_welcome": "Mae croeso i chi ddefnyddio'r Gymraeg.",
        "other_language": "English",
        "crisis": ("Os ydych chi mewn argyfwng nawr, ffoniwch 999, neu GIG 111 a phwyswch 2 am gymorth iechyd meddwl."),
        "required": "(angenrheidiol)",
        "optional": "(dewisol)",
        "about_you": "Amdanoch chi",
        "given_name": "Enw cyntaf",
        "family_name": "Cyfenw",
        "date_of_birth": "Dyddiad geni",
        "date_hint": "Er enghraifft, 27 3 1990",
        "day": "Diwrnod",
        "month": "Mis",
        "year": "Blwyddyn",
        "preferred_language": "Ym mha iaith hoffech chi i ni gysylltu â chi?",
        "contact": "Sut gallwn ni gysylltu â chi?",
        "email": "Cyfeiriad e-bost",
        "phone": "Rhif ffôn",
        "channels": "Gallwch gysylltu â fi drwy",
        "safe_to_text": "Mae'n ddiogel anfon negeseuon testun i'r rhif hwn",
        "support_needs": "Gyda beth hoffech chi gael cymorth?",
        "choose_all": "Dewiswch bob un sy'n berthnasol.",
        "interests": "Beth ydych chi'n ei fwynhau?",
        "availability": "Pryd ydych chi'n rhydd fel arfer?",
        "your_mentor": "Eich mentor",
        "mentor_gender": "Hoffwn gael mentor sy'n",
        "welsh_speaking_mentor": "Hoffwn gael mentor sy'n siarad Cymraeg",
        "consent": "Eich caniatâd",
        "consent_share_with_mentor": (
            "Rwy'n cytuno y caiff tîm mentora cymheiriaid {site} gadw'r wybodaeth hon a'i rhannu gyda fy "
            "mentor cymheiriaid."
        ),
        "consent_share_with_gp": "Rwy'n cytuno y caiff y tîm gysylltu â fy meddyg teulu am fy nghymorth.",
        "consent_counted_in_figures": (
            "Rwy'n cytuno i gael fy nghyfrif, heb fy enw, yn y ffigurau y mae swyddfa ganolog y rhwydwaith "
            "yn eu cyhoeddi."
        ),
        "consent_withdraw": "Gallwch dynnu eich caniatâd yn ôl unrhyw bryd drwy gysylltu â'r tîm.",
        "submit": "Anfon",
        "error_summary": "Mae problem",
        "error_prefix": "Gwall:",
        "received_title": "Diolch, mae eich atgyfeiriad wedi dod i law",
        "received_body": "Bydd rhywun o dîm {site} yn cysylltu â chi cyn bo hir.",
        "reference": "Eich cyfeirnod yw",
        "refused_title": "Nid oedd modd anfon y ffurflen",
        "refused_body": "Mae'r ffurflen wedi dod i ben. Ewch yn ôl, ail-lwythwch y dudalen a rhowch gynnig arall arni.",
        "start_again": "Dechrau eto",
        "too_many_title": "Mae llawer o ffurflenni wedi dod o'r cysylltiad hwn",
        "too_many_body": (
            "Arhoswch {minutes} munud a rhowch gynnig arall arni, neu ffoniwch y tîm. Nid ydym wedi colli "
            "dim rydych chi wedi'i anfon yn barod."
        ),
    },
    "en": {
        "title": "Refer yourself for peer mentoring",
        "intro": (
            "Our peer mentors have lived experience of recovery. Tell us a little about yourself and "
            "someone from the {site} team will contact you."
        ),
        "welsh_welcome": "You are welcome to use Welsh. Mae croeso i chi ddefnyddio'r Gymraeg.",
        "other_language": "Cymraeg",
        "crisis": "If you are in crisis now, call 999, or NHS 111 and press 2 for mental health support.",
        "required": "(required)",
        "optional": "(optional)",
        "about_you": "About you",
        "given_name": "First name",
        "family_name": "Last name",
        "date_of_birth": "Date of birth",
        "date_hint": "For example, 27 3 1990",
        "day": "Day",
        "month": "Month",
        "year": "Year",
        "preferred_language": "Which language would you like us to contact you in?",
        "contact": "How can we contact you?",
        "email": "Email address",
        "phone": "Phone number",
        "channels": "You can contact me by",
        "safe_to_text": "It is safe to send text messages to this number",
        "support_needs": "What would you like support with?",
        "choose_all": "Choose all that apply.",
        "interests": "What do you enjoy?",
        "availability": "When are you usually free?",
        "your_mentor": "Your mentor",
        "mentor_gender": "I would like a mentor who is",
        "welsh_speaking_mentor": "I would like a Welsh-speaking mentor",
        "consent": "Your consent",
        "consent_share_with_mentor": (
            "I agree that the {site} peer mentoring team may keep this information and share it with my peer mentor."
        ),
        "consent_share_with_gp": "I agree that the team may contact my GP about my support.",
        "consent_counted_in_figures": (
            "I agree to be counted, without my name, in the figures the network's central office publishes."
        ),
        "consent_withdraw": "You can withdraw your consent at any time by contacting the team.",
        "submit": "Send",
        "error_summary": "There is a problem",
        "error_prefix": "Error:",
        "received_title": "Thank you, we have your referral",
        "received_body": "Someone from the {site} team will contact you soon.",
        "reference": "Your reference is",
        "refused_title": "The form could not be sent",
        "refused_body": "The form has expired. Please go back, reload the page and try again.",
        "start_again": "Start again",
        "too_many_title": "Many forms have come from this connection",
        "too_many_body": (
            "Please wait {minutes} minutes and try again, or phone the team. Nothing you have already sent is lost."
        ),
    },
}

LABELS: dict[str, dict[str, dict[str, str]]] = {
    "support_needs": {
        "substance-use": {"cy": "Defnyddio cyffuriau", "en": "Drug use"},
        "alcohol": {"cy": "Alcohol", "en": "Alcohol"},
        "mental-health": {"cy": "Iechyd meddwl", "en": "Mental health"},
        "trauma": {"cy": "Trawma", "en": "Trauma"},
        "health-condition": {"cy": "Cyflwr iechyd", "en": "A health condition"},
        "isolation": {"cy": "Unigrwydd", "en": "Loneliness"},
        "housing": {"cy": "Tai", "en": "Housing"},
        "employment": {"cy": "Gwaith", "en": "Work"},
        "education": {"cy": "Addysg", "en": "Education"},
        "finance": {"cy": "Arian a dyledion", "en": "Money and debt"},
        "family": {"cy": "Teulu", "en": "Family"},
        "offending": {"cy": "Y system cyfiawnder", "en": "The justice system"},
    },
    "interests": {
        "art": {"cy": "Celf", "en": "Art"},
        "music": {"cy": "Cerddoriaeth", "en": "Music"},
        "writing": {"cy": "Ysgrifennu", "en": "Writing"},
        "outdoors": {"cy": "Yr awyr agored", "en": "The outdoors"},
        "walking": {"cy": "Cerdded", "en": "Walking"},
        "gardening": {"cy": "Garddio", "en": "Gardening"},
        "sport": {"cy": "Chwaraeon", "en": "Sport"},
        "cooking": {"cy": "Coginio", "en": "Cooking"},
        "crafts": {"cy": "Crefftau", "en": "Crafts"},
        "games": {"cy": "Gemau", "en": "Games"},
        "volunteering": {"cy": "Gwirfoddoli", "en": "Volunteering"},
        "faith": {"cy": "Ffydd", "en": "Faith"},
    },
    "channels": {
        "email": {"cy": "E-bost", "en": "Email"},
        "sms": {"cy": "Neges destun", "en": "Text message"},
        "phone": {"cy": "Galwad ffôn", "en": "Phone call"},
        "post": {"cy": "Llythyr", "en": "Letter"},
    },
    "mentor_gender": {
        "no-preference": {"cy": "Does dim ots gen i", "en": "No preference"},
        "female": {"cy": "Yn fenyw", "en": "A woman"},
        "male": {"cy": "Yn ddyn", "en": "A man"},
        "non-binary": {"cy": "Yn anneuaidd", "en": "Non-binary"},
    },
    "preferred_language": {
        "cy": {"cy": "Cymraeg", "en": "Welsh (Cymraeg)"},
        "en": {"cy": "Saesneg (English)", "en": "English"},
    },
    "days": {
        "mon": {"cy": "Llun", "en": "Monday"},
        "tue": {"cy": "Mawrth", "en": "Tuesday"},
        "wed": {"cy": "Mercher", "en": "Wednesday"},
        "thu": {"cy": "Iau", "en": "Thursday"},
        "fri": {"cy": "Gwener", "en": "Friday"},
        "sat": {"cy": "Sadwrn", "en": "Saturday"},
        "sun": {"cy": "Sul", "en": "Sunday"},
    },
    "parts": {
        "am": {"cy": "Bore", "en": "Morning"},
        "pm": {"cy": "Prynhawn", "en": "Afternoon"},
        "eve": {"cy": "Noswaith", "en": "Evening"},
    },
}

# What went wrong with a field, by the field's form name and the kind of fault: "missing",
# "invalid", or the domain's own rule code (``IneligibleReferral.code``).
ERRORS: dict[str, dict[str, dict[str, str]]] = {
    "given_name": {
        "missing": {"cy": "Rhowch eich enw cyntaf", "en": "Enter your first name"},
        "invalid": {
            "cy": "Rhowch enw cyntaf o 100 llythyren neu lai",
            "en": "Enter a first name of 100 letters or fewer",
        },
    },
    "family_name": {
        "missing": {"cy": "Rhowch eich cyfenw", "en": "Enter your last name"},
        "invalid": {"cy": "Rhowch gyfenw o 100 llythyren neu lai", "en": "Enter a last name of 100 letters or fewer"},
    },
    "date_of_birth": {
        "missing": {"cy": "Rhowch eich dyddiad geni", "en": "Enter your date of birth"},
        "invalid": {
            "cy": "Rhowch ddyddiad geni go iawn, er enghraifft 27 3 1990",
            "en": "Enter a real date of birth, for example 27 3 1990",
        },
        "born-in-future": {
            "cy": "Rhaid i'ch dyddiad geni fod yn y gorffennol",
            "en": "Your date of birth must be in the past",
        },
        "under-minimum-age": {
            "cy": "Gallwn dderbyn atgyfeiriadau gan bobl 16 oed a hŷn yn unig",
            "en": "We can only take referrals from people aged 16 or over",
        },
    },
    "preferred_language": {
        "missing": {"cy": "Dewiswch iaith", "en": "Choose a language"},
        "invalid": {"cy": "Dewiswch iaith", "en": "Choose a language"},
    },
    "email": {
        "invalid": {
            "cy": "Rhowch gyfeiriad e-bost go iawn, fel enw@example.com",
            "en": "Enter a real email address, like name@example.com",
        },
        "email-missing": {
            "cy": "Rhowch eich cyfeiriad e-bost, neu dad-diciwch e-bost",
            "en": "Enter your email address, or untick email",
        },
    },
    "phone": {
        "invalid": {
            "cy": "Rhowch rif ffôn go iawn, fel 07700 900123",
            "en": "Enter a real phone number, like 07700 900123",
        },
        "phone-missing": {
            "cy": "Rhowch eich rhif ffôn, neu dad-diciwch negeseuon testun",
            "en": "Enter your phone number, or untick text messages",
        },
    },
    "support_needs": {
        "missing": {
            "cy": "Dewiswch o leiaf un peth yr hoffech gael cymorth gydag ef",
            "en": "Choose at least one thing you would like support with",
        },
    },
    "share_with_mentor": {
        "consent-required": {
            "cy": "Mae angen eich caniatâd i rannu'r wybodaeth hon gyda'r tîm er mwyn i ni allu eich helpu",
            "en": "We need your consent to share this with the team so that we can help you",
        },
    },
}
GENERIC_ERROR = {"cy": "Gwiriwch yr ateb hwn", "en": "Check this answer"}


def error_message(field: str, fault: str, language: str) -> str:
    by_fault = ERRORS.get(field, {})
    chosen = by_fault.get(fault) or by_fault.get("invalid") or by_fault.get("missing") or GENERIC_ERROR
    return chosen[language]
