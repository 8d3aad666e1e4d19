"""Workflows: a graph of trigger, executor, conditional and action nodes joined by edges."""

from django.db import models

from flowker.ids import new_id
from flowker.jsoncodec import DecimalJSONDecoder, DecimalJSONEncoder
from workflows.choices import WorkflowStatus


def _json(verbose_name: str, default=list) -> models.JSONField:
    return models.JSONField(
        verbose_name,
        default=default,
        blank=True,
        encoder=DecimalJSONEncoder,
        decoder=DecimalJSONDecoder,
    )


class Workflow(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField("name", max_length=100, unique=True)
    description = models.TextField("description", max_length=500, blank=True, default="")
    status = models.CharField(
        "status", max_length=16, choices=WorkflowStatus.choices, default=WorkflowStatus.DRAFT
    )
    # Verify tokens inside trigger node data are stored sealed (flowker.sealing).
    nodes = _json("nodes")
    edges = _json("edges")
    metadata = _json("metadata", default=dict)
    # Executor nodes that name an endpoint (providerConfigId + endpointName) are pinned at
    # activation to the executor configuration they resolved to: {node id: configuration id}.
    # A live workflow never changes target because another configuration appears.
    executor_bindings = _json("executor configuration bindings", default=dict)
    # Signed completion callback {url?, secret (sealed), events} or null (executions/callbacks.py).
    callback = models.JSONField(
        "completion callback",
        null=True,
        blank=True,
        encoder=DecimalJSONEncoder,
        decoder=DecimalJSONDecoder,
    )
    created_at = models.DateTimeField("created at", auto_now_add=True)
    updated_at = models.DateTimeField("updated at", auto_now=True)

    class Meta:
        verbose_name = "workflow"
        verbose_name_plural = "workflows"
        indexes = [
            models.Index(fields=["created_at", "id"], name="workflow_created_idx"),
            models.Index(fields=["updated_at", "id"], name="workflow_updated_idx"),
            models.Index(fields=["name", "id"], name="workflow_name_idx"),
            models.Index(fields=["status", "created_at"], name="workflow_status_idx"),
        ]

    def __str__(self) -> str:
        return self.name
