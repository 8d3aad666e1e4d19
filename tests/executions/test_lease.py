"""The lease keeper: while a run task is in flight its process keeps the execution's lease, so
the lease can be short (a crashed worker is resumed within one lease) and a call longer than
the lease is not handed to a second worker."""

import datetime

import pytest
from django.utils import timezone

from executions.lease import LeaseKeeper
from executions.models import Execution
from executions.services import execution_start
from flowker.actors import Actor
from tests.factories import guide_workflow, make_provider_config
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def execution():
    provider = make_provider_config()
    workflow = workflow_create(data=guide_workflow(provider.pk), actor=Actor.system())
    workflow_activate(workflow=workflow, actor=Actor.system())
    started, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    return started


def _soon():
    return timezone.now() + datetime.timedelta(seconds=1)


def test_a_held_lease_is_renewed_to_a_full_lease(execution, settings):
    Execution.objects.filter(pk=execution.pk).update(
        status="running", lease_owner="me", lease_expires_at=_soon()
    )
    keeper = LeaseKeeper(autostart=False)
    with keeper.keeping(execution.pk):
        assert keeper.renew() == 1
    execution.refresh_from_db()
    floor = timezone.now() + datetime.timedelta(
        seconds=settings.FLOWKER_EXECUTION_LEASE_SECONDS - 5
    )
    assert execution.lease_expires_at > floor
    assert keeper.held() == []  # the block ended: nothing is renewed any more
    assert keeper.renew() == 0


def test_a_lease_handed_back_for_a_retry_wait_is_left_alone(execution):
    due = _soon()
    Execution.objects.filter(pk=execution.pk).update(
        status="running", lease_owner="", lease_expires_at=due
    )
    keeper = LeaseKeeper(autostart=False)
    with keeper.keeping(execution.pk):
        assert keeper.renew() == 0
    execution.refresh_from_db()
    assert execution.lease_expires_at == due


def test_a_lease_is_never_shortened(execution):
    later = timezone.now() + datetime.timedelta(hours=1)
    Execution.objects.filter(pk=execution.pk).update(
        status="running", lease_owner="me", lease_expires_at=later
    )
    keeper = LeaseKeeper(autostart=False)
    with keeper.keeping(execution.pk):
        keeper.renew()
    execution.refresh_from_db()
    assert execution.lease_expires_at == later
