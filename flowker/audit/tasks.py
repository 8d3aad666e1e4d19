"""Beat's audit jobs: the sealer links committed rows into the hash chain (every
FLOWKER_AUDIT_SEAL_SECONDS), and the checkpoint keeps a recent verified point, so a verify request
recomputes only the events written since the last run, and publishes the outcome as metrics an
alert can watch."""

import logging

from celery import shared_task

from flowker import metrics
from flowker.audit.services import audit_seal, audit_verify_latest

logger = logging.getLogger("flowker.audit")


@shared_task(name="audit.seal", acks_late=False)
def seal() -> int:
    """Link the rows committed since the last pass into the chain (one sealer at a time: a
    pass that finds another running leaves the work to it)."""
    return audit_seal(wait=False)


@shared_task(name="audit.checkpoint", acks_late=False)
def checkpoint() -> bool | None:
    """Verify the chain up to its newest event; a break is logged as an error."""
    result = audit_verify_latest()
    if result is None:
        metrics.audit_verified(intact=True)
        return None
    metrics.audit_verified(intact=result.is_valid)
    if not result.is_valid:
        logger.error("audit hash chain broken", extra={"first_invalid_id": result.first_invalid_id})
    return result.is_valid
