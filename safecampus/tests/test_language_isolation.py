"""No test inherits the language an earlier one left active (conftest._default_language)."""

from django.conf import settings
from django.utils import translation


def test_a_leaves_english_active():
    translation.activate("en")  # as a request with Accept-Language: en does, and leaves it


def test_b_starts_in_the_default_language():
    assert translation.get_language() == settings.LANGUAGE_CODE
    assert str(translation.gettext("Daily reports")) == "日报"
