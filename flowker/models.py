"""The console's own permission, which belongs to no domain model."""

from django.db import models


class Console(models.Model):
    """Holds `flowker.run_actions` (no table): the right to change state from the console,
    on top of the model permissions that decide what a user may read or edit."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            (
                "run_actions",
                "Can run console actions (test, enable, disable, activate, retry, reset, verify)",
            )
        ]

    def __str__(self) -> str:
        return "console"
