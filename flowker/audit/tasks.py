"""Beat's periodic check of the audit chain, published as a metric an alert can watch."""

import logging

from celery import shared_task

from flowker import metrics
from flowker.audit.models import AuditEvent
from flowker.audit.services import audit_verify

logger = logging.getLogger("flowker.audit")


@shared_task(name="audit.verify", acks_late=False)
def verify_chain() -> bool:
    latest = AuditEvent.objects.order_by("-id").first()
    if latest is None:
        metrics.audit_verified(intact=True)
        return True
    result = audit_verify(event=latest)
    metrics.audit_verified(intact=result.is_valid)
    if not result.is_valid:
        logger.error("audit chain broken", extra={"event_id": result.first_invalid_id})
    return result.is_valid
