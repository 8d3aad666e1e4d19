"""`manage.py verify_audit_chain`: recompute the whole audit chain from its first event.

The API's verify starts at the latest checkpoint; only this full pass sees a row changed before
it. A valid chain records a checkpoint at the newest event."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from flowker.audit.services import audit_verify_latest


class Command(BaseCommand):
    help = "Recompute every hash of the audit trail from its first event (exit 1 if broken)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_verify_latest(full=True)
        if result is None:
            self.stdout.write("the audit trail is empty")
            return
        if not result.is_valid:
            raise CommandError(f"{result.message} ({result.total_checked} events checked)")
        self.stdout.write(f"{result.message} ({result.total_checked} events checked)")
