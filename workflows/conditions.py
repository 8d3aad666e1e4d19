"""The condition language of conditional nodes, e.g. `check-fraud.score < 80 AND NOT workflow.vip`.

A tokenizer and a recursive-descent parser build an immutable tree that `evaluate` walks over
the execution context. Pure Python, so save-time validation and the engine share one grammar.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from operator import eq, ge, gt, le, lt, ne
from typing import Any

from flowker.paths import InvalidPath, MissingPath, get_path, parse_path

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "And",
    "Comparison",
    "ConditionEvaluationError",
    "ConditionSyntaxError",
    "Constant",
    "Node",
    "Not",
    "Operand",
    "Or",
    "Path",
    "evaluate",
    "parse",
    "referenced_paths",
]

MAX_LENGTH = 500
# Parentheses and NOTs nested deeper than this are refused, which keeps the parser's recursion
# far below Python's limit whatever the input.
MAX_DEPTH = 32


class ConditionSyntaxError(ValueError):
    """The expression is malformed; `position` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        # Both values stay in `args` so the exception survives pickling (Celery results).
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.message} at position {self.position}"


class ConditionEvaluationError(ValueError):
    """The expression is well formed but cannot be decided against this context."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Constant:
    """A literal: a string, a number (always Decimal), true, false or null."""

    value: str | Decimal | bool | None


@dataclass(frozen=True)
class Path:
    """A dotted path read from the context, e.g. `workflow.items[0].id`."""

    path: str


@dataclass(frozen=True)
class Comparison:
    operator: str
    left: Operand
    right: Operand


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Operand = Constant | Path
Node = Constant | Path | Comparison | Not | And | Or


def parse(expression: str) -> Node:
    """The tree of `expression`; raises ConditionSyntaxError when it is malformed."""
    if not isinstance(expression, str):
        raise ConditionSyntaxError("expression must be a string", 0)
    if len(expression) > MAX_LENGTH:
        raise ConditionSyntaxError(f"expression longer than {MAX_LENGTH} characters", MAX_LENGTH)
    tokens = _tokenize(expression)
    if tokens[0].kind is _Kind.END:
        raise ConditionSyntaxError("empty expression", 0)
    return _Parser(tokens).parse()


def evaluate(expression: str | Node, context: dict[str, Any]) -> bool:
    """Whether the condition holds in `context`.

    Raises ConditionSyntaxError for a malformed string and ConditionEvaluationError when a path
    is missing or an ordering operator meets a non-number: a condition that cannot be decided
    fails closed instead of choosing a branch.
    """
    return _holds(_tree(expression), context)


def referenced_paths(expression: str | Node) -> list[str]:
    """The paths the expression reads, each once, in order of appearance."""
    return list(dict.fromkeys(_paths(_tree(expression))))


def _tree(expression: str | Node) -> Node:
    # Anything that is not already a tree goes through parse, which also turns a non-string
    # (a number in a JSON document, say) into a ConditionSyntaxError.
    return expression if isinstance(expression, Node) else parse(expression)


# --- tokenizer ---------------------------------------------------------------------------------


class _Kind(Enum):
    VALUE = "value"
    PATH = "path"
    COMPARE = "comparison"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    OPEN = "("
    CLOSE = ")"
    END = "end"


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    text: str
    position: int
    value: Any = None

    @property
    def end(self) -> int:
        return self.position + len(self.text)


# Two-character operators come before their one-character prefixes. A word starts like a node
# id (`[A-Za-z0-9_-]`, so `-5` and `3ds-check.passed` are both words) and may continue with the
# dots and brackets of a path; what it means is decided by `_word_token`.
_LEXEME = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<quote>["'])
    | (?P<compare>==|!=|>=|<=|>|<)
    | (?P<and>&&)
    | (?P<or>\|\|)
    | (?P<not>!)
    | (?P<open>\()
    | (?P<close>\))
    | (?P<word>[\w-][\w.\[\]-]*)
    """,
    re.VERBOSE,
)
_SYMBOLS = {
    "compare": _Kind.COMPARE,
    "and": _Kind.AND,
    "or": _Kind.OR,
    "not": _Kind.NOT,
    "open": _Kind.OPEN,
    "close": _Kind.CLOSE,
}
_KEYWORDS = {"and": _Kind.AND, "or": _Kind.OR, "not": _Kind.NOT}
_CONSTANTS = {"true": True, "false": False, "null": None}
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}


