"""Executions, circuit breakers and dashboards in the operators' console.

Executions are read-only records: the picture of each one's path through its workflow snapshot,
its steps, error and documents, with cancel and retry as actions through the execution services.
Breakers and dashboards are console pages; the dashboard chart is inline SVG built here.
"""

import datetime
import math
import re
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from executions import dashboards, services
from executions.breakers import breaker_list, breaker_reset
from executions.callbacks import callback_state
from executions.choices import ACTIVE, RETRYABLE, ExecutionStatus
from executions.models import Execution, ExecutionCallback
from executors.runtime.redaction import redact_url
from flowker import jsoncodec
from flowker.actors import Actor, actor_from_request
from flowker.admin_site import ConsolePage, guarded, register_home, register_page
from flowker.admin_tools import (
    RunActionsMixin,
    badge,
    graph_node_urls,
    moment,
    run_for_each,
    short_id,
)
from flowker.errors import FlowkerError
from flowker.health import dependency_health
from flowker.permissions import RUN_ACTIONS
from flowker.sealing import mask_document
from workflows.graph_svg import render_workflow_svg
from workflows.models import Workflow

# Documents the changelist never shows; a workflow snapshot alone can be large.
LIST_DEFERRED = ("input_data", "output_data", "nodes", "edges", "callback_target")


def _cancel(execution: Execution, actor: Actor) -> Execution:
    return services.execution_cancel(execution=execution, actor=actor)


def _retry_from(start_from: str) -> Any:
    def retry(execution: Execution, actor: Actor) -> Execution:
        return services.execution_retry(execution=execution, start_from=start_from, actor=actor)

    return retry


# name → (service, success message, label, statuses the service accepts); used by the list
# actions and by the change-page buttons, which show only where the service would act.
TRANSITIONS = {
    "cancel": (_cancel, "Cancelled", "Cancel", ACTIVE),
    "retry_from_start": (
        _retry_from("start"),
        "Retried from start",
        "Retry from start",
        RETRYABLE,
    ),
    "retry_from_failed_step": (
        _retry_from("failed_step"),
        "Retried from the failed step",
        "Retry from the failed step",
        RETRYABLE,
    ),
}


class ErrorCodeFilter(admin.SimpleListFilter):
    title = "error code"
    parameter_name = "error_code"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        codes = (
            Execution.objects.filter(status=ExecutionStatus.FAILED)
            .order_by()
            .values_list("error__code", flat=True)
            .distinct()[:50]
        )
        return [(code, code) for code in sorted(c for c in codes if isinstance(c, str))]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(error__code=self.value()) if self.value() else queryset


