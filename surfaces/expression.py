"""A surface the user types, f(x, y) in ordinary notation, parsed safely and differentiated exactly.

Safety: the text never reaches eval, exec or compile. It is read by ``ast.parse`` (which only builds
a syntax tree and runs nothing) and then walked against an explicit whitelist: numbers, x and y
(or w1 and w2), pi and e, + − * / and powers (^ or **), unary minus, and calls by name to sin, cos,
tan, exp, log, sqrt, abs, tanh, sinh, cosh (one argument) and min, max (two). Anything else, e.g.
attribute access, subscripts, lambdas, comprehensions, strings, keywords or any other name, is
refused with an ``ExpressionError`` that names the problem and its column. The accepted tree is
copied into small node objects of this module; only those are ever evaluated, by NumPy.

Bounds on the work: at most 200 characters, 100 nodes and a nesting depth of 20 (a chain of
+ or of * counts as one level), literals up to 1e6 in size, constant exponents between −10 and 10,
and no power inside a variable exponent (no towers like x^y^x). Every evaluation is elementwise
float64 arithmetic under ``np.errstate(all="ignore")``: overflow gives inf and a log of a negative
number gives NaN (a gap on the plots), never an error, a hang or a large allocation.

Derivatives are exact: a forward-mode pass over the tree carries each value with its gradient and
Hessian (hyper-dual numbers), by the chain rule; no finite differences. Where a function has a
kink the subgradient convention is used: d|u| = sign(u)·du (0 at u = 0), and min(a, b) / max(a, b)
take the derivative of the branch they choose (the first argument on a tie).
"""

from __future__ import annotations

import ast
import math
import re
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .analytic import analytic_surface
from .base import Bounds, Surface

MAX_LENGTH = 200
MAX_NODES = 100
MAX_DEPTH = 20
MAX_CONSTANT = 1e6
MAX_EXPONENT = 10
EXPRESSION_NAME = "typed"
DEFAULT_BOUNDS: Bounds = ((-3.0, 3.0), (-3.0, 3.0))

VARIABLES = {"x": 0, "y": 1, "w1": 0, "w2": 1}
CONSTANTS = {"pi": math.pi, "e": math.e}
FUNCTIONS = {"sin": 1, "cos": 1, "tan": 1, "exp": 1, "log": 1, "sqrt": 1, "abs": 1, "tanh": 1,
             "sinh": 1, "cosh": 1, "min": 2, "max": 2}
_FUNCTION_LIST = ", ".join(FUNCTIONS)
# Typographic signs people paste from notes, mapped one character to one character.
_TYPOGRAPHIC = {"\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u00f7": "/",
                "\u2013": "-"}


class ExpressionError(ValueError):
    """A typed function was refused. `column` (1-based, in the text as typed) points at the
    problem when it is known; `pointer()` draws the text with a caret under that column."""

    def __init__(self, message: str, text: str = "", column: int | None = None):
        self.message = message
        self.text = text
        self.column = column
        super().__init__(message if column is None else f"{message} (column {column})")

    def pointer(self) -> str:
        """The text as typed on one line (a tab or newline shown as a blank, so the columns
        stay), with a caret under the column when it is known."""
        text = "".join(c if c.isprintable() else " " for c in self.text)
        if self.column is None or not text:
            return text
        return f"{text}\n{' ' * (self.column - 1)}^"


# --------------------------------------------------------------------------- the tree

@dataclass(frozen=True)
class Const:
    value: float


@dataclass(frozen=True)
class Var:
    index: int  # 0 is x (w1), 1 is y (w2)


@dataclass(frozen=True)
class Unary:
    op: str  # "neg" or a one-argument function name
    arg: object


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / ^ min max
    left: object
    right: object


