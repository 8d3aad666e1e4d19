"""Who may do what in the console: the `run_actions` permission and the two groups built on
Django's model permissions, `operator` (read everything, edit, run actions) and `viewer`
(read only)."""

from typing import Any

RUN_ACTIONS = "flowker.run_actions"
OPERATOR_GROUP = "operator"
VIEWER_GROUP = "viewer"
# Apps whose models the console shows; auth's users and groups stay with superusers.
CONSOLE_APPS = (
    "flowker",
    "audit",
    "apikeys",
    "providers",
    "executors",
    "workflows",
    "executions",
    "webhooks",
)


def console_groups_sync(*, apps: Any) -> None:
    """Create or complete both groups. `apps` is a migration's historical registry or the live
    one, so the data migration and the bootstrap command share this."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran; the groups need them now.
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        # A migration's app configs have no models module, which create_permissions skips.
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    console = permission_model.objects.filter(content_type__app_label__in=CONSOLE_APPS)
    operator, _ = group_model.objects.get_or_create(name=OPERATOR_GROUP)
    operator.permissions.add(*console)
    viewer, _ = group_model.objects.get_or_create(name=VIEWER_GROUP)
    viewer.permissions.add(*console.filter(codename__startswith="view_"))
