"""One execution row and its step rows, the shape Flowker writes for the payment workflow."""

from django.db import models


class Decision(models.Model):
    status = models.CharField(max_length=16, default="pending")
    input_data = models.JSONField(default=dict)
    output_data = models.JSONField(null=True)
    started_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.pk} ({self.status})"


class DecisionStep(models.Model):
    decision = models.ForeignKey(Decision, related_name="steps", on_delete=models.CASCADE)
    step_number = models.PositiveIntegerField()
    node_id = models.CharField(max_length=50)
    status = models.CharField(max_length=16)
    output = models.JSONField(null=True)

    def __str__(self) -> str:
        return f"#{self.step_number} {self.node_id}"