class Expr:
    """A parsed, checked expression: `text` is its normalized form, `evaluate(x, y, order)` its
    value (order 0), with the gradient (1) or with gradient and Hessian (2)."""

    def __init__(self, root, source: str):
        self.root = root
        self.source = source
        self.text = _to_text(root)
        self.nodes = _count(root)

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"

    def value(self, x, y) -> np.ndarray:
        return self.evaluate(x, y, 0)[0]

    def evaluate(self, x, y, order: int = 0):
        """(f,) or (f, fx, fy) or (f, fx, fy, fxx, fxy, fyy), each broadcast to x, y's shape."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        shape = np.broadcast_shapes(x.shape, y.shape)
        with np.errstate(all="ignore"):
            d = _eval(self.root, x, y, order)
            parts = [d.v]
            if order >= 1:
                parts += [d.gx, d.gy]
            if order >= 2:
                parts += [d.hxx, d.hxy, d.hyy]
            return tuple(_full(p, shape) for p in parts)


def _zero_if_none(a):
    return 0.0 if a is None else a


def _full(part, shape) -> np.ndarray:
    """A part of the result as a writable float64 array of the common shape (a constant or a
    missing derivative, i.e. zero, is spread out)."""
    out = np.asarray(_zero_if_none(part), dtype=np.float64)
    return out if out.shape == shape else np.broadcast_to(out, shape).copy()


# --------------------------------------------------------------------------- parsing

def _prepare(text: str) -> tuple[str, list[int]]:
    """The text for ast.parse (^ becomes **) and, for each of its characters, the 1-based column
    in the text as typed. Refuses what is too long or not plain text."""
    if not isinstance(text, str):
        raise ExpressionError(f"The function must be text; got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"The function is too long: {len(text)} characters "
                              f"(the limit is {MAX_LENGTH})")
    if not text.strip():
        raise ExpressionError("Type a function of x and y, for example x^2 + 3*y^2")
    out, columns = [], []
    for i, ch in enumerate(text, start=1):
        ch = _TYPOGRAPHIC.get(ch, ch)
        if ch == "^":
            out.append("**")
            columns += [i, i]
            continue
        if ch in "\t\n\r":
            ch = " "
        if not (32 <= ord(ch) < 127) or ch in "#\\;$?!`@{}":
            raise ExpressionError(f"Unexpected character {text[i - 1]!r}", text, i)
        out.append(ch)
        columns.append(i)
    return "".join(out), columns


def _column(node, columns: list[int]) -> int | None:
    """The column as typed of an ast expression node (whose col_offset counts in the text given
    to ast.parse, where each ^ became **)."""
    if not isinstance(node, ast.expr) or not columns:
        return None
    return columns[min(node.col_offset, len(columns) - 1)]


_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}
_OP_NAMES = {ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
             ast.LShift: "<<", ast.RShift: ">>", ast.BitXor: "^"}
_REFUSED = {
    ast.Attribute: "Attribute access (.) is not allowed",
    ast.Subscript: "Indexing with [ ] is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "Comprehensions are not allowed",
    ast.SetComp: "Comprehensions are not allowed",
    ast.DictComp: "Comprehensions are not allowed",
    ast.GeneratorExp: "Comprehensions are not allowed",
    ast.List: "Lists are not allowed",
    ast.Tuple: "Tuples (a, b) are not allowed",
    ast.Set: "Sets are not allowed",
    ast.Dict: "Dicts are not allowed",
    ast.Compare: "Comparisons (<, ==, …) are not allowed",
    ast.BoolOp: "and / or are not allowed",
    ast.IfExp: "if … else is not allowed",
    ast.NamedExpr: "Assignment (:=) is not allowed",
    ast.JoinedStr: "Text in quotes is not allowed",
    ast.Starred: "* unpacking is not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Slice: "Indexing with [ ] is not allowed",
}


def _first_dunder(tree) -> tuple[str, object] | None:
    """The first double-underscore name or attribute in reading order, if any: the clearest sign
    of an attempt to reach Python's internals, so it is reported before anything else."""
    found = []
    for node in ast.walk(tree):
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if name is not None and "__" in name:
            found.append((node.end_col_offset - len(name), name, node))
    if not found:
        return None
    found.sort(key=lambda item: item[0])
    return found[0]


