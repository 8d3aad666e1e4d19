"""Read-only console pages for the catalog, which has no models: a list per kind of entry and a
page per entry with its pretty-printed schema."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from catalog import registry
from flowker import jsoncodec
from flowker.actors import actor_from_request
from flowker.admin_site import ConsolePage, register_page
from flowker.errors import FlowkerError
from providers.selectors import provider_config_choices
from workflows.services import workflow_create_from_template


def _render(request: HttpRequest, template: str, **context: Any) -> TemplateResponse:
    return TemplateResponse(
        request, f"admin/catalog/{template}", {**admin.site.each_context(request), **context}
    )


def _link(url_name: str, *args: str) -> str:
    return reverse(f"admin:{url_name}", args=args)


def _row(url_name: str, spec_id: str, cells: list[str]) -> dict[str, Any]:
    """A table row whose first cell links to the entry's page."""
    return {"url": _link(url_name, spec_id), "cells": cells}


def _found(spec: Any) -> Any:
    if spec is None:
        raise Http404("not in the catalog")
    return spec


def _detail(
    request: HttpRequest,
    *,
    kind: str,
    list_url_name: str,
    spec_id: str,
    facts: list[tuple[str, str, str | None]],
    schema_label: str,
    schema: dict,
    related: dict[str, Any] | None = None,
    build_url: str | None = None,
) -> TemplateResponse:
    return _render(
        request,
        "detail.html",
        title=spec_id,
        kind=kind,
        list_url=_link(list_url_name),
        facts=facts,
        related=related,
        schema_label=schema_label,
        schema=jsoncodec.dumps(schema, indent=2),
        build_url=build_url,
    )


def _executor_rows(executors: list[registry.ExecutorSpec]) -> list[dict[str, Any]]:
    return [
        _row(
            "catalog_executor",
            spec.id,
            [spec.id, spec.name, spec.category, spec.provider_id or "—", spec.version],
        )
        for spec in executors
    ]


_EXECUTOR_HEADERS = ["ID", "Name", "Category", "Provider", "Version"]


def executor_list(request: HttpRequest) -> TemplateResponse:
    return _render(
        request,
        "list.html",
        title="Catalog executors",
        headers=_EXECUTOR_HEADERS,
        rows=_executor_rows(registry.executors()),
    )


def executor_detail(request: HttpRequest, key: str) -> TemplateResponse:
    spec = _found(registry.get_executor(key))
    provider_url = _link("catalog_provider", spec.provider_id) if spec.provider_id else None
    return _detail(
        request,
        kind="Executors",
        list_url_name="catalog_executors",
        spec_id=spec.id,
        facts=[
            ("Name", spec.name, None),
            ("Category", spec.category, None),
            ("Version", spec.version, None),
            ("Provider", spec.provider_id or "none (calls no external service)", provider_url),
        ],
        schema_label="Configuration schema",
        schema=spec.schema,
    )


def trigger_list(request: HttpRequest) -> TemplateResponse:
    rows = [
        _row("catalog_trigger", spec.id, [spec.id, spec.name, spec.version])
        for spec in registry.triggers()
    ]
    return _render(
        request,
        "list.html",
        title="Catalog triggers",
        headers=["ID", "Name", "Version"],
        rows=rows,
    )


def trigger_detail(request: HttpRequest, key: str) -> TemplateResponse:
    spec = _found(registry.get_trigger(key))
    return _detail(
        request,
        kind="Triggers",
        list_url_name="catalog_triggers",
        spec_id=spec.id,
        facts=[("Name", spec.name, None), ("Version", spec.version, None)],
        schema_label="Trigger data schema",
        schema=spec.schema,
    )


def provider_list(request: HttpRequest) -> TemplateResponse:
    rows = [
        _row("catalog_provider", spec.id, [spec.id, spec.name, spec.description, spec.version])
        for spec in registry.providers()
    ]
    return _render(
        request,
        "list.html",
        title="Catalog providers",
        headers=["ID", "Name", "Description", "Version"],
        rows=rows,
    )


def provider_detail(request: HttpRequest, key: str) -> TemplateResponse:
    spec = _found(registry.get_provider(key))
    return _detail(
        request,
        kind="Providers",
        list_url_name="catalog_providers",
        spec_id=spec.id,
        facts=[
            ("Name", spec.name, None),
            ("Description", spec.description, None),
            ("Version", spec.version, None),
        ],
        related={
            "caption": "Executors",
            "headers": _EXECUTOR_HEADERS,
            "rows": _executor_rows(registry.executors_for_provider(spec.id)),
        },
        schema_label="Configuration schema",
        schema=spec.config_schema,
    )