def _tokenize(expression: str) -> list[_Token]:
    """The tokens of `expression`, ending with an END token at its length."""
    tokens: list[_Token] = []
    position = 0
    while position < len(expression):
        match = _LEXEME.match(expression, position)
        if match is None:
            raise ConditionSyntaxError(f"unexpected character {expression[position]!r}", position)
        if match.lastgroup == "space":
            position = match.end()
            continue
        token = _token(match, expression)
        tokens.append(token)
        position = token.end
    tokens.append(_Token(_Kind.END, "", len(expression)))
    return tokens


def _token(match: re.Match[str], expression: str) -> _Token:
    kind, position = match.lastgroup, match.start()
    if kind == "quote":
        return _string_token(expression, position)
    if kind == "word":
        return _word_token(match.group(), position)
    return _Token(_SYMBOLS[kind], match.group(), position)


def _string_token(expression: str, start: int) -> _Token:
    """The quoted string at `start`: its text is the source, its value the unescaped content."""
    quote = expression[start]
    characters: list[str] = []
    position = start + 1
    while position < len(expression):
        character = expression[position]
        if character == quote:
            text = expression[start : position + 1]
            return _Token(_Kind.VALUE, text, start, "".join(characters))
        if character == "\\" and position + 1 < len(expression):
            escaped = expression[position + 1]
            if escaped not in _ESCAPES:
                sequence = expression[position : position + 2]
                raise ConditionSyntaxError(f"invalid escape {sequence!r}", position)
            characters.append(_ESCAPES[escaped])
            position += 2
        else:
            characters.append(character)
            position += 1
    raise ConditionSyntaxError("unterminated string", start)


def _word_token(text: str, position: int) -> _Token:
    """A keyword, a constant, a number, else a path (which must be well formed)."""
    lowered = text.lower()
    if lowered in _KEYWORDS:
        return _Token(_KEYWORDS[lowered], text, position)
    if lowered in _CONSTANTS:
        return _Token(_Kind.VALUE, text, position, _CONSTANTS[lowered])
    if _NUMBER.fullmatch(text):
        return _Token(_Kind.VALUE, text, position, Decimal(text))
    try:
        parse_path(text)
    except InvalidPath:
        raise ConditionSyntaxError(f"invalid path {text!r}", position) from None
    return _Token(_Kind.PATH, text, position)


