"""Executions as the API shows them (upstream shapes plus error, attempts, input, callDetails)."""

from typing import Any

from rest_framework import serializers

from executions.callbacks import callback_state
from executions.models import Execution, ExecutionStep
from flowker.api.serializers import FlowkerSerializer
from flowker.timefmt import format_timestamp


class StartSerializer(FlowkerSerializer):
    inputData = serializers.DictField(required=False)


class RetrySerializer(FlowkerSerializer):
    # `from` is a Python keyword, so the field is declared through the class namespace.
    vars()["from"] = serializers.ChoiceField(
        ["start", "failed_step"], required=False, default="start"
    )


class ExecutionCreatedSerializer(serializers.Serializer):
    executionId = serializers.UUIDField()
    workflowId = serializers.UUIDField()
    status = serializers.CharField()
    startedAt = serializers.CharField()
    retryOf = serializers.UUIDField(required=False)

    def to_representation(self, execution: Execution) -> dict[str, Any]:
        body = {
            "executionId": str(execution.pk),
            "workflowId": str(execution.workflow_id),
            "status": execution.status,
            "startedAt": format_timestamp(execution.started_at),
        }
        if execution.retry_of_id:
            body["retryOf"] = str(execution.retry_of_id)
        return body


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    nodeId = serializers.CharField(allow_null=True)
    stepNumber = serializers.IntegerField(allow_null=True)
    output = serializers.JSONField(allow_null=True)


def _current_step(execution: Execution) -> int:
    if execution.is_terminal:
        return execution.current_step_number
    count = getattr(execution, "step_count", None)
    return count if count is not None else execution.steps.count()


class ExecutionSerializer(serializers.Serializer):
    """ExecutionStatusOutput."""

    executionId = serializers.UUIDField()
    workflowId = serializers.UUIDField()
    status = serializers.ChoiceField(["pending", "running", "completed", "failed", "cancelled"])
    currentStepNumber = serializers.IntegerField()
    totalSteps = serializers.IntegerField()
    startedAt = serializers.CharField()
    completedAt = serializers.CharField(required=False)
    errorMessage = serializers.CharField(required=False)
    error = ErrorDetailSerializer(required=False)
    retryOf = serializers.UUIDField(required=False)

    def to_representation(self, execution: Execution) -> dict[str, Any]:
        body: dict[str, Any] = {
            "executionId": str(execution.pk),
            "workflowId": str(execution.workflow_id),
            "status": execution.status,
            "currentStepNumber": _current_step(execution),
            "totalSteps": execution.total_steps,
            "startedAt": format_timestamp(execution.started_at),
        }
        if execution.completed_at:
            body["completedAt"] = format_timestamp(execution.completed_at)
        if execution.error:
            body["errorMessage"] = f"{execution.error['code']}: {execution.error['message']}"
            body["error"] = execution.error
        if execution.retry_of_id:
            body["retryOf"] = str(execution.retry_of_id)
        return body


class CallbackStateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        ["waiting", "pending", "delivered", "failed", "skipped"],
        help_text=(
            "waiting: the execution has not ended; pending: being sent or retried; delivered: "
            "the receiver answered 2xx; failed: attempts exhausted or destination refused; "
            "skipped: the execution ended in a status the callback does not list"
        ),
    )
    attempts = serializers.IntegerField()
    lastStatusCode = serializers.IntegerField(allow_null=True)


class ExecutionDetailSerializer(ExecutionSerializer):
    """ExecutionStatusOutput plus `callback` when the execution has a completion callback."""

    callback = CallbackStateSerializer(required=False)

    def to_representation(self, execution: Execution) -> dict[str, Any]:
        body = super().to_representation(execution)
        state = callback_state(execution)
        if state is not None:
            body["callback"] = state
        return body


class CallDetailsSerializer(serializers.Serializer):
    method = serializers.CharField()
    url = serializers.CharField()
    statusCode = serializers.IntegerField(allow_null=True)
    durationMs = serializers.IntegerField()


class StepResultSerializer(serializers.Serializer):
    stepNumber = serializers.IntegerField()
    stepName = serializers.CharField()
    nodeId = serializers.CharField()
    status = serializers.ChoiceField(["completed", "failed", "skipped", "running"])
    output = serializers.JSONField(required=False)
    errorMessage = serializers.CharField(required=False)
    executedAt = serializers.CharField()
    durationMs = serializers.IntegerField()
    attempts = serializers.ListField(child=serializers.DictField())
    input = serializers.JSONField(required=False, help_text="Secrets masked")
    callDetails = CallDetailsSerializer(required=False)

    def to_representation(self, step: ExecutionStep) -> dict[str, Any]:
        body: dict[str, Any] = {
            "stepNumber": step.step_number,
            "stepName": step.step_name,
            "nodeId": step.node_id,
            "status": step.status,
        }
        if step.output is not None:
            body["output"] = step.output
        if step.error_message:
            body["errorMessage"] = f"{step.error_code}: {step.error_message}"
        body.update(
            executedAt=format_timestamp(step.started_at),
            durationMs=step.duration_ms,
            attempts=step.attempts,
        )
        if step.input is not None:
            body["input"] = step.input
        if step.call_details:
            body["callDetails"] = step.call_details
        return body


class ExecutionResultsSerializer(serializers.Serializer):
    """ExecutionResultsOutput."""

    executionId = serializers.UUIDField()
    workflowId = serializers.UUIDField()
    status = serializers.CharField()
    stepResults = StepResultSerializer(many=True)
    finalOutput = serializers.JSONField(required=False)
    startedAt = serializers.CharField()
    completedAt = serializers.CharField(required=False)
    errorMessage = serializers.CharField(required=False)
    error = ErrorDetailSerializer(required=False)

    def to_representation(self, execution: Execution) -> dict[str, Any]:
        steps = execution.steps.order_by("step_number")
        body: dict[str, Any] = {
            "executionId": str(execution.pk),
            "workflowId": str(execution.workflow_id),
            "status": execution.status,
            "stepResults": [StepResultSerializer(step).data for step in steps],
        }
        if execution.output_data is not None:
            body["finalOutput"] = execution.output_data
        body["startedAt"] = format_timestamp(execution.started_at)
        if execution.completed_at:
            body["completedAt"] = format_timestamp(execution.completed_at)
        if execution.error:
            body["errorMessage"] = f"{execution.error['code']}: {execution.error['message']}"
            body["error"] = execution.error
        return body
