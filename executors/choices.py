from django.db import models


class ExecutorConfigStatus(models.TextChoices):
    UNCONFIGURED = "unconfigured"
    CONFIGURED = "configured"
    TESTED = "tested"
    ACTIVE = "active"
    DISABLED = "disabled"


class HttpMethod(models.TextChoices):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    HEAD = "HEAD"
    OPTIONS = "OPTIONS"
