"""Text typed into a form or an API body, cleaned the one way the services check it."""

from django.utils.translation import gettext as _


def clean_text(
    value: str | None, field: str, errors: dict[str, str], *, required: bool, max_length: int
) -> str:
    """The text stripped; its first fault (a null character, which the database's text
    cannot hold; too long; missing when required) recorded in `errors` under `field`."""
    text = (value or "").strip()
    if "\x00" in text:
        errors[field] = _("Null characters are not allowed.")
    elif len(text) > max_length:
        errors[field] = _("At most %(n)d characters.") % {"n": max_length}
    elif required and not text:
        errors[field] = _("This field is required.")
    return text
