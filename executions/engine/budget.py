"""How large a document a workflow's own steps may build: mappings, Kazaam operations and
`{{ }}` templates can copy a value many times over (a shift of `$` to a hundred targets, a
concat of the same path repeated, operations chained so each doubles the last), so every write
they make is paid for from a budget before it is made."""

from decimal import Decimal
from typing import Any

from executions.engine.transformations import MappingError

# Largest document a mapping, a Kazaam operation or a set_output may produce, measured as the
# length of its compact JSON (estimated): sixteen times the largest execution input, and room
# for a large provider response copied once.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


class DocumentTooLarge(MappingError):
    """A step would build a document larger than MAX_DOCUMENT_BYTES."""

    def __init__(self) -> None:
        super().__init__(
            f"the result would exceed {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB "
            f"(MAX_DOCUMENT_BYTES); values are copied too many times"
        )


def json_size(value: Any, limit: int = MAX_DOCUMENT_BYTES) -> int:
    """About how long `value` is as compact JSON; counting stops once it passes `limit`, so the
    cost is bounded by the limit whatever the value's size. Iterative (no recursion)."""
    total = 0
    pending = [value]
    while pending and total <= limit:
        current = pending.pop()
        if isinstance(current, str):
            total += len(current) + 2
        elif isinstance(current, dict):
            total += 1 + len(current) * 3 + sum(len(str(key)) for key in current)
            pending.extend(current.values())
        elif isinstance(current, list):
            total += 1 + len(current)
            pending.extend(current)
        elif isinstance(current, bool) or current is None:
            total += 5
        elif isinstance(current, int | float | Decimal):
            total += len(str(current))
        else:
            total += len(str(current))
    return total


class SizeBudget:
    """How much a document may still grow. It starts from the size of the document being
    changed (measured at the first write, so steps that only read or remove pay nothing);
    `spend` raises DocumentTooLarge once the total passes MAX_DOCUMENT_BYTES."""

    def __init__(self, document: Any) -> None:
        self._document = document
        self._used: int | None = None

    def _start(self) -> int:
        if self._used is None:
            self._used = json_size(self._document)
            self._document = None
        return self._used

    def spend(self, amount: int) -> None:
        if amount <= 0:
            return
        self._used = self._start() + amount
        if self._used > MAX_DOCUMENT_BYTES:
            raise DocumentTooLarge()

    def spend_on(self, value: Any) -> None:
        """Pay for a copy of `value`, measured only as far as the budget left allows."""
        self.spend(json_size(value, max(0, MAX_DOCUMENT_BYTES - self._start())))

    def spend_change(self, old: Any, new: Any) -> None:
        """Pay for replacing `old` by `new` (growth only)."""
        self.spend(json_size(new) - json_size(old))