def _transition_action(name: str) -> Any:
    service, done, label, _ = TRANSITIONS[name]

    def action(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
        results = run_for_each(modeladmin, request, queryset, service, done)
        if results and name != "cancel":
            links = format_html_join(
                ", ",
                '<a href="{}">{}</a>',
                (
                    (reverse("admin:executions_execution_change", args=[new.pk]), short_id(new.pk))
                    for new in results
                ),
            )
            modeladmin.message_user(request, format_html("New executions: {}", links))

    action.__name__ = name
    return admin.action(description=label, permissions=["run"])(action)


def _duration_text(milliseconds: float | None) -> str:
    if milliseconds is None:
        return "—"
    if milliseconds < 1000:
        return f"{round(milliseconds)} ms"
    return f"{milliseconds / 1000:.1f} s"


def _duration_ms(execution: Execution) -> float | None:
    if execution.completed_at is None:
        return None
    return (execution.completed_at - execution.started_at).total_seconds() * 1000


def _pretty(value: Any) -> str:
    return jsoncodec.dumps(value, indent=2)


def _path_steps(execution: Execution, steps: list[Any]) -> dict[str, dict[str, Any]]:
    """What render_workflow_svg draws for each node: its step's status, duration and number."""
    # Triggers get no step, yet one fired: that is what started the execution.
    drawn = {
        str(node.get("id")): {"status": "completed"}
        for node in execution.nodes or []
        if isinstance(node, dict) and node.get("type") == "trigger"
    }
    for step in steps:
        drawn[step.node_id] = {
            "status": step.status,
            "durationMs": step.duration_ms,
            "stepNumber": step.step_number,
        }
    return drawn


def _with_workflow_name(queryset: Any) -> Any:
    # Not select_related: a deleted workflow keeps its executions, and the join would drop them.
    name = Workflow.objects.filter(pk=OuterRef("workflow_id")).values("name")[:1]
    return queryset.annotate(workflow_name=Subquery(name))


class ExecutionChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> Any:
        return super().get_queryset(request, exclude_parameters).defer(*LIST_DEFERRED)


@admin.register(Execution)
class ExecutionAdmin(RunActionsMixin, admin.ModelAdmin):
    change_form_template = "admin/executions/execution/change_form.html"
    list_display = [
        "short_id",
        "status_badge",
        "workflow_link",
        "started",
        "duration",
        "error_code",
    ]
    list_display_links = ["short_id"]
    list_filter = ["status", "workflow", ErrorCodeFilter, "started_at"]
    search_fields = ["id", "=idempotency_key"]
    search_help_text = "An execution id (or any part of it) or an exact idempotency key."
    list_per_page = 50
    ordering = ["-started_at", "-id"]
    actions = [_transition_action(name) for name in TRANSITIONS]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "id",
                    "workflow_link",
                    "status_badge",
                    "progress",
                    "retry_of_link",
                    "retries",
                    "idempotency_key",
                ]
            },
        ),
        ("Timing", {"fields": ["started_at", "completed_at", "duration", "deadline_at"]}),
        ("Completion callback", {"fields": ["callback"]}),
        (
            "Dispatch",
            {
                "classes": ["collapse"],
                "fields": ["dispatched_at", "dispatch_count", "lease_owner", "lease_expires_at"],
            },
        ),
    ]
    readonly_fields = [
        "id",
        "workflow_link",
        "status_badge",
        "progress",
        "retry_of_link",
        "retries",
        "idempotency_key",
        "started_at",
        "completed_at",
        "duration",
        "deadline_at",
        "dispatched_at",
        "dispatch_count",
        "lease_owner",
        "lease_expires_at",
        "callback",
    ]

    def get_queryset(self, request: HttpRequest) -> Any:
        return _with_workflow_name(super().get_queryset(request))

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ExecutionChangeList

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="id", ordering="id")
    def short_id(self, obj: Execution) -> str:
        return short_id(obj.pk)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Execution) -> str:
        return badge(obj.status)

    @admin.display(description="started", ordering="started_at")
    def started(self, obj: Execution) -> str:
        return moment(obj.started_at)

    @admin.display(description="workflow")
    def workflow_link(self, obj: Execution) -> str:
        name = getattr(obj, "workflow_name", None)
        if name is None:
            return f"deleted workflow {obj.workflow_id}"
        url = reverse("admin:workflows_workflow_change", args=[obj.workflow_id])
        return format_html('<a href="{}">{}</a>', url, name)

    @admin.display(description="duration")
    def duration(self, obj: Execution) -> str:
        return _duration_text(_duration_ms(obj))

    @admin.display(description="error")
    def error_code(self, obj: Execution) -> str:
        error = obj.error if isinstance(obj.error, dict) else {}
        code = error.get("code")
        return format_html("<code>{}</code>", code) if code else "—"

    @admin.display(description="callback")
    def callback(self, obj: Execution) -> str:
        """Where the signed completion callback goes and every attempt to deliver it."""
        state = callback_state(obj)
        if state is None:
            return "—"
        target = redact_url(obj.callback_target["url"])
        events = ", ".join(obj.callback_target.get("events") or [])
        summary = format_html(
            "<div>{} → <code>{}</code> (on {}) · {} attempt(s), last status {}</div>",
            badge(state["status"]),
            target,
            events,
            state["attempts"],
            state["lastStatusCode"] if state["lastStatusCode"] is not None else "—",
        )
        delivery = ExecutionCallback.objects.filter(execution=obj).first()
        if delivery is None or not delivery.attempts:
            return summary
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td></tr>",
            (
                (
                    attempt.get("number"),
                    attempt.get("at"),
                    attempt.get("statusCode") or "—",
                    attempt.get("durationMs"),
                    attempt.get("error") or "",
                )
                for attempt in delivery.attempts
            ),
        )
        return format_html(
            "{}<table><tr><th>#</th><th>at</th><th>status</th><th>duration</th><th>error</th>"
            "</tr>{}</table>",
            summary,
            rows,
        )

    @admin.display(description="steps")
    def progress(self, obj: Execution) -> str:
        return f"{obj.current_step_number} of {obj.total_steps}"

    @admin.display(description="retry of")
    def retry_of_link(self, obj: Execution) -> str:
        if obj.retry_of_id is None:
            return "—"
        url = reverse("admin:executions_execution_change", args=[obj.retry_of_id])
        return format_html('<a href="{}">{}</a>', url, obj.retry_of_id)

    @admin.display(description="retried as")
    def retries(self, obj: Execution) -> str:
        retried = list(obj.retries.order_by("started_at").values_list("id", "status"))
        if not retried:
            return "—"
        return format_html_join(
            "",
            '<div><a href="{}">{}</a> ({})</div>',
            (
                (reverse("admin:executions_execution_change", args=[pk]), pk, status)
                for pk, status in retried
            ),
        )

    def get_urls(self) -> list[Any]:
        transition = path(
            "<path:object_id>/transition/<str:name>/",
            self.admin_site.admin_view(guarded(self.transition_view, RUN_ACTIONS)),
            name="executions_execution_transition",
        )
        return [transition, *super().get_urls()]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Execution | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(self._execution_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _execution_context(self, request: HttpRequest, execution: Execution) -> dict[str, Any]:
        steps = list(execution.steps.order_by("step_number"))
        longest = max((step.duration_ms or 0 for step in steps), default=0) or 1
        svg = render_workflow_svg(
            execution.nodes or [],
            execution.edges or [],
            steps=_path_steps(execution, steps),
            node_urls=graph_node_urls(execution.nodes or []),
        )
        error = execution.error if isinstance(execution.error, dict) else None
        transitions = []
        if self.has_run_permission(request):
            transitions = [
                (
                    reverse("admin:executions_execution_transition", args=[execution.pk, name]),
                    label,
                )
                for name, (_, _, label, sources) in TRANSITIONS.items()
                if execution.status in sources
            ]
        return {
            "execution_path_svg": svg,
            "execution_steps": [
                {
                    "number": step.step_number,
                    "node_id": step.node_id,
                    "step_name": step.step_name,
                    "node_type": step.node_type,
                    "status": step.status,
                    "badge": badge(step.status),
                    "duration": _duration_text(step.duration_ms),
                    # The timeline bar: the step's share of the longest step, at least a sliver.
                    "bar_percent": max(2, round(100 * (step.duration_ms or 0) / longest)),
                    "attempts": len(step.attempts or []),
                    "status_code": (step.call_details or {}).get("statusCode"),
                    "error_code": step.error_code,
                    "error_message": step.error_message,
                    "details": _pretty(mask_document(step.call_details))
                    if step.call_details
                    else "",
                }
                for step in steps
            ],
            "execution_error": error,
            "execution_error_output": _pretty(error.get("output")) if error else "",
            "execution_input": _pretty(execution.input_data),
            "execution_output": (
                _pretty(execution.output_data) if execution.output_data is not None else ""
            ),
            "execution_transitions": transitions,
        }

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        """A change-page button: one execution through the same action as the list's."""
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        if name not in TRANSITIONS:
            raise Http404("unknown transition")
        execution = self.get_object(request, unquote(object_id))
        if execution is None:
            raise Http404("execution not found")
        service, done, _, _ = TRANSITIONS[name]
        queryset = self.get_queryset(request).filter(pk=execution.pk)
        results = run_for_each(self, request, queryset, service, done)
        # A retry's page is the new execution's; cancel returns the execution itself.
        shown = results[0].pk if results else execution.pk
        return HttpResponseRedirect(reverse("admin:executions_execution_change", args=[shown]))


def _console(request: HttpRequest, template: str, **context: Any) -> TemplateResponse:
    return TemplateResponse(
        request,
        f"admin/executions/{template}",
        {**admin.site.each_context(request), **context},
    )


BREAKER_CONFIG_URLS = {
    "executor": "admin:executors_executorconfiguration_change",
    "provider": "admin:providers_providerconfiguration_change",
}


def breakers_view(request: HttpRequest) -> TemplateResponse:
    rows = [
        {
            "breaker": breaker,
            "config_url": reverse(BREAKER_CONFIG_URLS[breaker.kind], args=[breaker.config.pk]),
        }
        for breaker in breaker_list()
    ]
    return _console(
        request,
        "breakers.html",
        title="Circuit breakers",
        rows=rows,
        failure_threshold=settings.FLOWKER_BREAKER_FAILURE_THRESHOLD,
        reset_seconds=settings.FLOWKER_BREAKER_RESET_SECONDS,
    )


@require_POST
def breaker_reset_view(request: HttpRequest) -> HttpResponse:
    key = request.POST.get("key", "")
    try:
        breaker_reset(key=key, actor=actor_from_request(request))
    except FlowkerError as exc:
        messages.error(request, f"{key}: {exc.code} {exc.message}")
    else:
        messages.success(request, f"Breaker {key} reset: closed, failure count cleared.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("admin:operations_breakers")
    return HttpResponseRedirect(back)


# Stacked series of the executions chart, bottom up: name, colour, legend label.
CHART_SERIES = (
    ("completed", "#16a34a", "completed"),
    ("failed", "#dc2626", "failed"),
    ("cancelled", "#f59e0b", "cancelled"),
    ("other", "#94a3b8", "pending or running"),
)
CHART_WIDTH, CHART_HEIGHT = 760, 260
CHART_MARGIN = {"left": 44, "right": 12, "top": 32, "bottom": 28}
CHART_Y_TICKS = 4
CHART_MAX_X_LABELS = 12

_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(value: object) -> str:
    # Characters XML 1.0 forbids would make the whole picture unparseable, so they are dropped.
    return _INVALID_XML_CHARS.sub("", str(value))


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def stacked_bar_chart_svg(bars: list[dict[str, Any]], *, title: str) -> str:
    """A standalone `<svg>` of stacked bars. Each bar is `{"label", "tooltip", "values"}`, with
    `values` keyed by the CHART_SERIES names; bars are drawn in order, left to right. Drawn by
    the autoescaped template admin/executions/chart.svg, so every label is escaped."""
    left, top = CHART_MARGIN["left"], CHART_MARGIN["top"]
    plot_width = CHART_WIDTH - left - CHART_MARGIN["right"]
    plot_height = CHART_HEIGHT - top - CHART_MARGIN["bottom"]
    bottom = top + plot_height
    peak = max((sum(bar["values"].values()) for bar in bars), default=0)
    tick = max(1, math.ceil(peak / CHART_Y_TICKS))
    scale = plot_height / (tick * CHART_Y_TICKS)

    grid = [
        {"y": _num(bottom - index * tick * scale), "value": index * tick}
        for index in range(CHART_Y_TICKS + 1)
    ]
    slot = plot_width / max(len(bars), 1)
    label_every = max(1, math.ceil(len(bars) / CHART_MAX_X_LABELS))
    drawn = []
    for index, bar in enumerate(bars):
        x = left + index * slot + slot * 0.15
        y = bottom
        rects = []
        for name, colour, _ in CHART_SERIES:
            height = bar["values"].get(name, 0) * scale
            y -= height
            rects.append({"name": name, "y": _num(y), "height": _num(height), "fill": colour})
        drawn.append(
            {
                "label": _clean(bar["label"]),
                "tooltip": _clean(bar.get("tooltip") or bar["label"]),
                "x": _num(x),
                "width": _num(slot * 0.7),
                "label_x": _num(x + slot * 0.35) if index % label_every == 0 else None,
                "rects": rects,
            }
        )
    legend, legend_x = [], left
    for name, colour, label in CHART_SERIES:
        legend.append(
            {
                "name": name,
                "fill": colour,
                "label": label,
                "x": _num(legend_x),
                "text_x": _num(legend_x + 14),
            }
        )
        legend_x += 24 + len(label) * 6.5
    context = {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "title": _clean(title),
        "left": left,
        "right": left + plot_width,
        "bottom": bottom,
        "grid": grid,
        "bars": drawn,
        "legend": legend,
    }
    return render_to_string("admin/executions/chart.svg", context)


def timeseries_bars(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """execution_timeseries buckets as chart bars: completed, failed, cancelled and the rest
    (still pending or running)."""
    bars = []
    for item in items:
        start = item["bucketStart"].astimezone(datetime.UTC)
        other = item["total"] - item["completed"] - item["failed"] - item["cancelled"]
        bars.append(
            {
                "label": f"{start:%H:%M}",
                "tooltip": (
                    f"{start:%Y-%m-%d %H:%M} UTC: {item['total']} executions, "
                    f"{item['completed']} completed, {item['failed']} failed, "
                    f"{item['cancelled']} cancelled, {other} pending or running"
                ),
                "values": {
                    "completed": item["completed"],
                    "failed": item["failed"],
                    "cancelled": item["cancelled"],
                    "other": other,
                },
            }
        )
    return bars


def _performance_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for item in items:
        rate = item["successRate"]
        rows.append(
            {
                **item,
                "url": reverse("admin:workflows_workflow_change", args=[item["workflowId"]])
                if item["workflowName"] is not None
                else None,
                "success": "—" if rate is None else f"{float(rate) * 100:.1f} %",
                "p50": _duration_text(item["p50DurationMs"]),
                "p95": _duration_text(item["p95DurationMs"]),
            }
        )
    return rows


def dashboards_view(request: HttpRequest) -> TemplateResponse:
    end = timezone.now()
    start = end - datetime.timedelta(hours=24)
    series = dashboards.execution_timeseries(interval="hour", start=start, end=end)
    chart = stacked_bar_chart_svg(
        timeseries_bars(series), title="Executions started per hour, last 24 hours (UTC)"
    )
    counts = dashboards.execution_counts(start=start, end=end)
    return _console(
        request,
        "dashboards.html",
        title="Dashboards",
        window_start=start,
        window_end=end,
        summary=dashboards.workflow_summary(),
        counts=[(name, counts[name]) for name in ["total", *dashboards.STATUSES]],
        chart=chart,
        performance=_performance_rows(dashboards.workflow_performance(start=start, end=end)),
    )


HOME_WINDOW = datetime.timedelta(hours=2)
HOME_FAILURES = 10


def _open_breakers() -> list[dict[str, Any]]:
    reset_after = datetime.timedelta(seconds=settings.FLOWKER_BREAKER_RESET_SECONDS)
    return [
        {
            "breaker": breaker,
            "config_url": reverse(BREAKER_CONFIG_URLS[breaker.kind], args=[breaker.config.pk]),
            "next_trial": breaker.opened_at + reset_after if breaker.opened_at else None,
        }
        for breaker in breaker_list()
        if breaker.state in ("open", "half-open")
    ]


def _latest_failures() -> list[dict[str, Any]]:
    failed = _with_workflow_name(
        Execution.objects.filter(status=ExecutionStatus.FAILED).defer(*LIST_DEFERRED)
    ).order_by("-completed_at", "-id")[:HOME_FAILURES]
    rows = []
    for execution in failed:
        error = execution.error if isinstance(execution.error, dict) else {}
        rows.append(
            {
                "id": short_id(execution.pk),
                "url": reverse("admin:executions_execution_change", args=[execution.pk]),
                "workflow": execution.workflow_name or f"deleted workflow {execution.workflow_id}",
                "code": error.get("code"),
                "message": error.get("message"),
                "when": moment(execution.completed_at),
            }
        )
    return rows


def home_dashboard(request: HttpRequest) -> dict[str, Any] | None:
    """The console's home: what is failing now and whether the platform is healthy."""
    if not request.user.has_perm("executions.view_execution"):
        return None
    end = timezone.now()
    series = dashboards.execution_timeseries(interval="minute", start=end - HOME_WINDOW, end=end)
    chart = stacked_bar_chart_svg(
        timeseries_bars(series), title="Executions started per minute, last 2 hours (UTC)"
    )
    health = [
        {
            "name": name,
            "status": check["status"],
            "badge": badge(check["status"]),
            "error": check.get("error"),
        }
        for name, check in dependency_health().items()
    ]
    return {
        "home": {
            "generated_at": end,
            "chart": chart,
            "performance": _performance_rows(
                dashboards.workflow_performance(start=end - datetime.timedelta(hours=24), end=end)
            ),
            "breakers": _open_breakers(),
            "failures": _latest_failures(),
            "health": health,
            "refresh_url": reverse("admin:operations_home"),
        }
    }


def home_fragment_view(request: HttpRequest) -> TemplateResponse:
    """The home dashboard alone, which the home page fetches to refresh its figures."""
    return TemplateResponse(
        request, "admin/flowker/home_dashboard.html", home_dashboard(request) or {}
    )


register_home(home_dashboard)
register_page(
    ConsolePage(
        route="operations/home/",
        view=home_fragment_view,
        name="operations_home",
        section="Operations",
        label="Home dashboard",
        permission="executions.view_execution",
        listed=False,
    )
)
register_page(
    ConsolePage(
        route="operations/breakers/",
        view=breakers_view,
        name="operations_breakers",
        section="Operations",
        label="Circuit breakers",
        permission="executions.view_execution",
    )
)
register_page(
    ConsolePage(
        route="operations/breakers/reset/",
        view=breaker_reset_view,
        name="operations_breaker_reset",
        section="Operations",
        label="Reset a circuit breaker",
        permission=RUN_ACTIONS,
        listed=False,
    )
)
register_page(
    ConsolePage(
        route="operations/dashboards/",
        view=dashboards_view,
        name="operations_dashboards",
        section="Operations",
        label="Dashboards",
        permission="executions.view_execution",
    )
)


@admin.register(ExecutionCallback)
class ExecutionCallbackAdmin(admin.ModelAdmin):
    """The completion-callback outbox, read-only (the secret is never shown)."""

    list_display = ["execution", "event", "status_badge", "attempt_count", "last_status_code"]
    list_filter = ["status", "event"]
    search_fields = ["=execution__id"]
    exclude = ["secret"]
    ordering = ["-created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in ExecutionCallback._meta.fields if field.name != "secret"]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: ExecutionCallback) -> str:
        return badge(obj.status)

    @admin.display(description="attempts")
    def attempt_count(self, obj: ExecutionCallback) -> int:
        return len(obj.attempts or [])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
