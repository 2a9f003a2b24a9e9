"""Installed, on PostgreSQL, a submission's writes as one function call
(safecampus_report_append). That second implementation of the submission is gone:
reports.services writes through the ORM on every database, and
0008_drop_submission_functions drops the function where this installed it. Kept, doing
nothing, so the migration history stays the one deployed databases have."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_append_function"),
        ("reports", "0003_lean_status_indexes"),
    ]
    operations = []
