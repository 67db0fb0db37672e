from datetime import datetime

from peerlink.bilingual import date_words, site_name


def test_dates_in_welsh_and_english():
    moment = datetime(2026, 12, 1, 10, 0)
    assert date_words(moment, "cy") == "dydd Mawrth 1 Rhagfyr"
    assert date_words(moment, "en") == "Tuesday 1 December"
    assert date_words(moment, "cy", year=True, capital=True) == "Dydd Mawrth 1 Rhagfyr 2026"


def test_site_names():
    assert site_name("merthyr") == {"cy": "Merthyr Tudful", "en": "Merthyr Tydfil"}
    assert site_name("blaenau-gwent") == {"cy": "Blaenau Gwent", "en": "Blaenau Gwent"}
