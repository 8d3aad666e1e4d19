"""The floor's Celery app and its one task: call the scorer, branch, write the steps."""

import os

import requests
from celery import Celery
from django.db import transaction
from django.utils import timezone

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.floor.settings")
app = Celery("floor")
app.config_from_object("django.conf:settings", namespace="CELERY")

_session = requests.Session()


@app.task(name="floor.decide")
def decide(decision_id: int) -> None:
    from django.conf import settings

    from tests.benchmarks.floor.models import Decision, DecisionStep

    decision = Decision.objects.get(pk=decision_id)
    answer = _session.post(settings.STUB_URL, json=decision.input_data, timeout=30).json()
    branch = "approve" if answer["score"] < 80 else "reject"
    with transaction.atomic():
        DecisionStep.objects.bulk_create(
            DecisionStep(decision=decision, step_number=number, node_id=node, status="completed",
                         output=output)
            for number, (node, output) in enumerate(
                [("trigger", decision.input_data), ("check-fraud", answer),
                 ("evaluate-score", {"result": branch == "approve"}), (branch, None)],
                start=1,
            )
        )  # fmt: skip
        Decision.objects.filter(pk=decision_id).update(
            status="completed", output_data=answer, completed_at=timezone.now()
        )
