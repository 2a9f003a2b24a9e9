from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0002_unit_depth_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="must_change_password",
            field=models.BooleanField(
                default=False, verbose_name="must change the password at the next login"
            ),
        ),
    ]
