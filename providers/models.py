"""Provider configurations: a configured connection to one provider instance (base URL,
credentials). Secrets in `config` are stored sealed (see flowker.sealing)."""

from django.db import models

from flowker.ids import new_id
from flowker.jsoncodec import DecimalJSONDecoder, DecimalJSONEncoder
from providers.choices import ProviderConfigStatus


class ProviderConfiguration(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField("name", max_length=100, unique=True)
    description = models.TextField("description", max_length=500, blank=True, default="")
    provider_id = models.CharField("provider", max_length=50)
    config = models.JSONField(
        "configuration (secrets sealed)", encoder=DecimalJSONEncoder, decoder=DecimalJSONDecoder
    )
    status = models.CharField(
        "status",
        max_length=16,
        choices=ProviderConfigStatus.choices,
        default=ProviderConfigStatus.ACTIVE,
    )
    metadata = models.JSONField(
        "metadata", default=dict, blank=True, encoder=DecimalJSONEncoder, decoder=DecimalJSONDecoder
    )
    # The last connectivity test's stages, for the console (secrets never reach a stage).
    last_test_result = models.JSONField(
        "last test result",
        null=True,
        blank=True,
        encoder=DecimalJSONEncoder,
        decoder=DecimalJSONDecoder,
    )
    last_tested_at = models.DateTimeField("last tested at", null=True, blank=True)
    created_at = models.DateTimeField("created at", auto_now_add=True)
    updated_at = models.DateTimeField("updated at", auto_now=True)

    class Meta:
        verbose_name = "provider configuration"
        verbose_name_plural = "provider configurations"
        indexes = [
            models.Index(fields=["created_at", "id"], name="providercfg_created_idx"),
            models.Index(fields=["updated_at", "id"], name="providercfg_updated_idx"),
            models.Index(fields=["name", "id"], name="providercfg_name_idx"),
            models.Index(fields=["provider_id", "status"], name="providercfg_provider_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider_id})"
