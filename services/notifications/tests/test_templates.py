import re

import pytest

from notifications import templates
from notifications.domain import site_name

KINDS = templates.kinds()
VALUES = {"given_name": "Rhian", "reference": "5F0C6F0E", "site_name": site_name("ebbw-vale"), "site": "ebbw-vale"}
# Discreet by default: nothing that gives away why someone is in touch with us.
INDISCREET = re.compile(r"drug|alcohol|addict|substance|relapse|cyffur|alcohol|caeth", re.I)


def test_there_are_templates():
    assert "referral-acknowledged" in KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_a_welsh_and_an_english_file(kind):
    for language in templates.LANGUAGES:
        assert (templates.DIRECTORY / templates.template_name(kind, language)).is_file(), f"{kind} has no {language}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", templates.LANGUAGES)
def test_every_template_renders_a_subject_and_a_discreet_body(kind, language):
    subject, body = templates.render(kind, language, VALUES)
    assert subject and "\n" not in subject
    assert "Rhian" in body
    assert not INDISCREET.search(subject + body)


@pytest.mark.parametrize("kind", KINDS)
def test_every_message_says_welsh_is_welcome(kind):
    _, english = templates.render(kind, "en", VALUES)
    _, welsh = templates.render(kind, "cy", VALUES)
    # "Cymraeg" mutates to "Gymraeg" after "yn": either spelling says it.
    assert re.search("[CG]ymraeg", english) and re.search("[CG]ymraeg", welsh)
