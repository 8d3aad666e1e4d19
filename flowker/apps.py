from django.apps import AppConfig

from flowker.celery import ensure_broker_folders


class FlowkerConfig(AppConfig):
    name = "flowker"
    verbose_name = "Flowker"

    def ready(self) -> None:
        # Registers the operational tasks; only once the apps are loaded, because it imports
        # the health views (DRF), which need them.
        from flowker import tasks  # noqa: F401

        ensure_broker_folders()
