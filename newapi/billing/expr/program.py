"""Compiling a billing expression once: parse, check names and shapes, find request rules.

Facts from New API's ``pkg/billingexpr`` (compile.go, expr.md):

* an optional ``v1:`` prefix names the version (v1, the only one, when absent);
* request rules may follow the expression after ``|||``; each is one factor multiplied into
  it, ``when(cond) * N`` meaning ``(cond ? N : 1)``;
* a ternary ``cond ? <number> : 1`` whose condition reads the request (``param``, ``header``
  or a time function) is a traced request rule: the log lists every one with its canonical
  condition text, its multiplier and whether it matched;
* ``fixed(amount)`` is a per-request US$ price: a non-negative number literal, only as the
  whole value of ``tier(name, fixed(...))``, and such a tier only as a leaf of the pricing
  tree (ternaries, multiplied by request factors free of token counts);
* names starting with ``_trace`` are reserved.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from newapi.billing.expr.closures import Fn, build
from newapi.billing.expr.errors import ExprError
from newapi.billing.expr.syntax import (
    BINARY,
    MAX_CHARS,
    UNARY,
    Array,
    Binary,
    Call,
    Cond,
    Lit,
    Member,
    Name,
    Node,
    Unary,
    parse,
)

TOKEN_VARS = frozenset({"p", "c", "len", "cr", "cc", "cc1h", "img", "img_cr", "img_o", "ai", "ao"})
PROBES = frozenset({"param", "header", "hour", "minute", "weekday", "month", "day"})
#: name -> number of arguments
FUNCTIONS = {
    "tier": 2,
    "fixed": 1,
    "param": 1,
    "header": 1,
    "has": 2,
    "hour": 1,
    "minute": 1,
    "weekday": 1,
    "month": 1,
    "day": 1,
    "max": 2,
    "min": 2,
    "abs": 1,
    "ceil": 1,
    "floor": 1,
}


@dataclass(frozen=True, slots=True)
class Rule:
    cond: str
    multiplier: float


@dataclass(frozen=True, slots=True)
class Program:
    """A compiled expression: evaluate it with :func:`newapi.billing.expr.run.run`."""

    text: str
    version: int
    root: Node
    rules: tuple[Rule, ...]
    used_vars: frozenset[str]
    uses_param: bool
    uses_header: bool
    #: the tree as closures: what :func:`newapi.billing.expr.run.run` calls
    fn: Fn


def _children(node: Node) -> list[Node]:
    if isinstance(node, Unary):
        return [node.operand]
    if isinstance(node, Binary):
        return [node.left, node.right]
    if isinstance(node, Cond):
        return [node.test, node.yes, node.no]
    if isinstance(node, Call):
        return list(node.args)
    if isinstance(node, Member):
        return [node.obj, node.key]
    if isinstance(node, Array):
        return list(node.items)
    return []


def walk(node: Node) -> list[Node]:
    """Every node, children before their parent (expr-lang's walk order)."""
    out: list[Node] = []
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        if done:
            out.append(current)
            continue
        stack.append((current, True))
        stack.extend((child, False) for child in reversed(_children(current)))
    return out


def _split_rules(text: str) -> list[str]:
    """``text`` cut at each ``|||`` outside string literals."""
    parts: list[str] = []
    start = 0
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif text.startswith("|||", i):
            parts.append(text[start:i])
            i += 3
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _rule_factor(text: str) -> Node:
    node = parse(text)
    # when(cond) * N: the documented spelling of (cond ? N : 1)
    if (
        isinstance(node, Binary)
        and node.op == "*"
        and isinstance(node.left, Call)
        and node.left.name == "when"
        and len(node.left.args) == 1
        and isinstance(node.right, Lit)
    ):
        return Cond(node.left.args[0], node.right, Lit(1))
    return node


def _check_names(root: Node) -> None:
    for node in walk(root):
        if isinstance(node, Name | Call):
            name = node.name
            if name.startswith("_trace"):
                raise ExprError(f'identifier "{name}" is reserved for internal use')
        if isinstance(node, Name) and node.name not in TOKEN_VARS:
            if node.name in FUNCTIONS:
                raise ExprError(f"{node.name} is a function: call it as {node.name}(...)")
            raise ExprError(f"unknown name {node.name!r}")
        if isinstance(node, Call):
            arity = FUNCTIONS.get(node.name)
            if arity is None:
                raise ExprError(f"unknown function {node.name}()")
            if len(node.args) != arity:
                raise ExprError(f"{node.name}() takes {arity} argument{'s' if arity > 1 else ''}")


def _is_number_lit(node: Node) -> bool:
    return isinstance(node, Lit) and isinstance(node.value, int | float) and not isinstance(node.value, bool)


def _uses(node: Node, names: frozenset[str]) -> bool:
    return any(isinstance(n, Name | Call) and n.name in names for n in walk(node))


def _check_fixed(root: Node) -> None:
    """Where ``fixed()`` may appear (New API refuses the other shapes when saving)."""
    nodes = walk(root)
    if not any(isinstance(n, Call) and n.name == "fixed" for n in nodes):
        return
    for node in nodes:
        if isinstance(node, Call) and node.name == "tier":
            value = node.args[1]
            if isinstance(value, Call) and value.name == "fixed":
                amount = value.args[0]
                if not _is_number_lit(amount) or not math.isfinite(float(amount.value)):  # type: ignore[attr-defined]
                    raise ExprError("fixed() takes a finite number literal")
                if float(amount.value) < 0:  # type: ignore[attr-defined]
                    raise ExprError("fixed() price must not be negative")
            elif _uses(value, frozenset({"fixed"})):
                raise ExprError('fixed() must be the whole price of its tier: tier("name", fixed(0.01))')
    allowed: set[int] = set()

    def leaves(node: Node) -> None:
        if isinstance(node, Call) and node.name == "tier":
            allowed.add(id(node))
        elif isinstance(node, Cond):
            if _uses(node.test, frozenset({"tier", "fixed"})):
                raise ExprError("a tier condition must not contain tier() or fixed()")
            leaves(node.yes)
            leaves(node.no)
        elif isinstance(node, Binary) and node.op == "*":
            left_tree = _uses(node.left, frozenset({"tier"}))
            right_tree = _uses(node.right, frozenset({"tier"}))
            if left_tree == right_tree:
                raise ExprError("with fixed(), tiers may not be multiplied together or by nothing else")
            tree, factor = (node.left, node.right) if left_tree else (node.right, node.left)
            if _uses(factor, TOKEN_VARS):
                raise ExprError("a fixed() price may not be multiplied by token counts")
            leaves(tree)
        else:
            raise ExprError(
                "with fixed(), the expression must be tiers chosen by conditions, times request rules"
            )

    leaves(root)
    for node in nodes:
        if isinstance(node, Call) and node.name == "tier" and id(node) not in allowed:
            raise ExprError("with fixed(), every tier() must be a whole leaf of the pricing tree")


def _go_float(value: float) -> str:
    # Go's %v of a float64: shortest repr, exponent form from 1e21 (and below 1e-4) as 'e+21'
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        sign = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa}e{sign}{exponent.lstrip('+-').zfill(2)}"
    return text