# --- parser ------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent, loosest binding first:

        condition  := conjunction (OR conjunction)*
        conjunction:= negation (AND negation)*
        negation   := NOT negation | "(" condition ")" | comparison
        comparison := operand (COMPARE operand)?
        operand    := string | number | true | false | null | path

    Comparisons bind tighter than NOT, so `NOT a == b` is `NOT (a == b)` (as in SQL and
    Python); reading it as `(NOT a) == b` would compare a boolean with `b` and silently pick a
    branch. A lone operand is tested for truthiness, as upstream.
    """

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._depth = 0

    def parse(self) -> Node:
        node = self._condition()
        end = self._peek()
        if end.kind is not _Kind.END:
            raise _unexpected(end)
        return node

    def _condition(self) -> Node:
        operands = [self._conjunction()]
        while self._accept(_Kind.OR):
            operands.append(self._conjunction())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _conjunction(self) -> Node:
        operands = [self._negation()]
        while self._accept(_Kind.AND):
            operands.append(self._negation())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _negation(self) -> Node:
        token = self._peek()
        if token.kind is _Kind.NOT:
            self._index += 1
            with self._nested(token):
                return Not(self._negation())
        if token.kind is _Kind.OPEN:
            self._index += 1
            with self._nested(token):
                inner = self._condition()
            close = self._peek()
            if close.kind is not _Kind.CLOSE:
                raise _unexpected(close)
            self._index += 1
            return inner
        return self._comparison()

    def _comparison(self) -> Node:
        left = self._operand()
        operator = self._peek()
        if operator.kind is not _Kind.COMPARE:
            return left
        self._index += 1
        return Comparison(operator.text, left, self._operand())

    def _operand(self) -> Operand:
        token = self._peek()
        self._index += 1
        if token.kind is _Kind.VALUE:
            return Constant(token.value)
        if token.kind is _Kind.PATH:
            return Path(token.text)
        raise _unexpected(token)

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _accept(self, kind: _Kind) -> bool:
        if self._peek().kind is not kind:
            return False
        self._index += 1
        return True

    @contextmanager
    def _nested(self, token: _Token) -> Iterator[None]:
        if self._depth == MAX_DEPTH:
            raise ConditionSyntaxError(f"nested deeper than {MAX_DEPTH} levels", token.position)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1


def _unexpected(token: _Token) -> ConditionSyntaxError:
    if token.kind is _Kind.END:
        return ConditionSyntaxError("unexpected end of expression", token.position)
    return ConditionSyntaxError(f"unexpected token {token.text!r}", token.position)


# --- evaluation --------------------------------------------------------------------------------

_COMPARISONS = {"==": eq, "!=": ne, ">": gt, "<": lt, ">=": ge, "<=": le}

# Like Go's float parser minus what a payment decision must never treat as a number
# (inf, nan, hex, underscores). The exponent is bounded because Decimal refuses huge ones.
_NUMERIC_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,9})?")


def _holds(node: Node, context: dict[str, Any]) -> bool:
    # any()/all() stop at the first decisive operand, so errors in the operands after it are
    # never raised (upstream's short-circuit).
    match node:
        case Or(operands):
            return any(_holds(operand, context) for operand in operands)
        case And(operands):
            return all(_holds(operand, context) for operand in operands)
        case Not(operand):
            return not _holds(operand, context)
        case Comparison():
            return _compare(node, context)
        case _:
            return _truthy(_resolve(node, context))


def _resolve(operand: Operand, context: dict[str, Any]) -> Any:
    if isinstance(operand, Constant):
        return operand.value
    try:
        return get_path(context, operand.path)
    except MissingPath:
        raise ConditionEvaluationError(f'field "{operand.path}" not found in context') from None


def _compare(node: Comparison, context: dict[str, Any]) -> bool:
    """Numbers compare exactly as Decimal; other values only for (in)equality."""
    left = _resolve(node.left, context)
    right = _resolve(node.right, context)
    compare = _COMPARISONS[node.operator]
    left_number, right_number = _as_number(left), _as_number(right)
    if left_number is not None and right_number is not None:
        return compare(left_number, right_number)
    if node.operator in ("==", "!="):
        return compare(_equatable(left), _equatable(right))
    operand, value = (node.left, left) if left_number is None else (node.right, right)
    subject = operand.path if isinstance(operand, Path) else "the literal"
    raise ConditionEvaluationError(
        f"operator {node.operator!r} requires numeric operands, but {subject} is {_kind(value)}"
    )


def _as_number(value: Any) -> Decimal | None:
    """`value` as an exact finite number, or None; booleans are never numbers.

    Numeric strings count, as upstream, so a provider's `"150.00"` compares with 150. Floats go
    through their shortest repr so `0.1` means 0.1, not its binary approximation.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and _NUMERIC_TEXT.fullmatch(value):
        number = Decimal(value)
    else:
        return None
    return number if number.is_finite() else None


def _equatable(value: Any) -> Any:
    """The form in which a value that is not a number meets `==` and `!=`.

    Booleans become their text, as upstream, so `flag == true` and `flag == "true"` both hold
    (case-sensitive). null equals only null: upstream compared Go's text `<nil>`, which no
    condition means to match. Objects and lists compare by content, numbers inside them exactly.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: _equatable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_equatable(item) for item in value]
    return value


def _truthy(value: Any) -> bool:
    """Upstream's truthiness: strings other than "" and "false" (any case) and non-zero numbers
    are true, null is false, objects and lists are true even when empty."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value != "" and value.lower() != "false"
    if isinstance(value, int | float | Decimal):
        return value != 0
    return True


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, float | Decimal):
        return "a non-finite number"
    return f"a {type(value).__name__}"


def _paths(node: Node) -> Iterator[str]:
    match node:
        case Path(path):
            yield path
        case Comparison(_, left, right):
            yield from _paths(left)
            yield from _paths(right)
        case Not(operand):
            yield from _paths(operand)
        case And(operands) | Or(operands):
            for operand in operands:
                yield from _paths(operand)
