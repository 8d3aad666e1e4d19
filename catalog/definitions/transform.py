"""`transform.json`: reshapes data with field mappings and Kazaam operations, calling nothing."""

from catalog.definitions.common import document, free_object, required_text

# Kazaam's built-in operations plus Flowker's five string operations (engine reference §4.5).
OPERATIONS = [
    "pass",
    "shift",
    "extract",
    "default",
    "delete",
    "concat",
    "coalesce",
    "timestamp",
    "uuid",
    "remove_characters",
    "add_prefix",
    "add_suffix",
    "to_uppercase",
    "to_lowercase",
]

_FIELD_MAPPING = {
    "type": "object",
    "required": ["source", "target"],
    "properties": {
        "source": required_text("Dotted path read from the context, e.g. workflow.amount."),
        "target": required_text("Dotted path written in the result."),
        "required": {
            "type": "boolean",
            "default": False,
            "description": "Fail when the source is missing (else the target is null).",
        },
        "transformation": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"type": "string", "enum": OPERATIONS},
                "config": free_object('Parameters of the operation, e.g. {"prefix": "BR-"}.'),
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

_OPERATION = {
    "type": "object",
    "required": ["operation", "spec"],
    "properties": {
        "operation": {"type": "string", "enum": OPERATIONS},
        "spec": {"type": "object", "minProperties": 1, "description": "The operation's spec."},
        "require": {"type": "boolean", "description": "Fail when a path of the spec is missing."},
    },
    "additionalProperties": False,
}

TRANSFORM_JSON = document(
    {
        "type": "object",
        "properties": {
            "inputMapping": {
                "type": "array",
                "items": _FIELD_MAPPING,
                "description": "Builds the document to transform (default: the workflow input).",
            },
            "transforms": {
                "type": "array",
                "items": _OPERATION,
                "description": (
                    "Kazaam operations applied, in order, to that document. `uuid` writes a "
                    "random version 4 UUID unless `version` asks for 3 or 5 (name-based) or 7 "
                    "(time-ordered)."
                ),
            },
        },
        "additionalProperties": False,
    },
    title="Transform JSON",
    description="Its output is `transforms` applied to the result of `inputMapping`.",
)