def parse(text: str) -> Expr:
    """Parse f(x, y) typed in ordinary notation into a checked Expr; ExpressionError otherwise.
    Blanks (spaces, tabs, newlines) before and after the formula are ignored; columns in
    messages still count in the text as typed."""
    source, columns = _prepare(text)
    if isinstance(text, str):
        lead = len(source) - len(source.lstrip())
        source, columns = source.strip(), columns[lead:lead + len(source.strip())]
    try:
        with warnings.catch_warnings():
            # Python warns about e.g. "1if" while parsing; such text is refused, not warned about.
            warnings.simplefilter("error")
            tree = ast.parse(source, mode="eval")  # builds a tree only; nothing is compiled or run
    except SyntaxWarning as err:
        raise ExpressionError(f"Syntax error: {err}", text) from None
    except SyntaxError as err:
        offset = err.offset or 0
        if offset < 1 or offset > len(columns):  # the parser ran out of text
            raise ExpressionError("Syntax error: the function ends too early (something is "
                                  "missing after the last operator or parenthesis)",
                                  text, len(text.rstrip()) or 1) from None
        col = columns[offset - 1]
        message = "this is not a valid formula here" if err.msg == "invalid syntax" else err.msg
        hint = ""
        if re.search(r"\d[A-Za-z_]", text) and not re.search(r"\d[eE][-+]?\d", text):
            hint = "; write multiplication with *, e.g. 2*x"
        raise ExpressionError(f"Syntax error: {message}{hint}", text, col) from None
    except (ValueError, RecursionError, MemoryError) as err:  # e.g. nesting beyond the parser
        raise ExpressionError(f"The function could not be read: {err}", text) from None

    dunder = _first_dunder(tree)
    if dunder is not None:
        offset, name, node = dunder
        col = columns[min(offset, len(columns) - 1)]
        parent_call = any(isinstance(n, ast.Call) and n.func is node for n in ast.walk(tree))
        if parent_call:
            raise ExpressionError(f"{name} is not an allowed function (double-underscore names "
                                  f"are never allowed)", text, col)
        raise ExpressionError(f"Double-underscore names such as {name} are not allowed", text, col)

    builder = _Builder(text, columns)
    root = builder.build(tree.body, 1)
    if builder.nodes > MAX_NODES:
        raise ExpressionError(f"The function is too big: {builder.nodes} parts "
                              f"(the limit is {MAX_NODES})", text)
    if isinstance(root, Const) and not math.isfinite(root.value):
        raise ExpressionError("The function is a constant that is not a finite number", text)
    return Expr(root, text)


class _Builder:
    """Walks the ast against the whitelist, building this module's nodes. Constants are folded
    (in float64) so that exponents such as 1/2 or -2 are known when they are checked."""

    def __init__(self, text: str, columns: list[int]):
        self.text, self.columns, self.nodes = text, columns, 0

    def fail(self, message: str, node) -> None:
        raise ExpressionError(message, self.text, _column(node, self.columns))

    def build(self, node, depth: int, chain: str | None = None):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.fail(f"The function is too big: more than {MAX_NODES} parts", node)
        if depth > MAX_DEPTH:
            self.fail(f"The function is nested too deeply (the limit is {MAX_DEPTH} levels)", node)
        if isinstance(node, ast.BinOp):
            return self._binop(node, depth, chain)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return _fold(Unary("neg", self.build(node.operand, depth + 1)), self, node)
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand, depth + 1)
            sign = {ast.Not: "not", ast.Invert: "~"}.get(type(node.op), type(node.op).__name__)
            self.fail(f"The operator {sign} is not allowed", node)
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        for kind, message in _REFUSED.items():
            if isinstance(node, kind):
                self.fail(message, node)
        self.fail(f"{type(node).__name__} is not allowed here", node)

    def _binop(self, node, depth, chain):
        op = _OPS.get(type(node.op))
        if op is None:
            self.fail(f"The operator {_OP_NAMES.get(type(node.op), type(node.op).__name__)} "
                      f"is not allowed; use + - * / ^", node)
        group = {"+": "add", "-": "add", "*": "mul", "/": "mul"}.get(op)
        # A chain such as a + b + c + d nests to the left; it counts as one level.
        left_depth = depth if group is not None and group == chain else depth + 1
        left = self.build(node.left, left_depth, group)
        right = self.build(node.right, depth + 1, None)
        if op == "^":
            if isinstance(right, Const):
                p = right.value
                if not math.isfinite(p) or abs(p) > MAX_EXPONENT:
                    self.fail(f"The exponent {p:.6g} is too large: exponents must lie between "
                              f"-{MAX_EXPONENT} and {MAX_EXPONENT}", node.right)
            elif _has_variable_power(right):
                self.fail("A power inside an exponent (a tower like x^y^x) is not allowed",
                          node.right)
        return _fold(Binary(op, left, right), self, node)

    def _constant(self, node):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            what = {str: "Text in quotes is", bytes: "Text in quotes is",
                    complex: "Complex numbers are", bool: "True and False are"}.get(
                type(value), f"The value {value!r} is")
            self.fail(f"{what} not allowed", node)
        if abs(value) > MAX_CONSTANT:
            shown = f"{value:.3g}" if isinstance(value, float) else f"{float(value):.3g}"
            self.fail(f"The number {shown} is too large (the limit is {MAX_CONSTANT:g})", node)
        return Const(float(value))

    def _name(self, node):
        name = node.id
        if name in VARIABLES:
            return Var(VARIABLES[name])
        if name in CONSTANTS:
            return Const(CONSTANTS[name])
        if name in FUNCTIONS:
            self.fail(f"{name} is a function: call it with parentheses, like {name}(x)", node)
        self.fail(f"Unknown name {name!r}; use x and y (or w1 and w2), pi, e and the functions "
                  f"{_FUNCTION_LIST}", node)

    def _call(self, node, depth):
        func = node.func
        if isinstance(func, ast.Attribute):
            self.fail("Attribute access (.) is not allowed", func)
        if isinstance(func, ast.Constant) and isinstance(func.value, (int, float)):
            self.fail("Write multiplication with *, e.g. 2*(x + 1)", node)
        if not isinstance(func, ast.Name):
            self.fail(f"Only these functions can be called, by name: {_FUNCTION_LIST}", node)
        name = func.id
        if name in VARIABLES or name in CONSTANTS:
            self.fail(f"{name} is not a function; write {name}*(…) to multiply", func)
        if name not in FUNCTIONS:
            self.fail(f"{name} is not an allowed function; use one of: {_FUNCTION_LIST}", func)
        if node.keywords:
            self.fail(f"Keyword arguments are not allowed in {name}(…)", node.keywords[0].value)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail("* unpacking is not allowed", arg)
        want = FUNCTIONS[name]
        if len(node.args) != want:
            self.fail(f"{name} takes {want} argument{'s' if want > 1 else ''}, "
                      f"got {len(node.args)}", node)
        args = [self.build(arg, depth + 1) for arg in node.args]
        if want == 1:
            return _fold(Unary(name, args[0]), self, node)
        return _fold(Binary(name, args[0], args[1]), self, node)


