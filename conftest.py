"""pytest configuration shared by every test module."""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.utils import translation


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Every test starts in the default language (Simplified Chinese), whatever an earlier
    test (or a request it made: LocaleMiddleware activates the request's language in the
    thread) left active. A test that asserts words activates their language itself
    (translation.override("en") / "zh-hans"), or asserts on data."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_security_policy() -> Iterator[None]:
    """Every test reads the security policy from its database: a test that changed it
    (in a transaction rolled back after it) left it cached for a minute (orgs.policy),
    and the next test validated passwords against a policy no longer stored."""
    from safecampus.orgs.policy import forget_policy

    forget_policy()
    yield
    forget_policy()


@pytest.fixture(autouse=True, scope="session")
def _media_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Photos and exports the tests write go to a folder of the run's own (one per xdist
    worker), never into var/media of the work tree."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))
    yield
