"""Installed, on PostgreSQL, a unit's first report through the API in one statement
(safecampus_report_submit) and reinstalled safecampus_report_append. Both are gone
with the one submission path (reports.services): 0008_drop_submission_functions drops
them where this installed them. Kept, doing nothing, so the migration history stays the
one deployed databases have."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0005_report_unit_index_in_the_unique"),
        ("orgs", "0002_unit_depth_index"),
    ]
    operations = []
