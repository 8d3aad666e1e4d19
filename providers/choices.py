from django.db import models


class ProviderConfigStatus(models.TextChoices):
    ACTIVE = "active"
    DISABLED = "disabled"
