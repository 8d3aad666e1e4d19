"""Helpers for admin actions and forms that call services (never re-implement a rule)."""

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from flowker import jsoncodec
from flowker.actors import Actor, actor_from_request
from flowker.errors import FlowkerError


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
    for obj in queryset:
        try:
            results.append(service(obj, actor))
        except FlowkerError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.code} {exc.message}", messages.ERROR)
    if results:
        modeladmin.message_user(request, f"{done}: {len(results)}", messages.SUCCESS)
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
        except json.JSONDecodeError as exc:
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
