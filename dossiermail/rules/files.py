"""Read one rule file into its pydantic model, turning every mistake into a ``file:line`` problem.

The parsed data and the places of the errors are kept, so that the cross-file checks can still
compare the values that are valid in a file with mistakes (``RuleFile.value`` / ``strings``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import Node

from dossiermail.rules.problems import RuleProblem
from dossiermail.rules.schema import allowed_keys, shown
from dossiermail.rules.yamlmarks import Loc, YamlSyntaxError, line_of, parse_yaml

M = TypeVar("M", bound=BaseModel)


@dataclass
class RuleFile(Generic[M]):
    """One rule file after validation: its model (defaults when absent or invalid) and problems.

    ``readable`` is False when the file could not be read as a YAML mapping at all; checks that
    rely on what it declares (e.g. known buildings) are then skipped rather than guessed.
    """

    path: str
    model: M
    root: Node | None = None
    data: dict[Any, Any] = field(default_factory=dict)
    content: bytes | None = None
    readable: bool = True
    error_locs: list[tuple[str | int, ...]] = field(default_factory=list)
    problems: list[RuleProblem] = field(default_factory=list)

    def line(self, loc: Loc) -> int | None:
        """The 1-based line of the node at ``loc`` (or its nearest parent)."""
        return line_of(self.root, loc) if self.root is not None else None

    def problem(self, loc: Loc, message: str) -> RuleProblem:
        """A problem located at the node ``loc`` of this file."""
        return RuleProblem(self.path, self.line(loc), message)

    def entries(self, key: str) -> list[int]:
        """Positions of the mappings in the top-level list ``key`` (valid or not)."""
        items = self.data.get(key)
        if not isinstance(items, list):
            return []
        return [i for i, item in enumerate(items) if isinstance(item, dict)]

    def value(self, loc: Loc) -> str | None:
        """The text at ``loc`` as written, stripped; None if absent, not text, or invalid."""
        node = self._raw_at(loc)
        if not isinstance(node, str) or self._has_error_at(tuple(loc)):
            return None
        return node.strip()

    def strings(self, loc: Loc) -> list[tuple[Loc, str]]:
        """The valid text items of the list at ``loc``, each with its own location."""
        items = self._raw_at(loc)
        locs: list[Loc] = [(*loc, i) for i in range(_length(items))]
        found = ((where, self.value(where)) for where in locs)
        return [(where, text) for where, text in found if text is not None]

    def _raw_at(self, loc: Loc) -> Any:
        node: Any = self.data
        for part in loc:
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                return None
        return node

    def _has_error_at(self, loc: tuple[str | int, ...]) -> bool:
        return any(error[: len(loc)] == loc for error in self.error_locs)


def _length(items: Any) -> int:
    return len(items) if isinstance(items, list) else 0


def read_rule_file(directory: Path, name: str, model: type[M]) -> RuleFile[M]:
    """Read, parse and validate ``directory/name``; a missing file gives the model's defaults."""
    path = directory / name
    result = RuleFile(str(path), model())
    if not path.exists():
        return result
    text = _read_text(path, result)
    if text is None:
        return result
    try:
        document, duplicates = parse_yaml(text)
    except YamlSyntaxError as error:
        return _unreadable(result, error.line, f"YAML syntax error: {error.problem}")
    result.root = document.root
    for duplicate in duplicates:
        result.problems.append(
            RuleProblem(
                result.path,
                duplicate.line,
                f"duplicate key '{duplicate.key}' (first at line {duplicate.first_line}): keep only one",
            )
        )
    return _validate(result, document.data, model)


def _read_text(path: Path, result: RuleFile[M]) -> str | None:
    try:
        result.content = path.read_bytes()
    except OSError as error:
        _unreadable(result, None, f"cannot read the file: {error.strerror or error}")
        return None
    try:
        return result.content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = result.content.count(b"\n", 0, error.start) + 1
        _unreadable(result, line, "not UTF-8 text: save the file as UTF-8")
        return None


def _unreadable(result: RuleFile[M], line: int | None, message: str) -> RuleFile[M]:
    result.readable = False
    result.problems.append(RuleProblem(result.path, line, message))
    return result


def _validate(result: RuleFile[M], data: Any, model: type[M]) -> RuleFile[M]:
    if data is None:
        return result
    if not isinstance(data, dict):
        expected = ", ".join(f"'{key}:'" for key in model.model_fields)
        message = f"expected keys at the top level ({expected}), got {_kind(data)}"
        return _unreadable(result, result.line(()), message)
    result.data = data
    try:
        result.model = model.model_validate(data)
    except ValidationError as error:
        for details in error.errors():
            result.error_locs.append(tuple(details["loc"]))
            result.problems.append(result.problem(details["loc"], describe_error(details, model)))
    return result


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    return f"the text {shown(value)}" if isinstance(value, str) else shown(value)


def describe_error(error: ErrorDetails, model: type[BaseModel]) -> str:
    """A one-line message for a pydantic error, naming the key and how to fix it."""
    loc = tuple(error["loc"])
    kind = error["type"]
    label = next((str(part) for part in reversed(loc) if isinstance(part, str)), "file")
    if kind in ("extra_forbidden", "invalid_key"):
        allowed = allowed_keys(model, loc[:-1])
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown key '{loc[-1]}'{hint}"
    if kind == "missing":
        return f"missing key '{loc[-1]}'"
    if kind == "value_error":
        return f"{label}: {error.get('ctx', {}).get('error', error['msg'])}"
    if kind == "list_type":
        return f"{label}: expected a list, got {shown(error['input'])} (write [] for none)"
    if kind in ("model_type", "dict_type"):
        keys = ", ".join(allowed_keys(model, loc))
        what = f"each item of {label}" if isinstance(loc[-1], int) else label
        return f"{what} must be a mapping with keys {keys}; got {shown(error['input'])}"
    return f"{label}: {error['msg']}"
