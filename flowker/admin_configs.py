"""The console page of a provider or executor configuration: its status, circuit breaker, last
connectivity test as stages, the workflows that use it, and buttons for its actions. Every
button goes through the same services as the list actions and needs `flowker.run_actions`."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse

from executions.breakers import breaker_key, breaker_reset
from executors.runtime.breaker import breaker_state
from flowker.actors import Actor
from flowker.admin_site import guarded
from flowker.admin_tools import RunActionsMixin, badge, moment, run_for_each
from flowker.permissions import RUN_ACTIONS
from workflows.selectors import workflows_using


@dataclass(frozen=True)
class ConfigButton:
    label: str
    done: str
    service: Callable[[Any, Actor], Any]
    # Statuses in which the button is shown (the service is what decides; this hides the
    # buttons it would refuse). None: every status.
    shown_in: tuple[str, ...] | None = None


class ConfigurationPageMixin(RunActionsMixin):
    change_form_template = "admin/flowker/configuration_change_form.html"
    breaker_kind = ""  # "provider" | "executor"
    buttons: dict[str, ConfigButton] = {}

    def workflows_using(self, obj: Any) -> list[Any]:
        """Workflows whose nodes reference this configuration (by its kind's id key)."""
        return workflows_using(**{f"{self.breaker_kind}_config_id": obj.pk})

    def related_rows(self, obj: Any) -> list[tuple[str, str | None]]:
        """(text, url) of other rows that use this configuration, besides workflows."""
        return []

    def _url_name(self, view: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    def get_urls(self) -> list[Any]:
        act = path(
            "<path:object_id>/act/<str:name>/",
            self.admin_site.admin_view(guarded(self.act_view, RUN_ACTIONS)),
            name=self._url_name("act"),
        )
        return [act, *super().get_urls()]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None:
            context["config_page"] = self._page_context(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _page_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        state = breaker_state(breaker_key(self.breaker_kind, obj.pk))
        result = obj.last_test_result if isinstance(obj.last_test_result, dict) else None
        buttons = []
        if self.has_run_permission(request):
            buttons = [
                (reverse(f"admin:{self._url_name('act')}", args=[obj.pk, name]), button.label)
                for name, button in self.buttons.items()
                if button.shown_in is None or obj.status in button.shown_in
            ]
            buttons.append(
                (
                    reverse(f"admin:{self._url_name('act')}", args=[obj.pk, "reset_breaker"]),
                    "Reset breaker",
                )
            )
        return {
            "status": badge(obj.status),
            "breaker": badge(state["state"]),
            "breaker_failures": state["failures"],
            "tested_at": moment(obj.last_tested_at),
            "test": result,
            "test_overall": badge(result.get("overallStatus", "unknown")) if result else None,
            "stages": [
                {**stage, "badge": badge(stage.get("status", "unknown"))}
                for stage in (result or {}).get("stages") or []
                if isinstance(stage, dict)
            ],
            "workflows": [
                {
                    "name": workflow.name,
                    "status": badge(workflow.status),
                    "url": reverse("admin:workflows_workflow_change", args=[workflow.pk]),
                }
                for workflow in self.workflows_using(obj)
            ],
            "related": self.related_rows(obj),
            "buttons": buttons,
        }

    def act_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        obj = self.get_object(request, unquote(object_id))
        if obj is None or (name not in self.buttons and name != "reset_breaker"):
            raise Http404("no such configuration or action")
        queryset = self.get_queryset(request).filter(pk=obj.pk)
        if name == "reset_breaker":
            key = breaker_key(self.breaker_kind, obj.pk)
            run_for_each(
                self,
                request,
                queryset,
                lambda config, actor: breaker_reset(key=key, actor=actor),
                "Breaker reset",
            )
        else:
            button = self.buttons[name]
            if (
                run_for_each(self, request, queryset, button.service, button.done)
                and name == "test"
            ):
                obj.refresh_from_db()
                self.message_user(request, *describe_test(obj.last_test_result))
        change = reverse(f"admin:{self._url_name('change')}", args=[obj.pk])
        return HttpResponseRedirect(change)


def describe_test(result: Any) -> tuple[str, int]:
    """A connectivity test as a message: overall outcome, then each stage with its reason."""
    result = result if isinstance(result, dict) else {}
    overall = str(result.get("overallStatus", "unknown"))
    stages = "; ".join(
        f"{stage.get('name')}: {stage.get('status')}"
        + (
            f" ({stage.get('error') or stage.get('message')})"
            if stage.get("error") or stage.get("message")
            else ""
        )
        for stage in result.get("stages") or []
        if isinstance(stage, dict)
    )
    level = messages.SUCCESS if overall == "passed" else messages.WARNING
    return f"{overall.upper()} — {stages}", level
