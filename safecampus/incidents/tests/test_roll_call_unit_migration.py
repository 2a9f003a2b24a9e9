"""Migrations 0008–0009: a roll call taken before them gets its incident's unit, and the
incident becomes optional (a drill's roll call has none)."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from safecampus.incidents import services
from safecampus.incidents.models import Kind, RollCall
from safecampus.test import Personas, TransactionalTestCase

BEFORE = [("incidents", "0007_hazard_entry")]


class RollCallUnitMigrationTests(Personas, TransactionalTestCase):
    def test_the_unit_is_filled_from_the_incident(self) -> None:
        self.build_district()
        incident = services.incident_report(
            by=self.duty_b, unit=self.school_b, kind=Kind.EARTHQUAKE, summary="地震"
        )
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps.get_model("incidents", "RollCall")
        old.objects.create(
            incident_id=incident.pk, started_by_id=self.duty_b.pk, started_at=timezone.now()
        )
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        roll = RollCall.objects.get()
        self.assertEqual((roll.incident_id, roll.unit_id), (incident.pk, self.school_b.pk))
        bare = RollCall.objects.create(
            unit=self.school_a, started_by=self.principal_a, started_at=timezone.now()
        )
        self.assertIsNone(bare.incident_id)
