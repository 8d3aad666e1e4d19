"""API keys: stored as prefix + SHA-256 of the whole key; the secret is shown once."""

from django.db import models

from flowker.ids import new_id


class ApiKey(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField("name", max_length=100, unique=True)
    prefix = models.CharField("prefix", max_length=8, unique=True, editable=False)
    key_hash = models.CharField("SHA-256 of the key", max_length=64, editable=False)
    created_at = models.DateTimeField("created at", auto_now_add=True)
    revoked_at = models.DateTimeField("revoked at", null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (flk_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
