"""manage.py rotate_encryption_key — re-encrypt every stored secret with the first key of
FLOWKER_ENCRYPTION_KEY (put the new key first, run this, then drop the old key)."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from executions.models import Execution, ExecutionCallback
from flowker.sealing import rotate_document
from providers.models import ProviderConfiguration
from webhooks.models import WebhookRoute
from workflows.models import Workflow

SEALED_FIELDS = (
    (ProviderConfiguration, "config"),
    (Workflow, "nodes"),
    (Workflow, "callback"),
    (WebhookRoute, "verify_token"),
    (WebhookRoute, "signature"),
    (Execution, "callback_target"),
    (ExecutionCallback, "secret"),
)


class Command(BaseCommand):
    help = "Re-encrypt stored secrets with the first FLOWKER_ENCRYPTION_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        for model, field in SEALED_FIELDS:
            rotated = 0
            with transaction.atomic():
                rows = model.objects.select_for_update().filter(**{f"{field}__isnull": False})
                for pk, value in rows.values_list("pk", field):
                    if value is None:
                        continue
                    model.objects.filter(pk=pk).update(**{field: rotate_document(value)})
                    rotated += 1
            self.stdout.write(f"{model._meta.verbose_name_plural}: {rotated} re-encrypted")
