"""Password rules: a minimum length from the policy, and three of four character classes."""

import string
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .policy import current_policy


class PolicyLengthValidator:
    def validate(self, password: str, user: Any = None) -> None:
        minimum = current_policy().min_password_length
        if len(password) < minimum:
            raise ValidationError(
                _("The password must be at least %(min)d characters long.") % {"min": minimum},
                code="password_too_short",
            )

    def get_help_text(self) -> str:
        return _("At least %(min)d characters.") % {"min": current_policy().min_password_length}


class CharacterClassValidator:
    """Upper case, lower case, digits, other characters: at least three of the four."""

    def validate(self, password: str, user: Any = None) -> None:
        classes = [
            any(c in string.ascii_uppercase for c in password),
            any(c in string.ascii_lowercase for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
        if sum(classes) < 3:
            raise ValidationError(
                _(
                    "Use at least three of: upper-case letters, lower-case letters, digits, "
                    "other characters."
                ),
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return _("At least three of: upper-case letters, lower-case letters, digits, symbols.")


def password_must_change(user: Any) -> bool:
    """The holder must choose a new password before anything else: someone else set it
    (a reset: Person.must_change_password), or it is older than the policy allows.
    Pages (orgs.middleware) and the API's token endpoint both ask this."""
    from .policy import password_expired

    return bool(getattr(user, "must_change_password", False)) or password_expired(user)
