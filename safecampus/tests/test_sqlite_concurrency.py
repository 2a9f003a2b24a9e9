"""On SQLite, concurrent writers wait for each other instead of failing with "database is locked"."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import os
from safecampus.audit.services import acting_as
from safecampus.orgs import services
from safecampus.orgs.models import Person, Unit, UnitKind
tag = os.environ["WRITER_TAG"]
admin = Person.objects.get(username="sys")
bureau = Unit.objects.get(code="B")
with acting_as("writer " + tag):
    for i in range(40):
        services.unit_create(by=admin, parent=bureau, code=f"{tag}{i}", name=f"{tag}{i}",
                             kind=UnitKind.SCHOOL)
print("done", tag)
"""

SETUP = """
from safecampus.audit.services import acting_as
from safecampus.orgs import services
from safecampus.orgs.models import AdminRole, Person, UnitKind
with acting_as("setup"):
    admin = Person.objects.create(username="sys", name="sys", admin_role=AdminRole.SYSTEM)
    services.unit_create(by=admin, parent=None, code="B", name="B", kind=UnitKind.BUREAU)
"""


def _env(var_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.pop("DATABASE_URL", None)
    env.update({"VAR_DIR": var_dir, "SAFECAMPUS_TESTING": "1"})
    return env


@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="SQLite only")
def test_two_processes_writing_at_once_both_succeed_and_the_chain_holds():
    with tempfile.TemporaryDirectory() as var_dir:
        env = _env(var_dir)
        manage = [sys.executable, "manage.py"]
        run = {"cwd": ROOT, "env": env, "capture_output": True, "text": True, "timeout": 300}
        subprocess.run([*manage, "migrate", "-v0"], check=True, **run)  # noqa: S603
        subprocess.run([*manage, "shell", "-c", SETUP], check=True, **run)  # noqa: S603
        writers = [
            subprocess.Popen(  # noqa: S603
                [*manage, "shell", "-c", WRITER],
                cwd=ROOT,
                env={**env, "WRITER_TAG": tag},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for tag in ("P", "Q")
        ]
        outputs = [w.communicate(timeout=300) for w in writers]
        for writer, (out, err) in zip(writers, outputs, strict=True):
            assert writer.returncode == 0, err
            assert "locked" not in err
            assert "done" in out
        count = subprocess.run(  # noqa: S603
            [
                *manage,
                "shell",
                "-c",
                "from safecampus.orgs.models import Unit; print(Unit.objects.count())",
            ],
            check=True,
            **run,
        )
        assert count.stdout.strip().splitlines()[-1] == "81"
        verify = subprocess.run([*manage, "audit", "verify"], check=False, **run)  # noqa: S603
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "OK" in verify.stdout
