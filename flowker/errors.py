"""Domain errors: what a service refuses, named by its FLK code. They know nothing of HTTP;
`flowker.api.errors` maps each code to its status at the edge."""


class FlowkerError(Exception):
    """A refused operation: its FLK code, a message for people and, for validation, the
    reason per field path."""

    def __init__(self, code: str, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields


class TooManyAttempts(FlowkerError):
    """The caller used up its attempts for now; it may try again after `retry_after` seconds."""

    def __init__(self, code: str, message: str, *, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class Overloaded(FlowkerError):
    """Refused at the door because the service is past its backlog bound (503 FLK-0006); the
    caller may try again after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__("FLK-0006", message)
        self.retry_after = retry_after


class StateRefusal(FlowkerError):
    """A well-formed request that the current state of the resource, or of what it refers to,
    does not allow; whatever its code, it is answered as such (422). For codes that also name
    plain input errors (e.g. FLK-0150, at save 400, at activation 422)."""
