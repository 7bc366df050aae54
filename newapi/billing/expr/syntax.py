"""Reading a billing expression: tokens, then a tree, both bounded.

The language is the subset of expr-lang (github.com/expr-lang/expr) that New API's
``pkg/billingexpr`` compiles billing expressions with: literals (numbers, strings, true,
false, nil, arrays), names, calls, member access (``a.b``, ``a?.b``, ``a[i]``), unary
``- + ! not``, the binary operators at expr-lang's precedences, ``?:`` and ``??``. Closures,
pipes, ranges, ``let``, map literals and ``matches`` (a regular expression run on request
data) are refused when the expression is read. ``x has "y"`` is read as ``has(x, "y")``, the
spelling New API's documentation uses for request rules.

Every limit is checked here, once: the text's length, the number of nodes and the depth of
the tree (so evaluation, which recurses, stays far from Python's recursion limit).
"""

from __future__ import annotations

import re

from newapi.billing.expr.errors import ExprError

MAX_CHARS = 8192
MAX_NODES = 2000
MAX_DEPTH = 96

# expr-lang's parser/operator table: (precedence, right-associative)
BINARY: dict[str, tuple[int, bool]] = {
    "or": (10, False),
    "||": (10, False),
    "and": (15, False),
    "&&": (15, False),
    "==": (20, False),
    "!=": (20, False),
    "<": (20, False),
    ">": (20, False),
    ">=": (20, False),
    "<=": (20, False),
    "in": (20, False),
    "not in": (20, False),
    "contains": (20, False),
    "startsWith": (20, False),
    "endsWith": (20, False),
    "has": (20, False),
    "+": (30, False),
    "-": (30, False),
    "*": (60, False),
    "/": (60, False),
    "%": (60, False),
    "**": (100, True),
    "^": (100, True),
    "??": (500, False),
}
UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
_REFUSED_WORDS = {
    "matches": "the matches operator (regular expressions) is not supported",
    "let": "let bindings are not supported",
}

