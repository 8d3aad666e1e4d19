from django.apps import AppConfig


class FlowkerConfig(AppConfig):
    name = "flowker"
    verbose_name = "Flowker"

    def ready(self) -> None:
        from flowker import tasks  # noqa: F401 - registers the operational tasks
        from flowker.celery import ensure_broker_folders

        ensure_broker_folders()