def _has_variable_power(node) -> bool:
    """Whether a power with a non-constant exponent occurs in the tree (e^(-x^2) is fine; the
    exponent of x^y^x is y^x, which is not)."""
    if isinstance(node, Binary):
        if node.op == "^" and not isinstance(node.right, Const):
            return True
        return _has_variable_power(node.left) or _has_variable_power(node.right)
    if isinstance(node, Unary):
        return _has_variable_power(node.arg)
    return False


def _fold(node, builder: _Builder, ast_node):
    """Replace a node whose arguments are all constants by its value."""
    children = [node.arg] if isinstance(node, Unary) else [node.left, node.right]
    if not all(isinstance(c, Const) for c in children):
        return node
    with np.errstate(all="ignore"):
        value = float(_eval(node, np.float64(0.0), np.float64(0.0), 0).v)
    if not math.isfinite(value):
        builder.fail("This constant part is not a finite number (e.g. a division by zero or "
                     "the log of a negative number)", ast_node)
    return Const(value)


def _count(node) -> int:
    if isinstance(node, Unary):
        return 1 + _count(node.arg)
    if isinstance(node, Binary):
        return 1 + _count(node.left) + _count(node.right)
    return 1


# --------------------------------------------------------------------------- printing

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "^": 4}


def _number(v: float) -> str:
    if v == math.pi:
        return "pi"
    if v == math.e:
        return "e"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def _to_text(node, parent: int = 0, right_side: bool = False) -> str:
    if isinstance(node, Const):
        text = _number(node.value)
        return f"({text})" if node.value < 0 and parent > 0 else text
    if isinstance(node, Var):
        return "xy"[node.index]
    if isinstance(node, Unary):
        if node.op == "neg":
            inner = _to_text(node.arg, _PRECEDENCE["neg"])
            text = f"-{inner}"
            return f"({text})" if parent >= _PRECEDENCE["neg"] else text
        return f"{node.op}({_to_text(node.arg)})"
    if node.op in ("min", "max"):
        return f"{node.op}({_to_text(node.left)}, {_to_text(node.right)})"
    prec = _PRECEDENCE[node.op]
    if node.op == "^":  # right-associative
        left = _to_text(node.left, prec + 1)
        right = _to_text(node.right, prec)
        text = f"{left}^{right}"
    else:
        left = _to_text(node.left, prec)
        right = _to_text(node.right, prec, right_side=True)
        sep = f" {node.op} " if node.op in "+-" else node.op
        text = f"{left}{sep}{right}"
    needs = parent > prec or (right_side and parent == prec)
    return f"({text})" if needs else text