# closures and predicates (#), pipes, ranges, map literals, statements, assignment
_UNSUPPORTED = frozenset({"{", "#", "|", ";", "..", "="})
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>0[xX][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.(?!\.)\d*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>\*\*|\?\?|\?\.|&&|\|\||==|!=|<=|>=|\.\.|[-+*/%^<>!?:()\[\],.{}|#;=])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


class Node:
    __slots__ = ("depth",)
    depth: int


class Lit(Node):
    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value
        self.depth = 1


class Name(Node):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name
        self.depth = 1


class Unary(Node):
    __slots__ = ("op", "operand")

    def __init__(self, op: str, operand: Node) -> None:
        self.op, self.operand = op, operand
        self.depth = operand.depth + 1


class Binary(Node):
    __slots__ = ("left", "op", "right")

    def __init__(self, op: str, left: Node, right: Node) -> None:
        self.op, self.left, self.right = op, left, right
        self.depth = max(left.depth, right.depth) + 1


class Cond(Node):
    __slots__ = ("no", "rule", "test", "yes")

    def __init__(self, test: Node, yes: Node, no: Node) -> None:
        self.test, self.yes, self.no = test, yes, no
        self.rule = -1  # index of the request rule this ternary is, when it is one
        self.depth = max(test.depth, yes.depth, no.depth) + 1


class Call(Node):
    __slots__ = ("args", "name")

    def __init__(self, name: str, args: list[Node]) -> None:
        self.name, self.args = name, args
        self.depth = max((a.depth for a in args), default=0) + 1


class Member(Node):
    __slots__ = ("key", "obj", "optional")

    def __init__(self, obj: Node, key: Node, optional: bool) -> None:
        self.obj, self.key, self.optional = obj, key, optional
        self.depth = max(obj.depth, key.depth) + 1


class Array(Node):
    __slots__ = ("items",)

    def __init__(self, items: list[Node]) -> None:
        self.items = items
        self.depth = max((i.depth for i in items), default=0) + 1


def _number(text: str) -> int | float:
    text = text.replace("_", "")
    if text[:2] in ("0x", "0X"):
        return int(text, 16)
    if any(ch in text for ch in ".eE"):
        return float(text)
    return int(text)


def _string(text: str) -> str:
    if text[0] == "`":
        return text[1:-1]
    body = text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def tokenize(text: str) -> list[tuple[str, object, int]]:
    """``(kind, value, position)`` for each token, ending with ``("eof", None, len)``."""
    if len(text) > MAX_CHARS:
        raise ExprError(f"the expression is longer than {MAX_CHARS} characters")
    tokens: list[tuple[str, object, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ExprError(f"unexpected character {text[pos]!r} at position {pos}")
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "num":
            try:
                tokens.append(("num", _number(raw), pos))
            except ValueError:
                raise ExprError(f"invalid number {raw!r} at position {pos}") from None
        elif kind == "str":
            tokens.append(("str", _string(raw), pos))
        elif kind in ("name", "op"):
            tokens.append((kind, raw, pos))
        pos = match.end()
    tokens.append(("eof", None, len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.nodes = 0
        self.nesting = 0

    def peek(self) -> tuple[str, object, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, object, int]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, text: str) -> None:
        kind, value, pos = self.take()
        if kind != "op" or value != text:
            shown = "the end" if kind == "eof" else repr(value)
            raise ExprError(f"expected {text!r} at position {pos}, found {shown}")

    def made(self, node: Node) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExprError(f"the expression has more than {MAX_NODES} parts")
        if node.depth > MAX_DEPTH:
            raise ExprError(f"the expression is nested deeper than {MAX_DEPTH} levels")
        return node

    def binary_op(self) -> str | None:
        kind, value, _ = self.peek()
        if kind == "op" and value in BINARY:
            return str(value)
        if kind == "op" and value in _UNSUPPORTED:
            raise ExprError(f"{value!r} is not supported in billing expressions")
        if kind == "name":
            if value == "not" and self.tokens[self.i + 1][:2] == ("name", "in"):
                return "not in"
            if value in BINARY:
                return str(value)
            if value in _REFUSED_WORDS:
                raise ExprError(_REFUSED_WORDS[str(value)])
        return None

    def expression(self, min_prec: int = 0) -> Node:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise ExprError(f"the expression is nested deeper than {MAX_DEPTH} levels")
        left = self.unary()
        while True:
            op = self.binary_op()
            if op is None:
                break
            prec, right_assoc = BINARY[op]
            if prec < min_prec:
                break
            self.take()
            if op == "not in":
                self.take()
            right = self.expression(prec if right_assoc else prec + 1)
            if op == "has":
                left = self.made(Call("has", [left, right]))
            elif op == "not in":  # expr-lang reads it as not (a in b)
                left = self.made(Unary("not", self.made(Binary("in", left, right))))
            else:
                left = self.made(Binary(op, left, right))
        if min_prec == 0 and self.peek()[:2] == ("op", "?"):
            self.take()
            yes = self.expression()
            self.expect(":")
            no = self.expression()
            left = self.made(Cond(left, yes, no))
        self.nesting -= 1
        return left

    def unary(self) -> Node:
        kind, value, _ = self.peek()
        if (kind == "op" and value in ("!", "-", "+")) or (kind == "name" and value == "not"):
            self.take()
            operand = self.expression(UNARY[str(value)])
            return self.made(Unary(str(value), operand))
        return self.postfix(self.primary())

    def primary(self) -> Node:
        kind, value, pos = self.take()
        if kind == "num" or kind == "str":
            return self.made(Lit(value))
        if kind == "name":
            name = str(value)
            if name in _REFUSED_WORDS:
                raise ExprError(_REFUSED_WORDS[name])
            if name in ("true", "false"):
                return self.made(Lit(name == "true"))
            if name == "nil":
                return self.made(Lit(None))
            if self.peek()[:2] == ("op", "("):
                self.take()
                return self.made(Call(name, self.items(")")))
            return self.made(Name(name))
        if kind == "op" and value == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if kind == "op" and value == "[":
            return self.made(Array(self.items("]")))
        if kind == "eof":
            raise ExprError("the expression ends too early")
        if value in _UNSUPPORTED:
            raise ExprError(f"{value!r} at position {pos} is not supported in billing expressions")
        raise ExprError(f"unexpected {value!r} at position {pos}")

    def items(self, close: str) -> list[Node]:
        items: list[Node] = []
        if self.peek()[:2] == ("op", close):
            self.take()
            return items
        while True:
            items.append(self.expression())
            kind, value, pos = self.take()
            if kind == "op" and value == close:
                return items
            if kind != "op" or value != ",":
                raise ExprError(f"expected ',' or {close!r} at position {pos}")

    def postfix(self, node: Node) -> Node:
        while True:
            kind, value, pos = self.peek()
            if kind != "op" or value not in (".", "?.", "["):
                return node
            self.take()
            if value == "[":
                key = self.expression()
                self.expect("]")
                node = self.made(Member(node, key, False))
                continue
            name_kind, name, _ = self.take()
            if name_kind != "name":
                raise ExprError(f"expected a field name after {value!r} at position {pos}")
            node = self.made(Member(node, self.made(Lit(name)), value == "?."))


def parse(text: str) -> Node:
    """The tree of ``text``; :class:`ExprError` says what is wrong with it."""
    parser = _Parser(text)
    if parser.peek()[0] == "eof":
        raise ExprError("the expression is empty")
    node = parser.expression()
    kind, value, pos = parser.peek()
    if kind != "eof":
        raise ExprError(f"unexpected {value!r} at position {pos}")
    return node