_BOOLEAN = frozenset({"and", "or", "&&", "||"})


def _wrap_operand(parent: Binary, child: Node, left: bool) -> bool:
    """expr-lang's rule for parenthesising an operand when it prints a binary node."""
    if isinstance(child, Cond):
        return True
    prec, right_assoc = BINARY[parent.op]
    if isinstance(child, Unary):
        return left and UNARY[child.op] < prec
    if not isinstance(child, Binary):
        return False
    child_prec = BINARY[child.op][0]
    if child_prec < prec or (child.op in _BOOLEAN and child.op != parent.op):
        return True
    if child_prec == prec and right_assoc == left:
        return True
    return left and child.op == "??"


def canonical(node: Node) -> str:
    """expr-lang's ``Node.String()`` (the request rule's ``cond`` in the log)."""
    if isinstance(node, Lit):
        value = node.value
        if value is None:
            return "nil"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, float):
            return _go_float(value)
        return str(value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Call):
        return f"{node.name}({', '.join(canonical(a) for a in node.args)})"
    if isinstance(node, Member):
        obj = canonical(node.obj)
        if isinstance(node.obj, Binary):
            obj = f"({obj})"
        key = node.key
        named = isinstance(key, Lit) and isinstance(key.value, str) and key.value.isidentifier()
        if node.optional:
            return f"{obj}?.{key.value}" if named else f"{obj}?.[{canonical(key)}]"  # type: ignore[attr-defined]
        return f"{obj}.{key.value}" if named else f"{obj}[{canonical(key)}]"  # type: ignore[attr-defined]
    if isinstance(node, Array):
        return f"[{', '.join(canonical(i) for i in node.items)}]"
    if isinstance(node, Unary):
        op = "not " if node.op == "not" else node.op
        inner = node.operand
        wrap = isinstance(inner, Cond) or (isinstance(inner, Binary) and BINARY[inner.op][0] < UNARY[node.op])
        return f"{op}({canonical(inner)})" if wrap else f"{op}{canonical(inner)}"
    if isinstance(node, Binary):
        left, right = canonical(node.left), canonical(node.right)
        if _wrap_operand(node, node.left, True):
            left = f"({left})"
        if _wrap_operand(node, node.right, False):
            right = f"({right})"
        return f"{left} {node.op} {right}"
    assert isinstance(node, Cond)
    parts = [canonical(n) for n in (node.test, node.yes, node.no)]
    test, yes, no = (
        f"({text})" if isinstance(n, Cond) else text
        for n, text in zip((node.test, node.yes, node.no), parts, strict=True)
    )
    return f"{test} ? {yes} : {no}"


def _find_rules(root: Node) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for node in walk(root):
        if (
            isinstance(node, Cond)
            and _uses(node.test, PROBES)
            and _is_number_lit(node.yes)
            and _is_number_lit(node.no)
            and float(node.no.value) == 1.0  # type: ignore[attr-defined]
        ):
            node.rule = len(rules)
            rules.append(Rule(canonical(node.test), float(node.yes.value)))  # type: ignore[attr-defined]
    return tuple(rules)


def compile_expr(text: str) -> Program:
    """The compiled form of a stored expression; :class:`ExprError` says why it is refused."""
    if not isinstance(text, str):
        raise ExprError("the expression must be a string")
    if len(text) > MAX_CHARS:
        raise ExprError(f"the expression is longer than {MAX_CHARS} characters")
    body = text[3:] if text.startswith("v1:") else text
    parts = _split_rules(body)
    root = parse(parts[0])
    for part in parts[1:]:
        if part.strip():
            factor = _rule_factor(part)
            root = Binary("*", root, factor)
    if root.depth > 200:
        raise ExprError("the expression is nested too deeply")
    _check_names(root)
    _check_fixed(root)
    rules = _find_rules(root)
    names = {n.name for n in walk(root) if isinstance(n, Name | Call)}
    return Program(
        text=text,
        version=1,
        root=root,
        rules=rules,
        used_vars=frozenset(names & TOKEN_VARS),
        uses_param="param" in names,
        uses_header="header" in names,
        fn=build(root),
    )