def template_list(request: HttpRequest) -> TemplateResponse:
    rows = [
        _row(
            "catalog_template",
            spec.id,
            [spec.id, spec.name, spec.category, spec.description, spec.version],
        )
        for spec in registry.templates()
    ]
    return _render(
        request,
        "list.html",
        title="Catalog workflow templates",
        headers=["ID", "Name", "Category", "Description", "Version"],
        rows=rows,
    )


def template_form_class(spec: registry.TemplateSpec) -> type[forms.Form]:
    """A form with one field per template parameter, from its JSON Schema."""
    schema = spec.param_schema
    required = set(schema.get("required") or [])
    fields: dict[str, forms.Field] = {}
    for name, prop in (schema.get("properties") or {}).items():
        options = {
            "label": name,  # the parameter's name, as the API and the guide spell it
            "required": name in required,
            "help_text": prop.get("description", ""),
            "initial": prop.get("default"),
        }
        if name in spec.provider_params:
            choices = provider_config_choices(provider_id=spec.provider_params[name])
            fields[name] = forms.ChoiceField(
                choices=[("", "—")] + [(c["const"], c["title"]) for c in choices], **options
            )
        elif "enum" in prop:
            fields[name] = forms.ChoiceField(choices=[(v, v) for v in prop["enum"]], **options)
        elif prop.get("type") == "number":
            fields[name] = forms.FloatField(**options)
        elif prop.get("writeOnly"):
            fields[name] = forms.CharField(widget=forms.PasswordInput, **options)
        else:
            fields[name] = forms.CharField(**options)
    return type(f"{spec.id}Form", (forms.Form,), fields)


def template_build(request: HttpRequest, key: str) -> TemplateResponse | HttpResponseRedirect:
    """Create a draft workflow from a template through the workflow service."""
    spec = _found(registry.get_template(key))
    form = template_form_class(spec)(request.POST or None)
    if request.method == "POST" and form.is_valid():
        params = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        try:
            workflow = workflow_create_from_template(
                template_id=spec.id, params=params, actor=actor_from_request(request)
            )
        except FlowkerError as exc:
            placed = False
            for path_, reason in (exc.fields or {}).items():
                name = path_.removeprefix("params.").split(".")[0]
                if name in form.fields:
                    form.add_error(name, reason)
                    placed = True
            if not placed:
                form.add_error(None, f"{exc.code}: {exc.message}")
        else:
            messages.success(request, f"Workflow {workflow.name!r} created as a draft.")
            return HttpResponseRedirect(_link("workflows_workflow_change", str(workflow.pk)))
    return _render(
        request,
        "build.html",
        title=f"New workflow from {spec.name}",
        template_url=_link("catalog_template", spec.id),
        form=form,
    )


def template_detail(request: HttpRequest, key: str) -> TemplateResponse:
    spec = _found(registry.get_template(key))
    provider_facts = [
        (f"Parameter {param}", f"a configuration of provider {provider_id}", None)
        for param, provider_id in spec.provider_params.items()
    ]
    return _detail(
        request,
        kind="Templates",
        list_url_name="catalog_templates",
        spec_id=spec.id,
        facts=[
            ("Name", spec.name, None),
            ("Description", spec.description, None),
            ("Category", spec.category, None),
            ("Version", spec.version, None),
            *provider_facts,
        ],
        schema_label="Parameter schema",
        schema=spec.param_schema,
        build_url=_link("catalog_template_build", spec.id)
        if request.user.has_perm("workflows.add_workflow")
        else None,
    )


for route, view, name, label in [
    ("catalog/executors/", executor_list, "catalog_executors", "Executors"),
    ("catalog/triggers/", trigger_list, "catalog_triggers", "Triggers"),
    ("catalog/providers/", provider_list, "catalog_providers", "Providers"),
    ("catalog/templates/", template_list, "catalog_templates", "Workflow templates"),
]:
    register_page(
        ConsolePage(
            route=route, view=view, name=name, section="Catalog", label=label, permission=None
        )
    )

for route, view, name in [
    ("catalog/executors/<str:key>/", executor_detail, "catalog_executor"),
    ("catalog/triggers/<str:key>/", trigger_detail, "catalog_trigger"),
    ("catalog/providers/<str:key>/", provider_detail, "catalog_provider"),
    ("catalog/templates/<str:key>/", template_detail, "catalog_template"),
]:
    register_page(
        ConsolePage(
            route=route,
            view=view,
            name=name,
            section="Catalog",
            label=name,
            permission=None,
            listed=False,
        )
    )

register_page(
    ConsolePage(
        route="catalog/templates/<str:key>/build/",
        view=template_build,
        name="catalog_template_build",
        section="Catalog",
        label="New workflow from a template",
        permission="workflows.add_workflow",
        listed=False,
    )
)
