"""A start's dispatch record: written as published with the execution (its publish follows the
commit), so a successful publish costs no statement more; a publish that does not happen
clears it, and the reaper sends the execution (executions.dispatch)."""

import pytest

from executions.dispatch import PUBLISH_PAUSE
from executions.models import Execution
from executions.reaper import executions_reap
from executions.services import execution_start
from flowker.actors import Actor
from tests.factories import guide_workflow, make_provider_config
from workflows.services import workflow_activate, workflow_create

# On-commit hooks run only in transactional tests; the run tasks go to a queue no worker reads.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def workflow(settings):
    settings.FLOWKER_EXECUTION_QUEUE = "dispatch-tests-not-consumed"
    provider = make_provider_config()
    created = workflow_create(data=guide_workflow(provider.pk), actor=Actor.system())
    workflow_activate(workflow=created, actor=Actor.system())
    return created


@pytest.fixture
def paused_publishing():
    PUBLISH_PAUSE.failed()
    yield
    PUBLISH_PAUSE.succeeded()


def test_a_published_start_is_recorded_with_the_execution(workflow):
    started, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())

    stored = Execution.objects.get(pk=started.pk)
    assert stored.published_at == stored.dispatched_at  # the stamp written with the row
    assert stored.dispatch_count == 1


def test_a_start_that_was_not_published_is_left_to_the_reaper(
    workflow, paused_publishing, settings
):
    started, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())

    stored = Execution.objects.get(pk=started.pk)
    assert stored.published_at is None  # the record says the broker never took it
    settings.FLOWKER_DISPATCH_GRACE_SECONDS = 0
    PUBLISH_PAUSE.succeeded()
    assert executions_reap()["redispatched"] == 1
    stored.refresh_from_db()
    assert stored.published_at is not None and stored.dispatch_count == 2
