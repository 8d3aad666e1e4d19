"""Webhook routes: which active workflow answers METHOD + path. Kept in the database, unique
by constraint, so every web process sees an activation at once and two can never share a
path."""

from django.db import models

from flowker.ids import new_id
from flowker.jsoncodec import DecimalJSONDecoder, DecimalJSONEncoder


class WebhookRoute(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    method = models.CharField("method", max_length=10)
    path = models.CharField("normalised path", max_length=500)
    workflow = models.ForeignKey(
        "workflows.Workflow",
        verbose_name="workflow",
        related_name="webhook_routes",
        on_delete=models.CASCADE,
    )
    trigger_node_id = models.CharField("trigger node", max_length=50)
    # A sealed leaf ({"$encrypted": ...}) or null when the route has no verify token.
    verify_token = models.JSONField(
        "verify token (sealed)",
        null=True,
        blank=True,
        encoder=DecimalJSONEncoder,
        decoder=DecimalJSONDecoder,
    )
    # The trigger's `signature` settings with the secret sealed, or null (webhooks/signatures.py).
    signature = models.JSONField(
        "signature settings (secret sealed)",
        null=True,
        blank=True,
        encoder=DecimalJSONEncoder,
        decoder=DecimalJSONDecoder,
    )
    created_at = models.DateTimeField("registered at", auto_now_add=True)

    class Meta:
        verbose_name = "webhook route"
        verbose_name_plural = "webhook routes"
        constraints = [
            models.UniqueConstraint(fields=["method", "path"], name="webhook_route_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.method} /v1/webhooks{self.path}"
