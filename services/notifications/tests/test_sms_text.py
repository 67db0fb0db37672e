"""Texts: parts billed (GSM-7 160/153, UCS-2 70/67), discretion, numbers, STOP."""

import pytest

from notifications.domain.sms import inbound_intent, indiscreet_words, normalise_phone, text_size


@pytest.mark.parametrize(("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)])
def test_plain_texts_are_160_alone_and_153_a_part(length, segments):
    size = text_size("a" * length)
    assert (size.encoding, size.units, size.segments) == ("GSM-7", length, segments)


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_one_welsh_circumflex_makes_the_whole_text_ucs2_70_alone_67_a_part(length, segments):
    size = text_size("ŵ" + "a" * (length - 1))
    assert (size.encoding, size.units, size.segments) == ("UCS-2", length, segments)


@pytest.mark.parametrize("letter", ["ŵ", "ŷ", "â", "ê", "î", "ô", "û", "\u2019"])
def test_welsh_accents_and_curly_quotes_are_not_gsm7(letter):
    assert text_size(f"Croeso {letter}").encoding == "UCS-2"


def test_accents_that_gsm7_has_stay_gsm7():
    assert text_size("é è à ù ì ò Ä Ö ü ñ").encoding == "GSM-7"


def test_extension_characters_count_twice_and_are_never_split():
    assert text_size("€" * 80).units == 160 and text_size("€" * 80).segments == 1
    assert text_size("a" * 159 + "€").segments == 2
    # 152 plain then a two-unit escape: it cannot fit in the first part's 153, so it moves on.
    assert text_size("a" * 152 + "€" + "a" * 152).segments == 3


def test_a_surrogate_pair_counts_two_units():
    assert text_size("🙂").units == 2 and text_size("🙂" * 35).segments == 1 and text_size("🙂" * 36).segments == 2


@pytest.mark.parametrize(
    "text", ["DrugAid centre", "alcohol-free evening", "Recovery café", "Grŵp adferiad", "cyffuriau", "Sobriety group"]
)
def test_sensitive_words_are_found_in_either_language(text):
    assert indiscreet_words(text)


def test_ordinary_words_are_discreet():
    assert indiscreet_words("Ebbw Vale art group, Tuesday 1 December at 10:00") == []


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+447700900123", "+447700900123"),
        ("07700 900123", "+447700900123"),
        ("(07700) 900-123", "+447700900123"),
        ("00447700900123", "+447700900123"),
        ("447700900123", "+447700900123"),
        ("not a number", None),
        ("", None),
    ],
)
def test_numbers_are_matched_as_e164(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize(
    ("content", "intent"),
    [
        ("STOP", "stop"),
        ("stop", "stop"),
        (" Stopio. ", "stop"),
        ("stop all", "stop"),
        ("START", "start"),
        ("Dechrau", "start"),
        ("Stop texting me at 9pm please", None),
        ("thanks", None),
    ],
)
def test_stop_and_start_in_welsh_or_english(content, intent):
    assert inbound_intent(content) == intent
