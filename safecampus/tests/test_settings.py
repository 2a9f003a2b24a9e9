"""Settings come from the environment, fail loudly on bad values, and pass check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "HTTPS": "1",
    "SAFECAMPUS_TESTING": "0",
    "SECRET_KEY": "k7#Zq2!pV9xL4mN8rT1wY6uE3oA5sD0fG7hJ2kL9zX4cB6nM1qW8eR3tY5uI0pO",
    "ALLOWED_HOSTS": "safe.example.edu.cn",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    full_env.pop("DATABASE_URL", None)
    full_env.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_under_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("TIME_ZONE", "Mars/Olympus"),
        ("DATABASE_URL", "mysql://u@h/db"),
        ("SECRET_KEY", "short"),
        ("API_TOKEN_DAYS", "ten"),
        ("CSRF_TRUSTED_ORIGINS", "safe.example.edu.cn"),
    ],
)
def test_bad_values_stop_start_up_naming_the_setting(name, value):
    result = _manage("check", **{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr


def test_sqlite_runs_in_wal_mode_with_full_sync_and_immediate_transactions():
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]
    assert "synchronous=FULL" in options["init_command"]


def test_a_bad_random_page_cost_stops_start_up_naming_the_setting():
    result = _manage(
        "check", DATABASE_URL="postgres://u@127.0.0.1:1/db", DATABASE_RANDOM_PAGE_COST="cheap"
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DATABASE_RANDOM_PAGE_COST" in result.stderr


@pytest.mark.django_db
def test_postgresql_connections_plan_for_ssd_random_page_cost():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        (value,) = cursor.fetchone()
    # 1.1 unless DATABASE_RANDOM_PAGE_COST says otherwise (empty: the server's, 4 by default)
    expected = os.environ.get("DATABASE_RANDOM_PAGE_COST", "1.1")
    assert float(value) == float(expected or 4)
