"""Read a YAML rule file while keeping where each value was written, to report ``file:line``.

``parse_yaml`` composes the node tree (SafeLoader, so no Python objects) and builds the plain data
from it; ``line_of`` turns a validation location such as ``('contacts', 3, 'lots', 1)`` back into
the 1-based line of that node, or of the nearest parent that exists.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Loc = Sequence[str | int]


@dataclass(frozen=True)
class YamlDocument:
    """One parsed file: the node tree (``None`` for an empty file) and the data built from it."""

    root: Node | None
    data: Any


class YamlSyntaxError(Exception):
    """The file is not valid YAML; ``line`` is 1-based when the parser knows it."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class DuplicateKey:
    """A mapping that repeats a key (YAML would silently keep only the last one)."""

    key: str
    line: int
    first_line: int


def parse_yaml(text: str) -> tuple[YamlDocument, list[DuplicateKey]]:
    """Parse one document, keeping its nodes; raise ``YamlSyntaxError`` when it is not YAML."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        # Before construction: building the data flattens ``<<`` merge keys inside the nodes.
        duplicates = _duplicate_keys(root) if root is not None else []
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlSyntaxError(line, error.problem or str(error)) from error
    except yaml.YAMLError as error:
        raise YamlSyntaxError(None, str(error).replace("\n", " ")) from error
    finally:
        loader.dispose()
    return YamlDocument(root, data), duplicates


def line_of(root: Node, loc: Loc) -> int:
    """The 1-based line of the node at ``loc``, or of its deepest existing parent.

    For a mapping value the key's line is returned: ``lots:`` rather than the first item below it.
    """
    node = root
    line = _line(root)
    for part in loc:
        found = _child(node, part)
        if found is None:
            break
        line, node = found
    return line


def _child(node: Node, part: str | int) -> tuple[int, Node] | None:
    """The line to report for ``node[part]`` and the child node, or ``None`` when absent."""
    if isinstance(node, MappingNode):
        # The last occurrence wins, as when YAML builds the data.
        for key, value in reversed(node.value):
            if isinstance(key, ScalarNode) and key.value == str(part):
                return _line(key), value
        return None
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item: Node = node.value[part]
        return _line(item), item
    return None


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _duplicate_keys(root: Node) -> list[DuplicateKey]:
    """Every repeated scalar key in every mapping of the tree, in line order (aliases once)."""
    found: list[DuplicateKey] = []
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            found.extend(_repeats_in(node))
            pending.extend(value for _, value in node.value)
        elif isinstance(node, SequenceNode):
            pending.extend(node.value)
    return sorted(found, key=lambda duplicate: duplicate.line)


def _repeats_in(mapping: MappingNode) -> Iterator[DuplicateKey]:
    first: dict[str, int] = {}
    for key, _ in mapping.value:
        if not isinstance(key, ScalarNode) or key.value == "<<":
            continue
        if key.value in first:
            yield DuplicateKey(key.value, _line(key), first[key.value])
        else:
            first[key.value] = _line(key)
