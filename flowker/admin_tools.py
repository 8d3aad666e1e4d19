"""Helpers for admin actions and forms that call services (never re-implement a rule)."""

import datetime
import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.timezone import localtime

from flowker import jsoncodec
from flowker.actors import Actor, actor_from_request
from flowker.errors import FlowkerError
from flowker.permissions import RUN_ACTIONS

# Badge colour of each status word the console shows (executions, steps, configurations,
# breakers, connectivity stages, health checks); any other word is drawn muted.
BADGE_TONES = {
    "ok": {"completed", "active", "passed", "closed", "up", "success", "valid"},
    "bad": {"failed", "disabled", "open", "down", "error", "broken"},
    "warn": {"pending", "partial", "half-open", "unknown"},
    "info": {"running", "tested", "configured"},
}


def badge(status: Any) -> str:
    text = str(status)
    tone = next((name for name, words in BADGE_TONES.items() if text.lower() in words), "muted")
    return format_html('<span class="flk-badge tone-{}">{}</span>', tone, text)


def short_id(value: Any) -> str:
    """The last 8 characters, the whole id on hover. Ids are UUIDv7, whose first characters
    are a timestamp shared by everything created in the same minute; the last are random."""
    text = str(value)
    return format_html('<span class="flk-id" title="{}">…{}</span>', text, text[-8:])


def moment(value: datetime.datetime | None, *, micro: bool = False) -> str:
    """A timestamp with seconds (or microseconds) and how long ago it was."""
    if value is None:
        return "—"
    shown = localtime(value).strftime("%Y-%m-%d %H:%M:%S.%f" if micro else "%Y-%m-%d %H:%M:%S")
    return format_html(
        '<span class="flk-nowrap" title="{}">{}</span> <span class="flk-age">{} ago</span>',
        value.isoformat(),
        shown,
        timesince(value, depth=1),
    )


def graph_node_urls(nodes: list[Any]) -> dict[str, str]:
    """Node id → the console page of the executor or provider configuration the node calls."""
    from django.urls import reverse

    targets = (
        ("executorConfigId", "admin:executors_executorconfiguration_change"),
        ("providerConfigId", "admin:providers_providerconfiguration_change"),
    )
    urls = {}
    for node in nodes or []:
        data = node.get("data") if isinstance(node, dict) else None
        if not isinstance(data, dict):
            continue
        for key, url_name in targets:
            try:
                config_id = uuid.UUID(str(data.get(key)))
            except ValueError:
                continue
            urls[str(node.get("id"))] = reverse(url_name, args=[config_id])
            break
    return urls


class RunActionsMixin:
    """For ModelAdmins with actions that change state: such an action declares
    `permissions=["run"]`, which Django checks through `has_run_permission`."""

    def has_run_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RUN_ACTIONS)


def run_for_each(
    modeladmin: Any,
    request: HttpRequest,
    queryset: Any,
    service: Callable[[Any, Actor], Any],
    done: str,
) -> list[Any]:
    """Call `service(obj, actor)` for each selected object; report successes and FLK errors."""
    actor = actor_from_request(request)
    results = []
    refused = 0
    for obj in queryset:
        try:
            results.append(service(obj, actor))
        except FlowkerError as exc:
            refused += 1
            modeladmin.message_user(request, f"{obj}: {exc.code} {exc.message}", messages.ERROR)
    if results:
        summary = f"{done}: {len(results)}"
        if refused:
            summary += f" of {len(results) + refused} ({refused} refused)"
        modeladmin.message_user(request, summary, messages.SUCCESS)
    return results


def flowker_error_to_form(form: forms.Form, exc: FlowkerError, field_map: dict[str, str]) -> None:
    """Show a service's FLK error on the form: per-field reasons where a field matches."""
    placed = False
    for path, reason in (exc.fields or {}).items():
        root = path.split(".")[0].split("[")[0]
        field = field_map.get(root)
        if field and field in form.fields:
            form.add_error(field, f"{path}: {reason}")
            placed = True
    if not placed:
        form.add_error(None, f"{exc.code}: {exc.message}")


class JSONTextField(forms.CharField):
    """A JSON document edited as text, with exact decimals."""

    widget = forms.Textarea(attrs={"rows": 12, "cols": 100, "style": "font-family: monospace"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return value
        return jsoncodec.dumps(value, indent=2) if value is not None else ""

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return None
        try:
            return jsoncodec.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"invalid JSON: {exc}") from exc


class ServiceRefusalsMixin:
    """For ModelAdmins that save and delete through services: a service's refusal (a race the
    form could not foresee, a delete the rules forbid) becomes an error message and a redirect
    instead of a 500 or a false "saved". The exception has already rolled back the view's
    transaction, the admin's log entry included."""

    def _refused(self, request: HttpRequest, exc: FlowkerError, url: str) -> Any:
        from django.http import HttpResponseRedirect

        self.message_user(request, f"{exc.code}: {exc.message}", messages.ERROR)
        return HttpResponseRedirect(url)

    def changeform_view(
        self, request: HttpRequest, object_id: Any = None, *args: Any, **kw: Any
    ) -> Any:
        try:
            return super().changeform_view(request, object_id, *args, **kw)
        except FlowkerError as exc:
            return self._refused(request, exc, request.get_full_path())

    def delete_view(self, request: HttpRequest, object_id: Any, *args: Any, **kw: Any) -> Any:
        from django.urls import reverse

        try:
            return super().delete_view(request, object_id, *args, **kw)
        except FlowkerError as exc:
            meta = self.model._meta
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[object_id])
            return self._refused(request, exc, url)
