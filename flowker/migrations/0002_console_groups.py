"""The console's groups: `operator` and `viewer` (see flowker/permissions.py)."""

from django.db import migrations

from flowker.permissions import console_groups_sync


def create_groups(apps, schema_editor):
    console_groups_sync(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("flowker", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("audit", "0002_append_only"),
        ("apikeys", "0001_initial"),
        ("providers", "0001_initial"),
        ("executors", "0001_initial"),
        ("workflows", "0001_initial"),
        ("executions", "0001_initial"),
        ("webhooks", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
