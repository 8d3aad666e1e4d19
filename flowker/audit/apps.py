from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "flowker.audit"
    label = "audit"
    verbose_name = "Audit trail"
