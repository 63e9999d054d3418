"""ClickHouse's own syntax tree of a query, read from the lines of ``EXPLAIN AST``.

Each line is one node (``Function plus (alias x) (children 1)``), one space of indent per
level. :func:`parse` rebuilds the tree and refuses output it cannot read exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

_CHILDREN = re.compile(r" +\(children (\d+)\)$")
_ALIAS = re.compile(r" \(alias (.*)\)$")


class UnreadableTree(ValueError):
    """The EXPLAIN AST output does not read as one consistent tree."""


@dataclass
class Node:
    kind: str  # the AST class: Function, Identifier, TableIdentifier, SelectQuery, ...
    name: str = ""  # what follows the kind: a function's or identifier's name, a literal
    alias: str = ""
    children: list[Node] = field(default_factory=list)
    declared: int = 0  # the child count ClickHouse printed

    def walk(self, parent: Node | None = None) -> Iterator[tuple[Node, Node | None]]:
        """Every node with its parent, depth first, in the order ClickHouse printed them."""
        stack: list[tuple[Node, Node | None]] = [(self, parent)]
        while stack:
            node, above = stack.pop()
            yield node, above
            stack.extend((child, node) for child in reversed(node.children))


def parse(lines: Sequence[str]) -> Node:
    """The tree printed by ``EXPLAIN AST`` (one output row per line)."""
    rows = _printed_rows(lines)
    stack: list[Node] = []
    root: Node | None = None
    for number, line in enumerate(rows, start=1):
        depth = len(line) - len(line.lstrip(" "))
        node = _node(line[depth:], number)
        if depth == 0:
            if root is not None:
                raise UnreadableTree(f"a second root at line {number}")
            root = node
        elif depth > len(stack):
            raise UnreadableTree(f"line {number} is indented past its parent")
        else:
            del stack[depth:]
            stack[-1].children.append(node)
        stack.append(node)
    assert root is not None
    _check_declared_children(root)
    return root


def _printed_rows(lines: Sequence[str]) -> list[str]:
    rows = list(lines)
    while rows and not rows[-1].strip():
        rows.pop()
    if not rows:
        raise UnreadableTree("no output")
    return rows


def _check_declared_children(root: Node) -> None:
    """A child the reader missed would be a part of the query the guard never judged."""
    for node, _ in root.walk():
        if len(node.children) != node.declared:
            raise UnreadableTree(
                f"{node.kind} declares {node.declared} children, has {len(node.children)}"
            )


def _node(text: str, number: int) -> Node:
    if not text or text[0] == " ":
        raise UnreadableTree(f"line {number} is empty")
    declared = 0
    match = _CHILDREN.search(text)
    if match:
        declared = int(match.group(1))
        text = text[: match.start()]
    kind, _, rest = text.partition(" ")
    alias = ""
    match = _ALIAS.search(rest)
    if match:
        alias = match.group(1)
        rest = rest[: match.start()]
    return Node(kind=kind, name=rest.strip(), alias=alias, declared=declared)
