"""Beat's audit job: keeps a recent checkpoint, so a verify request recomputes only the events
written since the last run."""

import logging

from celery import shared_task

from flowker.audit.services import audit_verify_latest

logger = logging.getLogger("flowker.audit")


@shared_task(name="audit.checkpoint", acks_late=False)
def checkpoint() -> bool | None:
    """Verify the chain up to its newest event; a break is logged as an error."""
    result = audit_verify_latest()
    if result is None:
        return None
    if not result.is_valid:
        logger.error("audit hash chain broken", extra={"first_invalid_id": result.first_invalid_id})
    return result.is_valid
