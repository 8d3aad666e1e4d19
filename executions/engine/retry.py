"""The retry policy of executor nodes: how many attempts, and when the next one runs
(exponential backoff, stretched to the provider's capped `Retry-After`)."""

import datetime

from django.conf import settings
from django.utils import timezone


def attempts_left(attempts_made: int) -> bool:
    return attempts_made < settings.FLOWKER_RETRY_MAX_ATTEMPTS


def next_attempt_at(attempts_made: int, retry_after: float | None) -> datetime.datetime:
    """Backoff base × 2^(attempts made − 1), or the provider's Retry-After when longer (capped
    at FLOWKER_RETRY_AFTER_MAX_SECONDS)."""
    wait = settings.FLOWKER_RETRY_BACKOFF_SECONDS * (2 ** (attempts_made - 1))
    if retry_after is not None:
        wait = max(wait, min(retry_after, settings.FLOWKER_RETRY_AFTER_MAX_SECONDS))
    return timezone.now() + datetime.timedelta(seconds=wait)