# --------------------------------------------------------------------------- evaluation

class _D:
    """A value with its first and second derivatives in x and y; None stands for zero."""

    __slots__ = ("v", "gx", "gy", "hxx", "hxy", "hyy")

    def __init__(self, v, gx=None, gy=None, hxx=None, hxy=None, hyy=None):
        self.v, self.gx, self.gy, self.hxx, self.hxy, self.hyy = v, gx, gy, hxx, hxy, hyy


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _sub(a, b):
    if b is None:
        return a
    if a is None:
        return -b
    return a - b


def _mul(a, b):
    if a is None or b is None:
        return None
    return a * b


def _neg(a):
    return None if a is None else -a


def _chain(u: _D, g, g1, g2, order: int) -> _D:
    """h = g(u) with g' = g1 and g'' = g2 (values at u): the chain rule to second order."""
    if order == 0:
        return _D(g)
    gx, gy = _mul(g1, u.gx), _mul(g1, u.gy)
    if order == 1:
        return _D(g, gx, gy)
    return _D(g, gx, gy,
              _add(_mul(g2, _mul(u.gx, u.gx)), _mul(g1, u.hxx)),
              _add(_mul(g2, _mul(u.gx, u.gy)), _mul(g1, u.hxy)),
              _add(_mul(g2, _mul(u.gy, u.gy)), _mul(g1, u.hyy)))


def _unary(op: str, u: _D, order: int) -> _D:
    v = u.v
    if op == "neg":
        return _D(-v, _neg(u.gx), _neg(u.gy), _neg(u.hxx), _neg(u.hxy), _neg(u.hyy))
    if order == 0:
        return _D(_VALUE[op](v))
    if op == "sin":
        s, c = np.sin(v), np.cos(v)
        return _chain(u, s, c, -s if order > 1 else None, order)
    if op == "cos":
        s, c = np.sin(v), np.cos(v)
        return _chain(u, c, -s, -c if order > 1 else None, order)
    if op == "tan":
        t = np.tan(v)
        d = 1.0 + t * t
        return _chain(u, t, d, 2.0 * t * d if order > 1 else None, order)
    if op == "exp":
        e = np.exp(v)
        return _chain(u, e, e, e, order)
    if op == "log":
        inv = 1.0 / v
        return _chain(u, np.log(v), inv, -inv * inv if order > 1 else None, order)
    if op == "sqrt":
        s = np.sqrt(v)
        d = 0.5 / s
        return _chain(u, s, d, -0.5 * d / v if order > 1 else None, order)  # -u^(-3/2)/4
    if op == "abs":  # subgradient: sign(u), 0 at u = 0; no curvature
        return _chain(u, np.abs(v), np.sign(v), None, order)
    if op == "tanh":
        t = np.tanh(v)
        d = 1.0 - t * t
        return _chain(u, t, d, -2.0 * t * d if order > 1 else None, order)
    if op == "sinh":
        s = np.sinh(v)
        c = np.cosh(v)
        return _chain(u, s, c, s, order)
    if op == "cosh":
        s = np.sinh(v)
        c = np.cosh(v)
        return _chain(u, c, s, c, order)
    raise AssertionError(op)


_VALUE: dict[str, Callable] = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp,
                               "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "tanh": np.tanh,
                               "sinh": np.sinh, "cosh": np.cosh}


def _power_const(u: _D, p: float, order: int) -> _D:
    """u^p for a constant p, with the derivatives written so that no 0·inf appears at u = 0."""
    v = u.v
    if p == 0:
        return _D(np.ones_like(v) if isinstance(v, np.ndarray) else 1.0)
    if p == 1:
        return u
    if p == 2:
        value = v * v
        if order == 0:
            return _D(value)
        return _chain(u, value, 2.0 * v, 2.0, order)
    if p == 0.5:
        return _unary("sqrt", u, order)
    value = np.power(v, p)
    if order == 0:
        return _D(value)
    g1 = p * np.power(v, p - 1)
    g2 = p * (p - 1) * (v if p == 3 else np.power(v, p - 2)) if order > 1 else None
    return _chain(u, value, g1, g2, order)


