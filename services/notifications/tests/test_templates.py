"""Every kind of message has a Welsh and an English template, both ready, both saying Welsh is
welcome; texts are discreet; a Welsh template missing or behind its English one blocks the kind."""

import re
import shutil

import pytest

from notifications.domain.kinds import AUDIENCES_OF
from notifications.domain.messages import compose_email, compose_text
from notifications.domain.sms import MAX_CHARACTERS, indiscreet_words
from notifications.previews import sample_context
from notifications.templating import DIRECTORY, LANGUAGES, TemplateSet, template_name
from peerlink.contracts.vocabulary import MESSAGE_KINDS

TEMPLATES = TemplateSet()
CASES = [(kind, audience) for kind in MESSAGE_KINDS for audience in AUDIENCES_OF[kind]]
WELSH_WELCOME = re.compile("[CG]ymraeg")  # "Cymraeg" mutates to "Gymraeg" after "yn"
# A placeholder Jinja left in, or two words run together across a template tag.
LEFTOVERS = re.compile(r"\{\{|\{%|\bNone\b|[a-z]\)[a-z]|\)[A-Za-z]")


def context(kind, audience):
    return sample_context(kind, audience=audience, given_name="Rhian", site="ebbw-vale")


def test_every_kind_of_message_has_a_list_of_audiences():
    assert sorted(AUDIENCES_OF) == sorted(MESSAGE_KINDS)


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
def test_every_kind_has_a_welsh_and_an_english_file_and_is_ready(kind):
    for language in LANGUAGES:
        assert (DIRECTORY / template_name(kind, language)).is_file(), f"{kind} has no {language} template"
    assert TEMPLATES.describe(kind).problem is None


def test_there_are_no_templates_of_kinds_nobody_sends():
    assert set(TEMPLATES.kinds()) == set(MESSAGE_KINDS)


@pytest.mark.parametrize(("kind", "audience"), CASES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_a_subject_and_a_body_that_says_welsh_is_welcome(kind, audience, language):
    rendered = TEMPLATES.render(kind, language, context(kind, audience))
    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.body.startswith(("Hello Rhian,", "Helo Rhian,"))
    assert WELSH_WELCOME.search(rendered.body)
    assert not LEFTOVERS.search(rendered.subject + rendered.body), rendered.body
    assert not indiscreet_words(rendered.subject)


@pytest.mark.parametrize(("kind", "audience"), [case for case in CASES if TEMPLATES.describe(case[0]).has_sms])
@pytest.mark.parametrize("languages", [("cy",), ("en",), ("cy", "en")])
def test_every_text_is_discreet_says_welsh_is_welcome_and_fits(kind, audience, languages):
    text = compose_text(kind, languages, context(kind, audience), TEMPLATES.render)
    assert indiscreet_words(text.text) == []
    assert WELSH_WELCOME.search(text.text) and "STOP" in text.text
    assert not LEFTOVERS.search(text.text), text.text
    assert len(text.text) <= MAX_CHARACTERS and text.size.segments <= 6
    if languages == ("cy", "en"):
        assert text.text.index("Helo") < text.text.index("Hello")


def test_only_staff_messages_have_no_text_version():
    without = {kind for kind in MESSAGE_KINDS if not TEMPLATES.describe(kind).has_sms}
    assert without == {"digest", "referral-received-coordinator"}


@pytest.mark.parametrize("kind", ["event-reminder", "registration-confirmed", "event-cancelled"])
def test_an_indiscreet_event_title_or_venue_is_left_out_of_texts_not_of_emails(kind):
    values = {
        **context(kind, "person"),
        "title": {"cy": "Caffi adferiad", "en": "Recovery café"},
        "venue": "DrugAid Centre",
    }
    text = compose_text(kind, ("cy", "en"), values, TEMPLATES.render)
    assert indiscreet_words(text.text) == []
    email = compose_email(kind, ("en",), values, TEMPLATES.render)
    assert "Recovery café" in email.subject


def test_a_bilingual_email_puts_welsh_first_in_subject_and_body():
    email = compose_email(
        "referral-acknowledged", ("cy", "en"), context("referral-acknowledged", "person"), TEMPLATES.render
    )
    assert email.subject == "Rydym wedi derbyn eich atgyfeiriad / We have received your referral"
    assert email.body.index("Helo Rhian") < email.body.index("Hello Rhian")


@pytest.fixture
def copied(tmp_path):
    for path in DIRECTORY.glob("*.j2"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _set_revision(path, revision):
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(f"{{# revision: {revision} #}}\n" + "".join(lines[1:]), encoding="utf-8")


def test_an_english_template_newer_than_its_welsh_one_blocks_the_kind(copied):
    _set_revision(copied / "event-reminder.en.j2", 2)
    templates = TemplateSet(copied)
    assert templates.problem("event-reminder") == ("the Welsh template is at revision 1, older than the English at 2")
    _set_revision(copied / "event-reminder.cy.j2", 2)
    assert templates.problem("event-reminder") is None


def test_a_missing_welsh_template_or_revision_blocks_the_kind(copied):
    (copied / "event-changed.cy.j2").unlink()
    assert "Welsh template event-changed.cy.j2 is missing" in TemplateSet(copied).problem("event-changed")
    source = (copied / "match-ended.cy.j2").read_text(encoding="utf-8")
    (copied / "match-ended.cy.j2").write_text(source.split("\n", 1)[1], encoding="utf-8")
    assert "no revision header" in TemplateSet(copied).problem("match-ended")
