from django.db import models


class WorkflowStatus(models.TextChoices):
    DRAFT = "draft"
    ACTIVE = "active"
    INACTIVE = "inactive"


class NodeType(models.TextChoices):
    TRIGGER = "trigger"
    EXECUTOR = "executor"
    CONDITIONAL = "conditional"
    ACTION = "action"