def _binary(op: str, a: _D, b: _D, order: int, node) -> _D:
    if op == "+":
        return _D(a.v + b.v, _add(a.gx, b.gx), _add(a.gy, b.gy),
                  _add(a.hxx, b.hxx), _add(a.hxy, b.hxy), _add(a.hyy, b.hyy))
    if op == "-":
        return _D(a.v - b.v, _sub(a.gx, b.gx), _sub(a.gy, b.gy),
                  _sub(a.hxx, b.hxx), _sub(a.hxy, b.hxy), _sub(a.hyy, b.hyy))
    if op == "*":
        v = a.v * b.v
        if order == 0:
            return _D(v)
        gx = _add(_mul(a.gx, b.v), _mul(a.v, b.gx))
        gy = _add(_mul(a.gy, b.v), _mul(a.v, b.gy))
        if order == 1:
            return _D(v, gx, gy)

        def second(ha, hb, a1, b2, a2, b1):
            return _add(_add(_mul(ha, b.v), _mul(a.v, hb)), _add(_mul(a1, b2), _mul(a2, b1)))

        return _D(v, gx, gy, second(a.hxx, b.hxx, a.gx, b.gx, a.gx, b.gx),
                  second(a.hxy, b.hxy, a.gx, b.gy, a.gy, b.gx),
                  second(a.hyy, b.hyy, a.gy, b.gy, a.gy, b.gy))
    if op == "/":
        q = a.v / b.v
        if order == 0:
            return _D(q)
        inv = 1.0 / b.v
        # a = q·b, so q' = (a' − q·b')/b and q'' = (a'' − q'·b' − q'·b' − q·b'')/b.
        qx = _mul(_sub(a.gx, _mul(q, b.gx)), inv)
        qy = _mul(_sub(a.gy, _mul(q, b.gy)), inv)
        if order == 1:
            return _D(q, qx, qy)

        def second(ha, hb, q1, b2, q2, b1):
            return _mul(_sub(_sub(ha, _add(_mul(q1, b2), _mul(q2, b1))), _mul(q, hb)), inv)

        return _D(q, qx, qy, second(a.hxx, b.hxx, qx, b.gx, qx, b.gx),
                  second(a.hxy, b.hxy, qx, b.gy, qy, b.gx),
                  second(a.hyy, b.hyy, qy, b.gy, qy, b.gy))
    if op == "^":
        if isinstance(node.right, Const):
            return _power_const(a, node.right.value, order)
        # A variable exponent: u^w = exp(w·log u), defined for u > 0 (NaN, a gap, elsewhere).
        log_a = _unary("log", a, order)
        return _unary("exp", _binary("*", b, log_a, order, None), order)
    if op in ("min", "max"):
        pick_a = a.v <= b.v if op == "min" else a.v >= b.v  # a tie takes the first argument

        def choose(p, q):
            if p is None and q is None:
                return None
            return np.where(pick_a, _zero_if_none(p), _zero_if_none(q))

        return _D(np.where(pick_a, a.v, b.v), choose(a.gx, b.gx), choose(a.gy, b.gy),
                  choose(a.hxx, b.hxx), choose(a.hxy, b.hxy), choose(a.hyy, b.hyy))
    raise AssertionError(op)


def _eval(node, x, y, order: int) -> _D:
    if isinstance(node, Const):
        return _D(np.float64(node.value))  # NumPy arithmetic: 1/0 is inf (a gap), not an error
    if isinstance(node, Var):
        if node.index == 0:
            return _D(x, 1.0 if order else None)
        return _D(y, None, 1.0 if order else None)
    if isinstance(node, Unary):
        return _unary(node.op, _eval(node.arg, x, y, order), order)
    return _binary(node.op, _eval(node.left, x, y, order), _eval(node.right, x, y, order),
                   order, node)


# --------------------------------------------------------------------------- the surface

