"""Workflows in the operators' console: the graph as a picture, the definition as JSON text
validated like the API, and the lifecycle as actions that call the workflow services."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from rest_framework.exceptions import ValidationError

from flowker import jsoncodec
from flowker.actors import Actor, actor_from_request
from flowker.admin_tools import (
    JSONTextField,
    RunActionsMixin,
    ServiceRefusalsMixin,
    badge,
    flowker_error_to_form,
    graph_node_urls,
    moment,
    run_for_each,
)
from flowker.api.errors import envelope_for
from flowker.errors import FlowkerError
from webhooks.models import WebhookRoute
from workflows import services
from workflows.choices import WorkflowStatus
from workflows.graph_svg import render_workflow_svg
from workflows.models import Workflow
from workflows.serializers import (
    WorkflowInputSerializer,
    masked_callback,
    masked_nodes,
    plain,
)
from workflows.validation import definition_warnings, validate_definition

FIELD_MAP = {
    "name": "name",
    "description": "description",
    "nodes": "nodes",
    "edges": "edges",
    "metadata": "metadata",
    "callback": "callback",
}
# An empty text box means "none", which the model stores as an empty list or object.
EMPTY_DEFINITION = {"nodes": list, "edges": list, "metadata": dict}


class WorkflowForm(forms.ModelForm):
    nodes = JSONTextField(
        required=False,
        help_text="Verify tokens are shown masked; leave a masked token as it is to keep it.",
    )
    edges = JSONTextField(required=False)
    metadata = JSONTextField(
        required=False,
        help_text="Merged into the stored metadata, as the API's update does: "
        "a key cannot be removed here.",
    )
    callback = JSONTextField(
        required=False,
        help_text='Signed completion callback, e.g. {"url": "https://…", "secret": "…", '
        '"events": ["completed", "failed", "cancelled"]}; the secret is shown masked: leave '
        "it as it is to keep it. Empty: no callback.",
    )

    class Meta:
        model = Workflow
        fields = ["name", "description", "nodes", "edges", "metadata", "callback"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.initial["nodes"] = masked_nodes(self.instance.nodes)
            self.initial["callback"] = masked_callback(self.instance.callback)
        else:
            self.initial.setdefault("nodes", [])
            self.initial.setdefault("edges", [])

    def api_data(self) -> dict[str, Any]:
        """The form as the API body, so it goes through the same validation."""
        return {name: self.cleaned_data.get(name) for name in FIELD_MAP}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.instance._state.adding and self.instance.status != WorkflowStatus.DRAFT:
            # workflow_update would refuse it too (FLK-0103), but only in save_model, after
            # the admin has already decided the form is valid.
            self.add_error(None, _not_editable(self.instance))
            return cleaned
        if self.errors:
            return cleaned
        for name, empty in EMPTY_DEFINITION.items():
            if cleaned.get(name) is None:
                cleaned[name] = empty()
        serializer = WorkflowInputSerializer(data=self.api_data())
        if not serializer.is_valid():
            _, body, _ = envelope_for(ValidationError(serializer.errors))
            exc = FlowkerError(body["code"], body["message"], fields=body.get("fields"))
            flowker_error_to_form(self, exc, FIELD_MAP)
            return cleaned
        data = plain(serializer.validated_data)
        try:
            # The services validate the definition again; doing it here as well puts a bad
            # condition, a dangling edge or a cycle on the form instead of after the save.
            validate_definition(data.get("nodes") or [], data.get("edges") or [])
        except FlowkerError as exc:
            flowker_error_to_form(self, exc, FIELD_MAP)
            return cleaned
        self.validated_api_data = data
        return cleaned


def _not_editable(workflow: Workflow) -> str:
    steps = "move it to draft"
    if workflow.status == WorkflowStatus.ACTIVE:
        steps = "deactivate it, then " + steps
    return (
        f"Only draft workflows can be edited; this one is {workflow.status}. To change it, {steps}."
    )


def clone_name(name: str) -> str:
    """The first free `<name> (copy)`, `<name> (copy 2)`, …, the name shortened to fit."""
    limit = Workflow._meta.get_field("name").max_length
    number = 1
    while True:
        suffix = " (copy)" if number == 1 else f" (copy {number})"
        candidate = name[: limit - len(suffix)] + suffix
        if not Workflow.objects.filter(name=candidate).exists():
            return candidate
        number += 1


def _delete(workflow: Workflow, actor: Actor) -> Workflow:
    services.workflow_delete(workflow=workflow, actor=actor)
    return workflow


def _lifecycle(service: Any, name: str, done: str, description: str) -> Any:
    def action(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
        run_for_each(
            modeladmin,
            request,
            queryset,
            lambda obj, actor: service(workflow=obj, actor=actor),
            done,
        )

    action.__name__ = name
    return admin.action(description=description, permissions=["run"])(action)


@admin.action(description="Activate", permissions=["run"])
def activate(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    activated = run_for_each(
        modeladmin,
        request,
        queryset,
        lambda obj, actor: services.workflow_activate(workflow=obj, actor=actor),
        "Activated",
    )
    for workflow in activated:
        for warning in definition_warnings(workflow.pk, workflow.nodes):
            modeladmin.message_user(request, f"{workflow}: {warning}", messages.WARNING)


def _pretty(value: Any) -> str:
    return format_html("<pre>{}</pre>", jsoncodec.dumps(value, indent=2))


@admin.register(Workflow)
class WorkflowAdmin(RunActionsMixin, ServiceRefusalsMixin, admin.ModelAdmin):
    form = WorkflowForm
    list_display = ["name", "status_badge", "node_count", "routes", "updated"]
    list_filter = ["status"]
    search_fields = ["name"]
    ordering = ["-updated_at"]
    actions = [
        activate,
        _lifecycle(services.workflow_deactivate, "deactivate", "Deactivated", "Deactivate"),
        _lifecycle(services.workflow_draft, "move_to_draft", "Moved to draft", "Move to draft"),
        "clone",
        "delete_selected",
    ]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("webhook_routes")

    @staticmethod
    def _editable(obj: Workflow | None) -> bool:
        return obj is None or obj.status == WorkflowStatus.DRAFT

    def get_fieldsets(self, request: HttpRequest, obj: Workflow | None = None) -> list[Any]:
        definition = ["nodes", "edges", "metadata", "callback"]
        if not self._editable(obj):
            definition = ["shown_nodes", "shown_edges", "shown_metadata", "shown_callback"]
        fieldsets: list[Any] = [(None, {"fields": ["name", "description", "status"]})]
        if obj is not None:
            fieldsets.append(("Graph", {"fields": ["graph", "routes"]}))
        fieldsets.append(("Definition", {"fields": definition}))
        if obj is not None:
            fieldsets.append(("History", {"fields": ["created_at", "updated_at"]}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Workflow | None = None) -> list[str]:
        readonly = ["status", "graph", "routes", "created_at", "updated_at"]
        if not self._editable(obj):
            readonly += [
                "name",
                "description",
                "shown_nodes",
                "shown_edges",
                "shown_metadata",
                "shown_callback",
            ]
        return readonly

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Workflow | None = None,
    ) -> HttpResponse:
        if not self._editable(obj):
            context.update(
                show_save=False, show_save_and_continue=False, show_save_and_add_another=False
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Workflow) -> str:
        return badge(obj.status)

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, obj: Workflow) -> str:
        return moment(obj.updated_at)

    @admin.display(description="nodes")
    def node_count(self, obj: Workflow) -> int:
        return len(obj.nodes or [])

    @admin.display(description="webhook routes")
    def routes(self, obj: Workflow) -> str:
        routes = list(obj.webhook_routes.all())
        if not routes:
            return "; ".join(definition_warnings(obj.pk, obj.nodes or [])) or "—"
        return format_html_join("", "<div><code>{}</code></div>", ((route,) for route in routes))

    @admin.display(description="graph")
    def graph(self, obj: Workflow) -> str:
        nodes = masked_nodes(obj.nodes or [])
        svg = render_workflow_svg(nodes, obj.edges or [], node_urls=graph_node_urls(nodes))
        return format_html('<div class="flowker-graph-frame">{}</div>', svg)

    @admin.display(description="nodes")
    def shown_nodes(self, obj: Workflow) -> str:
        return _pretty(masked_nodes(obj.nodes or []))

    @admin.display(description="edges")
    def shown_edges(self, obj: Workflow) -> str:
        return _pretty(obj.edges)

    @admin.display(description="metadata")
    def shown_metadata(self, obj: Workflow) -> str:
        return _pretty(obj.metadata)

    @admin.display(description="callback")
    def shown_callback(self, obj: Workflow) -> str:
        return _pretty(masked_callback(obj.callback)) if obj.callback else "—"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        actor = actor_from_request(request)
        data = form.validated_api_data
        if change:
            # The stored row, not the form's instance: masked tokens are resolved against it.
            saved = services.workflow_update(
                workflow=Workflow.objects.get(pk=obj.pk), data=data, actor=actor
            )
        else:
            saved = services.workflow_create(data=data, actor=actor)
        obj.pk = saved.pk
        obj._state.adding = False

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Routes are read-only in the console because they follow the workflow's status;
        # whether a workflow may be deleted is workflow_delete's call, not a permission.
        perms_needed.discard(WebhookRoute._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Workflow) -> None:
        services.workflow_delete(workflow=obj, actor=actor_from_request(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> list[Workflow]:
        deleted = run_for_each(self, request, queryset, _delete, "Deleted")
        if deleted:
            self.log_deletions(request, deleted)
        return deleted

    @admin.action(permissions=["delete"], description="Delete selected workflows")
    def delete_selected(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        if not request.POST.get("post"):
            # Django's confirmation page; confirming posts back to this action.
            return admin_actions.delete_selected(self, request, queryset)
        # Not Django's deletion: it would report every selected workflow as deleted, even
        # those workflow_delete refused.
        self.delete_queryset(request, queryset)
        return None

    @admin.action(description="Clone (as a draft named “<name> (copy)”)", permissions=["run"])
    def clone(self, request: HttpRequest, queryset: Any) -> None:
        run_for_each(
            self,
            request,
            queryset,
            lambda obj, actor: services.workflow_clone(
                workflow=obj, name=clone_name(obj.name), actor=actor
            ),
            "Cloned",
        )
