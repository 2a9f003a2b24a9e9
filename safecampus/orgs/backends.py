from typing import Any

from django.contrib.auth.backends import ModelBackend

from .models import MOBILE_RE, Person


class UsernameOrMobileBackend(ModelBackend):
    """Log in with a username or a mobile number.

    An unknown account costs the same password hashing as a known one, so
    timing does not tell them apart.
    """

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kw: Any
    ) -> Person | None:
        if not username or password is None:
            return None
        username = username.strip()
        field = "mobile" if MOBILE_RE.match(username) else "username"
        try:
            person = Person.objects.get(**{field: username})
        except Person.DoesNotExist:
            Person().set_password(password)
            return None
        if person.check_password(password) and self.user_can_authenticate(person):
            return person
        return None
