"""Every regular expression in Flowker's code, and in the catalog's JSON Schemas, runs in
linear-ish time on adversarial input, so the next quadratic pattern fails here instead of
freezing a web process.

The patterns are found, not listed: an AST walk over every project module outside tests/
finds each call into `re`; a literal pattern is taken as written, a module-level compiled one
is read from the imported module, and any other must be reviewed into ALLOWED below. Each
pattern then scans long runs of every character it names, of its literal fragments and of
what its repeated parts match, each with and without a trailing character that cannot match,
in under a second of CPU time.
"""

import ast
import importlib
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog import registry

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".venv", "tests", "var", "node_modules", ".git", "build"}
RE_FUNCTIONS = {"compile", "search", "match", "fullmatch", "findall", "finditer", "sub"}
RE_FUNCTIONS |= {"subn", "split"}
# Position of the `flags` argument of each `re` function.
FLAGS_POSITION = {"compile": 1, "sub": 4, "subn": 4, "split": 3}
SIZE = 100_000
# CPU seconds (not wall time: other processes share the machine) one scan may take.
SECONDS = 1.0
GENERIC_CHARS = "aA0 _-.:/\\{}[]()\"'\n\té"
NO_MATCH_TAIL = "\x00"

# Calls whose pattern is neither a literal nor a module-level compiled pattern, reviewed by
# hand: (file, source of the pattern argument) → why it is safe.
ALLOWED = {
    ("flowker/sealing.py", "pattern"): (
        "patternProperties of the catalog's JSON Schemas (trusted code), each one checked by "
        "test_catalog_schema_patterns_are_linear"
    ),
    ("catalog/schemas.py", "p"): (
        "patternProperties of the schema being reported on, the catalog's own (trusted code), "
        "each one checked by test_catalog_schema_patterns_are_linear"
    ),
}


def _project_files() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if not SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts)
    )


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _is_re_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "re"
        and node.func.attr in RE_FUNCTIONS
    )


def _flags(call: ast.Call) -> int:
    node = next((kw.value for kw in call.keywords if kw.arg == "flags"), None)
    position = FLAGS_POSITION.get(call.func.attr, 2)
    if node is None and len(call.args) > position:
        node = call.args[position]
    return 0 if node is None else eval(compile(ast.Expression(node), "<flags>", "eval"), {"re": re})


def _module_level_patterns(tree: ast.Module, module: str) -> dict[int, tuple[str, int]]:
    """`NAME = re.compile(<not a literal>)` at module level, read from the imported module."""
    found = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and _is_re_call(statement.value):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    compiled = getattr(importlib.import_module(module), target.id)
                    found[id(statement.value)] = (compiled.pattern, compiled.flags)
    return found


def _collect() -> tuple[list[tuple[str, str, int]], list[str]]:
    """(where, pattern, flags) of every regex in the code, and the call sites nobody reviewed."""
    patterns, unreviewed = [], []
    for path in _project_files():
        relative = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(), filename=relative)
        module_level = None
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "re":
                unreviewed.append(f"{relative}:{node.lineno}: `from re import …` hides calls")
            if isinstance(node, ast.Import) and any(
                a.name == "re" and a.asname for a in node.names
            ):
                unreviewed.append(f"{relative}:{node.lineno}: `import re as …` hides calls")
            if not _is_re_call(node) or not (node.args or node.keywords):
                continue
            argument = node.args[0] if node.args else node.keywords[0].value
            where = f"{relative}:{node.lineno}"
            try:
                patterns.append((where, ast.literal_eval(argument), _flags(node)))
                continue
            except ValueError:
                pass
            if module_level is None:
                module_level = _module_level_patterns(tree, _module_name(path))
            if id(node) in module_level:
                patterns.append((where, *module_level[id(node)]))
            elif (relative, ast.unparse(argument)) not in ALLOWED:
                unreviewed.append(f"{where}: re.{node.func.attr}({ast.unparse(argument)}, …)")
    return patterns, unreviewed


