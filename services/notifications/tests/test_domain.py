import pytest

from notifications.domain import BILINGUAL_SEPARATOR, NoChannel, Recipient, compose, email_address, languages_for


def recipient(**overrides) -> Recipient:
    values = {
        "person_id": "p-1",
        "given_name": "Rhian",
        "email": "rhian@example.org",
        "phone": None,
        "preferred_language": "cy",
        "channels": ("email",),
        "safe_to_text": False,
    }
    return Recipient(**{**values, **overrides})


def fake_render(kind, language, values):
    return f"{language}-subject", f"{language} body for {values['given_name']}"


@pytest.mark.parametrize(("preference", "languages"), [("cy", ("cy",)), ("en", ("en",)), (None, ("cy", "en"))])
def test_welsh_to_welsh_speakers_english_to_english_and_both_welsh_first_when_unknown(preference, languages):
    assert languages_for(recipient(preferred_language=preference)) == languages


def test_a_bilingual_message_puts_welsh_first_in_subject_and_body():
    composed = compose("k", recipient(preferred_language=None), {}, fake_render)
    assert composed.subject == "cy-subject / en-subject"
    welsh, english = composed.body.split(BILINGUAL_SEPARATOR)
    assert welsh.startswith("cy body for Rhian") and english.startswith("en body")


@pytest.mark.parametrize(
    ("overrides", "why"),
    [({"channels": ()}, "not agreed"), ({"email": None}, "no email address")],
)
def test_no_email_without_consent_and_an_address(overrides, why):
    with pytest.raises(NoChannel, match=why):
        email_address(recipient(**overrides))