def _local_minima(expr: Expr, bounds: Bounds, n: int = 81) -> np.ndarray:
    """Isolated local minima inside the bounds, found numerically: the grid's local minima,
    polished by damped Newton steps (gradient steps where the Hessian is not positive), kept when
    the gradient vanishes and the loss rises in every direction around the point."""
    (x0, x1), (y0, y1) = bounds
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    X, Y = np.meshgrid(xs, ys, indexing="xy")
    with np.errstate(all="ignore"):
        Z = expr.value(X, Y)
        P = np.pad(np.where(np.isfinite(Z), Z, np.inf), 1, constant_values=np.inf)
        centre = P[1:-1, 1:-1]
        lower_eq = np.ones_like(centre, dtype=bool)
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                if di or dj:
                    lower_eq &= centre <= P[1 + di:n + 1 + di, 1 + dj:n + 1 + dj]
        candidates = np.flatnonzero(lower_eq & np.isfinite(Z))
        if candidates.size == 0:
            return np.empty((0, 2))
        candidates = candidates[np.argsort(Z.ravel()[candidates])][:24]
        w = np.stack([X.ravel()[candidates], Y.ravel()[candidates]], -1)
        span = np.array([x1 - x0, y1 - y0])
        for _ in range(40):
            f, gx, gy, hxx, hxy, hyy = expr.evaluate(w[:, 0], w[:, 1], 2)
            g = np.stack([gx, gy], -1)
            det = hxx * hyy - hxy * hxy
            newton_ok = (hxx > 0) & (det > 0) & np.isfinite(det)
            safe_det = np.where(newton_ok, det, 1.0)
            step = np.where(newton_ok[:, None],
                            -np.stack([hyy * g[:, 0] - hxy * g[:, 1],
                                       hxx * g[:, 1] - hxy * g[:, 0]], -1) / safe_det[:, None],
                            -g * (0.01 * span.min() / np.maximum(np.linalg.norm(g, axis=-1), 1e-300))[:, None])
            # Damp: halve a step until it does not raise the loss (at most 30 halvings).
            t = np.ones(len(w))
            for _ in range(30):
                trial = w + t[:, None] * step
                ok = expr.value(trial[:, 0], trial[:, 1]) <= f
                if ok.all():
                    break
                t = np.where(ok, t, t * 0.5)
            trial = w + t[:, None] * step
            better = expr.value(trial[:, 0], trial[:, 1]) <= f
            w = np.where((better & np.all(np.isfinite(trial), -1))[:, None], trial, w)
        f, gx, gy = expr.evaluate(w[:, 0], w[:, 1], 1)
        inside = ((w[:, 0] >= x0) & (w[:, 0] <= x1) & (w[:, 1] >= y0) & (w[:, 1] <= y1)
                  & np.isfinite(f))
        _, gxg, gyg = expr.evaluate(X[::4, ::4], Y[::4, ::4], 1)
        gnorm_grid = np.hypot(gxg, gyg)
        gscale = float(np.nanmedian(gnorm_grid[np.isfinite(gnorm_grid)])) if np.isfinite(gnorm_grid).any() else 1.0
        stationary = np.hypot(gx, gy) <= 1e-6 * max(gscale, 1.0)
        # Rising clearly in all 16 directions: a valley floor (x^2 has a line of minima) is no
        # isolated minimum.
        r = 5e-3 * span.min()
        angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        ring = w[:, None, :] + r * np.stack([np.cos(angles), np.sin(angles)], -1)[None]
        around = expr.value(ring[..., 0], ring[..., 1])
        rises = np.all(around - f[:, None] > 1e-10 * (1.0 + np.abs(f[:, None])), axis=1)
        keep = w[inside & stationary & rises]
        kept_f = f[inside & stationary & rises]
    out = []
    for point, value in sorted(zip(keep, kept_f), key=lambda item: item[1]):
        if all(np.linalg.norm(point - q) > 1e-3 * span.min() for q in out):
            out.append(point)
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def _check_bounds(bounds) -> Bounds:
    try:
        (x0, x1), (y0, y1) = bounds
        x0, x1, y0, y1 = (float(v) for v in (x0, x1, y0, y1))
    except (TypeError, ValueError):
        raise ExpressionError(f"Bounds must be ((x_min, x_max), (y_min, y_max)); got {bounds!r}") from None
    for lo, hi, axis in ((x0, x1, "x"), (y0, y1, "y")):
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ExpressionError(f"The {axis} range must be two finite numbers, smallest first; "
                                  f"got {lo:g} to {hi:g}")
        if hi - lo > 2 * MAX_CONSTANT:
            raise ExpressionError(f"The {axis} range is too wide (at most {2 * MAX_CONSTANT:g})")
    return (x0, x1), (y0, y1)