def _schema_patterns(value: object, where: str) -> Iterator[tuple[str, str, int]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "pattern" and isinstance(item, str):
                yield where, item, 0
            if key == "patternProperties" and isinstance(item, dict):
                yield from ((where, pattern, 0) for pattern in item)
            yield from _schema_patterns(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _schema_patterns(item, f"{where}[{index}]")


def _catalog_patterns() -> list[tuple[str, str, int]]:
    schemas = [(f"provider {p.id}", p.config_schema) for p in registry.providers()]
    schemas += [(f"executor {e.id}", e.schema) for e in registry.executors()]
    schemas += [(f"trigger {t.id}", t.schema) for t in registry.triggers()]
    schemas += [(f"template {t.id}", t.param_schema) for t in registry.templates()]
    return [found for name, schema in schemas for found in _schema_patterns(schema, name)]


# --- adversarial inputs ------------------------------------------------------------------

try:
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # Python < 3.11
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

_CATEGORY_SAMPLES = {
    sre_constants.CATEGORY_DIGIT: "0",
    sre_constants.CATEGORY_NOT_DIGIT: "a",
    sre_constants.CATEGORY_SPACE: " ",
    sre_constants.CATEGORY_NOT_SPACE: "a",
    sre_constants.CATEGORY_WORD: "a",
    sre_constants.CATEGORY_NOT_WORD: "-",
}


def _class_sample(items: list) -> str:
    negated = any(op is sre_constants.NEGATE for op, _ in items)
    if negated:
        excluded = set(_class_chars(items))
        return next((c for c in "a0 -.xQ" if c not in excluded), "~")
    for op, value in items:
        if op is sre_constants.LITERAL:
            return chr(value)
        if op is sre_constants.RANGE:
            return chr(value[0])
        if op is sre_constants.CATEGORY:
            return _CATEGORY_SAMPLES.get(value, "a")
    return "a"


def _class_chars(items: list) -> Iterator[str]:
    for op, value in items:
        if op is sre_constants.LITERAL:
            yield chr(value)
        elif op is sre_constants.RANGE:
            yield from {chr(value[0]), chr((value[0] + value[1]) // 2), chr(value[1])}
        elif op is sre_constants.CATEGORY:
            yield _CATEGORY_SAMPLES.get(value, "a")


_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)


class _Shapes:
    """What to repeat: the characters a pattern names, its literal runs, and a sample of what
    each repeated part (and the whole pattern) matches."""

    def __init__(self) -> None:
        self.chars: set[str] = set()
        self.fragments: set[str] = set()

    def sample(self, parsed: list) -> str:
        text, literal_run = "", ""
        for op, value in parsed:
            piece = self._piece(op, value)
            if op is sre_constants.LITERAL:
                literal_run += piece
            else:
                self._keep(literal_run)
                literal_run = ""
            text += piece
        self._keep(literal_run)
        return text

    def _keep(self, fragment: str) -> None:
        if len(fragment) > 1:
            self.fragments.add(fragment)

    def _piece(self, op: object, value: object) -> str:
        if op is sre_constants.LITERAL:
            self.chars.add(chr(value))
            return chr(value)
        if op is sre_constants.NOT_LITERAL:
            self.chars.add(chr(value))
            return "a" if chr(value) != "a" else "b"
        if op is sre_constants.IN:
            self.chars.update(_class_chars(value))
            return _class_sample(value)
        if op is sre_constants.ANY:
            return "a"
        if op is sre_constants.CATEGORY:
            return _CATEGORY_SAMPLES.get(value, "a")
        if op is sre_constants.SUBPATTERN:
            return self.sample(value[-1])
        if op in _REPEATS:
            low, _, sub = value
            unit = self.sample(sub)
            self._keep(unit)
            return unit * max(low, 1) if low < 50 else unit
        if op is sre_constants.BRANCH:
            options = [self.sample(branch) for branch in value[1]]
            self.fragments.update(option for option in options if len(option) > 1)
            return options[0] if options else ""
        if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            self.sample(value[1])
            return ""
        return ""


def adversarial_inputs(pattern: str, flags: int) -> Iterator[str]:
    shapes = _Shapes()
    parsed = sre_parse.parse(pattern, flags)
    whole = shapes.sample(list(parsed))
    units = {*shapes.chars, *GENERIC_CHARS, *shapes.fragments}
    if whole:
        units.add(whole)
    for unit in sorted(units):
        body = unit * (SIZE // len(unit) + 1)
        yield body
        yield body + NO_MATCH_TAIL


class _TooSlow(Exception):
    pass


def _interrupt(*_: object) -> None:
    raise _TooSlow


def _slowest(pattern: str, flags: int) -> tuple[float, str]:
    """Longest time any adversarial input takes to scan, and which input (stops at the first
    one past the bound; a runaway scan is interrupted)."""
    compiled = re.compile(pattern, flags)
    worst, which = 0.0, ""
    previous = signal.signal(signal.SIGPROF, _interrupt)
    try:
        for text in adversarial_inputs(pattern, flags):
            started = time.process_time()
            signal.setitimer(signal.ITIMER_PROF, SECONDS * 1.5)
            try:
                compiled.findall(text)
            except _TooSlow:
                pass
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
            elapsed = time.process_time() - started
            if elapsed > worst:
                worst, which = elapsed, f"{text[:12]!r}… ({len(text)} chars)"
            if worst >= SECONDS:
                break
    finally:
        signal.signal(signal.SIGPROF, previous)
    return worst, which


CODE_PATTERNS, UNREVIEWED = _collect()


def test_every_regex_call_site_is_found_or_reviewed():
    assert not UNREVIEWED, "review these regexes (see ALLOWED):\n" + "\n".join(UNREVIEWED)
    assert len(CODE_PATTERNS) >= 20  # the walk really finds the project's patterns


@pytest.mark.parametrize(
    ("where", "pattern", "flags"), CODE_PATTERNS, ids=[where for where, _, _ in CODE_PATTERNS]
)
def test_code_patterns_are_linear(where, pattern, flags):
    worst, which = _slowest(pattern, flags)
    assert worst < SECONDS, f"{where}: {pattern!r} took {worst:.2f}s on {which}"


@pytest.mark.parametrize(
    ("where", "pattern", "flags"),
    _catalog_patterns(),
    ids=[f"{where}:{pattern}" for where, pattern, _ in _catalog_patterns()],
)
def test_catalog_schema_patterns_are_linear(where, pattern, flags):
    worst, which = _slowest(pattern, flags)
    assert worst < SECONDS, f"{where}: {pattern!r} took {worst:.2f}s on {which}"


@pytest.mark.parametrize(
    "pattern",
    [
        r"\{\{\s*(.*?)\s*\}\}",  # the former templating pattern
        r"([A-Z]+)([A-Z][a-z])",  # the former key-splitting pattern
        r"^(a+)+$",
        r"^(\w+\s?)*$",
        r"(x|xx)+y",
    ],
)
def test_the_check_catches_known_slow_patterns(pattern):
    worst, _ = _slowest(pattern, 0)
    assert worst >= SECONDS
