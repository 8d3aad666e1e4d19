"""The floor's webhook: insert one row, enqueue on commit, answer 201."""

import json

from django.db import transaction
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from tests.benchmarks.floor.celery import decide
from tests.benchmarks.floor.models import Decision


@csrf_exempt
def webhook(request):
    with transaction.atomic():
        decision = Decision.objects.create(input_data=json.loads(request.body))
        transaction.on_commit(lambda: decide.delay(decision.pk))
    return JsonResponse({"executionId": decision.pk, "status": "pending"}, status=201)


def health(request):
    return JsonResponse({"status": "healthy"})


urlpatterns = [path("webhook", webhook), path("health", health)]