def _start(expr: Expr, bounds: Bounds) -> np.ndarray:
    """A corner-ish point (15% in from a corner, upper-left first) where the loss and its gradient
    are finite; else any finite point of a coarse grid; else the centre."""
    (x0, x1), (y0, y1) = bounds
    dx, dy = 0.15 * (x1 - x0), 0.15 * (y1 - y0)
    points = [(x0 + dx, y1 - dy), (x0 + dx, y0 + dy), (x1 - dx, y1 - dy), (x1 - dx, y0 + dy)]
    xs, ys = np.linspace(x0, x1, 21), np.linspace(y0, y1, 21)
    points += [(x, y) for y in ys for x in xs]
    pts = np.array(points)
    f, gx, gy = expr.evaluate(pts[:, 0], pts[:, 1], 1)
    ok = np.flatnonzero(np.isfinite(f) & np.isfinite(gx) & np.isfinite(gy))
    if ok.size:
        return pts[ok[0]].copy()
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2])


def _round_lr(lr: float) -> float:
    lr = min(max(lr, 1e-4), 1.0)
    exponent = math.floor(math.log10(lr))
    mantissa = lr / 10**exponent
    mantissa = min((1, 2, 5, 10), key=lambda m: abs(math.log(m / mantissa)))
    return float(f"{mantissa}e{exponent}")


def make_surface(text: str, bounds=DEFAULT_BOUNDS) -> Surface:
    """A classic-kind Surface for the typed function f(x, y), just like a registered one.

    Its loss, gradient, Hessian and grid are exact and vectorized over (..., 2); mini-batches use
    the analytic surfaces' f(w) + a_i·w copies. Minima are found numerically and may be empty
    (then minimum_loss is nan). Raises ExpressionError for refused text or bad bounds.
    """
    expr = parse(text)
    bounds = _check_bounds(bounds)

    def f(x, y):
        return expr.evaluate(x, y, 0)[0]

    def grad(x, y):
        return expr.evaluate(x, y, 1)[1:]

    def hess(x, y):
        return expr.evaluate(x, y, 2)[3:]

    minima = _local_minima(expr, bounds)
    start = _start(expr, bounds)
    (x0, x1), (y0, y1) = bounds
    xs, ys = np.linspace(x0, x1, 41), np.linspace(y0, y1, 41)
    X, Y = np.meshgrid(xs, ys, indexing="xy")
    Z, GX, GY = expr.evaluate(X, Y, 1)
    gnorm = np.hypot(GX, GY)
    finite_g = gnorm[np.isfinite(gnorm)]
    median_g = float(np.median(finite_g)) if finite_g.size else 1.0
    noise = 0.3 * median_g if median_g > 0 else 0.1

    span = min(x1 - x0, y1 - y0)
    lr = 0.05 * span / max(median_g, 1e-12)
    if len(minima):
        hxx, hxy, hyy = (float(v) for v in hess(minima[0, 0], minima[0, 1]))
        with np.errstate(all="ignore"):
            eig = np.linalg.eigvalsh(np.array([[hxx, hxy], [hxy, hyy]]))
        if np.all(np.isfinite(eig)) and eig[-1] > 0:
            lr = min(lr, 0.5 * 2.0 / eig[-1])
    default_lr = _round_lr(lr)

    finite = Z[np.isfinite(Z)]
    log_scale = False
    if finite.size:
        low = finite.min()
        spread_mid = np.median(finite) - low
        spread_top = np.percentile(finite, 99) - low
        log_scale = bool(spread_mid > 0 and spread_top / spread_mid > 30)

    count = len(minima)
    found = ("no isolated minimum was found inside the bounds" if count == 0 else
             f"{count} local minim{'um was' if count == 1 else 'a were'} found numerically")
    about = (f"You typed this function. Its gradient and Hessian come exactly from the formula "
             f"(abs, min and max use a subgradient: sign(·), and the chosen branch); {found}.")
    return analytic_surface(
        name=EXPRESSION_NAME, title=f"f(x, y) = {expr.text}", about=about, lesson="your own function",
        f=f, grad=grad, hess=hess, bounds=bounds, minima=minima, start=start,
        default_lr=default_lr, log_scale=log_scale, noise=noise,
        minimum_loss=None if count else float("nan"),
    )
