"""surfaces.expression: a typed f(x, y) is parsed safely, differentiated exactly and behaves like
any registered surface; hostile text is refused with a message and nothing runs."""

import ast
import builtins
import inspect
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import surfaces
from engine import collect, optimizers, train
from engine.sweep import basins, lr_sweep
from surfaces import expression
from surfaces.expression import ExpressionError, make_surface, parse

# --------------------------------------------------------------------------- exact derivatives


def test_typed_rosenbrock_is_the_registered_rosenbrock():
    ref = surfaces.get("rosenbrock")
    typed = make_surface("(1-x)^2 + 100*(y-x^2)^2", bounds=ref.bounds)
    w = np.random.default_rng(0).uniform(-2, 3, size=(500, 2))
    np.testing.assert_allclose(typed.loss(w), ref.loss(w), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(typed.grad(w), ref.grad(w), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(typed.hessian(w), ref.hessian(w), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(typed.minima, [[1.0, 1.0]], atol=1e-10)
    assert typed.minimum_loss == pytest.approx(0.0, abs=1e-20)
    assert typed.title == "f(x, y) = (1 - x)^2 + 100*(y - x^2)^2"
    assert typed.kind == "classic" and "typed" in typed.about


def test_typed_himmelblau_finds_its_four_minima():
    ref = surfaces.get("himmelblau")
    typed = make_surface("(x**2 + y - 11)**2 + (x + y**2 - 7)**2", bounds=ref.bounds)
    found = sorted(map(tuple, np.round(typed.minima, 6)))
    assert found == sorted(map(tuple, np.round(ref.minima, 6)))


def _central_grad(expr, x, y, h=1e-5):
    f = expr.value
    return np.array([(f(x + h, y) - f(x - h, y)) / (2 * h), (f(x, y + h) - f(x, y - h)) / (2 * h)])


def _leaf():
    return st.sampled_from(["x", "y", "w1", "w2", "pi", "e", "2", "0.5", "1.5e-1", "3"])


def _expression():
    return st.recursive(
        _leaf(),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]})/(2 + sin({t[1]}))"),
            st.tuples(st.sampled_from(["sin", "cos", "tanh", "sinh", "cosh", "-"]), inner)
              .map(lambda t: f"{t[0]}({t[1]})"),
            inner.map(lambda e: f"exp(({e})/4)"),
            inner.map(lambda e: f"log(1 + ({e})^2)"),
            inner.map(lambda e: f"sqrt(2 + ({e})^2)"),
            st.tuples(inner, st.sampled_from(["2", "3", "-1", "1/2", "4"])).map(
                lambda t: f"(2 + ({t[0]})^2)^{t[1]}"),
            st.tuples(inner, st.sampled_from(["^", "**"]), st.sampled_from(["2", "3"])).map(
                lambda t: f"({t[0]}){t[1]}{t[2]}"),
            st.tuples(st.sampled_from(["2", "1.5"]), inner).map(lambda t: f"{t[0]}^(({t[1]})/5)"),
        ),
        max_leaves=8)


def _typed(text):
    try:
        return parse(text)
    except ExpressionError as err:
        # A random tree may exceed the size limits, or have a constant part that overflows.
        assume(not any(reason in str(err) for reason in ("too big", "too deeply", "too long",
                                                          "not a finite number", "exponent")))
        raise


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_expression(), st.floats(-1.5, 1.5), st.floats(-1.5, 1.5))
def test_gradient_and_hessian_match_central_differences(text, x, y):
    expr = _typed(text)
    f, gx, gy, hxx, hxy, hyy = (float(v) for v in expr.evaluate(x, y, 2))
    assume(np.all(np.isfinite([f, gx, gy, hxx, hxy, hyy])) and abs(f) < 1e4)
    assume(max(abs(gx), abs(gy), abs(hxx), abs(hxy), abs(hyy)) < 1e5)
    numeric = _central_grad(expr, x, y)
    assume(np.all(np.isfinite(numeric)))
    scale = 1 + abs(f) + abs(gx) + abs(gy) + abs(hxx) + abs(hxy) + abs(hyy)
    assert abs(numeric[0] - gx) <= 1e-5 * scale and abs(numeric[1] - gy) <= 1e-5 * scale, text
    # The Hessian against central differences of the exact gradient.
    h = 1e-5
    gp, gm = expr.evaluate(x + h, y, 1), expr.evaluate(x - h, y, 1)
    assert abs((gp[1] - gm[1]) / (2 * h) - hxx) <= 1e-5 * scale, text
    assert abs((gp[2] - gm[2]) / (2 * h) - hxy) <= 1e-5 * scale, text
    gp, gm = expr.evaluate(x, y + h, 1), expr.evaluate(x, y - h, 1)
    assert abs((gp[2] - gm[2]) / (2 * h) - hyy) <= 1e-5 * scale, text


def test_every_function_and_operator_has_the_right_derivative():
    cases = ["sin(x)*cos(y)", "tan(x/2) + y", "exp(x - y)", "log(x^2 + y^2 + 1)", "sqrt(x^2 + 4*y^2 + 1)",
             "tanh(x*y)", "sinh(x) - cosh(y)", "x^-2 + y**0.5", "2^x * e^y", "x^y", "(x+2)/(y+3)",
             "x*y/(1+x^2)", "-x^3 + +y", "pi*x - e*y", "abs(x - 0.3) + abs(y)", "min(x, y)^2",
             "max(x^2, y) - min(sin(x), cos(y))"]
    points = [(0.7, 1.3), (1.1, 0.45), (1.6, 2.2)]  # away from every kink of abs, min and max
    for text in cases:
        expr = parse(text)
        for x, y in points:
            f, gx, gy = (float(v) for v in expr.evaluate(x, y, 1))
            numeric = _central_grad(expr, x, y, 1e-6)
            np.testing.assert_allclose([gx, gy], numeric, rtol=1e-6, atol=1e-6, err_msg=text)


def test_kinks_use_the_subgradient_convention():
    expr = parse("abs(x) + max(x, y) + min(y, x)")
    _, gx, gy = expr.evaluate(0.0, 0.0, 1)
    # sign(0) = 0 for abs; a tie picks the first argument: max → x, min → y.
    assert (float(gx), float(gy)) == (1.0, 1.0)


def test_vectorized_shapes_and_non_square_grid():
    s = make_surface("x^2 + 3*y", bounds=((-1, 2), (0, 5)))
    w = np.zeros((4, 3, 2))
    assert s.loss(w).shape == (4, 3) and s.grad(w).shape == (4, 3, 2)
    assert s.hessian(w).shape == (4, 3, 2, 2)
    xs, ys, Z = s.grid(30, 20)
    assert Z.shape == (20, 30)
    np.testing.assert_allclose(Z[4, 7], xs[7] ** 2 + 3 * ys[4])
    const = make_surface("7")
    assert const.loss(w).shape == (4, 3) and np.all(const.grad(w) == 0)
    assert const.grid(10)[2].shape == (10, 10) and len(const.minima) == 0


def test_gaps_where_the_function_is_undefined_without_warnings():
    s = make_surface("log(x) + sqrt(y)", bounds=((-2, 2), (-2, 2)))
    xs, ys, Z = s.grid(50)  # pytest's settings turn any RuntimeWarning into an error
    assert np.isnan(Z[:, xs < 0]).all() and np.isnan(Z[ys < 0, :]).all()
    assert np.isfinite(Z[np.ix_(ys > 0, xs > 0)]).all()
    assert np.all(np.isfinite(s.loss(s.start)))  # the start is put where the loss exists
    run = collect(train(s, optimizers.create("sgd", lr=5.0), epochs=200, start=(0.5, 0.5)))
    assert run.status == "diverged"  # walks off into the gap and stops cleanly


def test_overflowing_functions_give_inf_or_nan_not_errors():
    s = make_surface("exp(exp(exp(x))) + y^2")
    xs, ys, Z = s.grid(40)
    assert np.isinf(Z).any() and np.isfinite(Z).any()
    run = collect(train(s, optimizers.create("adam", lr=0.1), epochs=30))
    assert run.status in ("diverged", "finished", "converged")


def test_typed_surface_works_with_minibatches_sweeps_and_basins():
    s = make_surface("(x^2 + y - 11)^2 + (x + y^2 - 7)^2", bounds=((-5, 5), (-5, 5)))
    full = s.grad(np.array([1.0, 1.0]))
    batch_mean = np.mean([s.grad(np.array([1.0, 1.0]), [i]) for i in range(s.n_samples)], axis=0)
    np.testing.assert_allclose(batch_mean, full, atol=1e-9)  # unbiased mini-batches
    run = collect(train(s, optimizers.create("sgd", lr=s.default_lr), epochs=20, batch_size=4))
    assert np.isfinite(run.loss).all()
    sweep = lr_sweep(s, "adam", {}, [0.01, 0.1, 1.0], None, 100)
    assert sweep.final_loss.shape == (3,)
    b = basins(s, "sgd", {}, 0.01, grid_n=30, epochs=200)
    assert set(np.unique(b.label)) >= {0, 1, 2, 3}


def test_normalized_text_and_aliases():
    assert parse("w1^2 + w2**2").text == "x^2 + y^2"
    assert parse("x - (y - 1)").text == "x - (y - 1)"
    assert parse("(x - y) - 1").text == "x - y - 1"
    assert parse("x/(y*2)").text == "x/(y*2)"
    assert parse("-x^2").text == "-x^2"
    assert parse("(-x)^2").text == "(-x)^2"
    assert parse("2^3^(1/2)").text != ""  # constant towers fold to a number
    assert parse("x \u2212 2\u00d7y").text == "x - 2*y"  # typographic minus and times
    again = parse(parse("sin(x)^2 + min(x, -y)/(1 + e^x)").text)
    assert again.text == parse("sin(x)^2 + min(x, -y)/(1 + e^x)").text


def test_bounds_are_checked():
    with pytest.raises(ExpressionError, match="x range"):
        make_surface("x", bounds=((1, 1), (0, 1)))
    with pytest.raises(ExpressionError, match="Bounds"):
        make_surface("x", bounds="wide")


# --------------------------------------------------------------------------- refused text

HOSTILE = [
    ("__import__('os').system('touch {sentinel}')", "__import__ is not an allowed function", 1),
    ("().__class__.__bases__[0].__subclasses__()", "Double-underscore names such as __class__", 4),
    ("[x for x in ()]", "Comprehensions are not allowed", 1),
    ("(x for x in (1,))", "Comprehensions are not allowed", 1),
    ("lambda: 1", "lambda is not allowed", 1),
    ("x.real", "Attribute access (.) is not allowed", 1),
    ("sin(x).real", "Attribute access (.) is not allowed", 1),
    ("sin(x, y)", "sin takes 1 argument, got 2", 1),
    ("max(x)", "max takes 2 arguments, got 1", 1),
    ("sin(x=1)", "Keyword arguments are not allowed", 7),
    ("sin(*[x])", "* unpacking is not allowed", 5),
    ("9**9**9**9", "exponents must lie between -10 and 10", 7),
    ("x^1000000", "exponents must lie between -10 and 10", 3),
    ("x^y^x", "A power inside an exponent", 3),
    ("2^(x^(y+1))", "A power inside an exponent", 4),
    ("(" * 1000 + "x" + ")" * 1000, "too long: 2001 characters", None),
    ("x+" * 5000 + "x", "too long", None),
    ("open('{sentinel}', 'w')", "open is not an allowed function", 1),
    ("eval('1')", "eval is not an allowed function", 1),
    ("exec('import os')", "exec is not an allowed function", 1),
    ("compile('1', 'f', 'eval')", "compile is not an allowed function", 1),
    ("descent_lab_sentinel()", "descent_lab_sentinel is not an allowed function", 1),
    ("z + 1", "Unknown name 'z'; use x and y", 1),
    ("x + __builtins__", "Double-underscore names such as __builtins__", 5),
    ("x[0]", "Indexing with [ ] is not allowed", 1),
    ("'a' * 10**9", "Text in quotes is not allowed", 1),
    ("x if y else 1", "if … else is not allowed", 1),
    ("(a := 1)", "Assignment (:=) is not allowed", 2),
    ("x < y", "Comparisons", 1),
    ("x and y", "and / or", 1),
    ("x % 2", "The operator % is not allowed", 1),
    ("x // 2", "The operator // is not allowed", 1),
    ("~x", "The operator ~ is not allowed", 1),
    ("True + x", "True and False are not allowed", 1),
    ("1j * x", "Complex numbers are not allowed", 1),
    ("1e9 * x", "The number 1e+09 is too large", 1),
    ("x, y", "Tuples (a, b) are not allowed", 1),
    ("{x: 1}", "Unexpected character '{'", 1),
    ("x; import os", "Unexpected character ';'", 2),
    ("x # comment", "Unexpected character '#'", 3),
    ("x +", "ends too early", 3),
    ("(x", "'(' was never closed", 1),
    ("2x", "write multiplication with *", 1),
    ("2(x+1)", "Write multiplication with *", 1),
    ("x(2)", "x is not a function", 1),
    ("sin", "sin is a function: call it with parentheses", 1),
    ("log(-1) + x", "not a finite number", 1),
    ("1/0", "not a finite number", 1),
    ("sin(" * 25 + "x" + ")" * 25, "nested too deeply", None),
    ("-" * 30 + "x", "nested too deeply", None),
    ("+".join(["x"] * 60), "too big", None),
    ("", "Type a function", None),
    ("1if x else y", "Syntax error", None),
    ("x\u00b2", "Unexpected character '\u00b2'", 2),
    ("x\x00", "Unexpected character", 2),
    ("  x +* y", "Syntax error", 6),  # leading blanks are ignored; the caret still counts them
    ("\t(x", "'(' was never closed", 2),
    ("   ", "Type a function", None),
]


class Sentinels:
    """Around the code under test only: a file that must not appear, a function that must not
    be called, and eval/exec/compile that must not be used for anything but building a syntax
    tree (ast.parse calls compile with PyCF_ONLY_AST). Hypothesis itself uses exec, so the guard
    is raised only around the call being checked."""

    def __init__(self, directory: Path):
        self.path = str(directory / "pwned")
        self.calls = []

    def forbidden(self, name):
        def call(*args, **kwargs):
            self.calls.append(name)
            raise AssertionError(f"{name} was called")
        return call

    def __enter__(self):
        real_compile = self.saved_compile = builtins.compile
        self.saved = (builtins.eval, builtins.exec)

        def guarded_compile(source, filename, mode, flags=0, *args, **kwargs):
            if not flags & ast.PyCF_ONLY_AST:
                self.calls.append("compile")
            return real_compile(source, filename, mode, flags, *args, **kwargs)

        builtins.compile = guarded_compile
        builtins.eval, builtins.exec = self.forbidden("eval"), self.forbidden("exec")
        builtins.descent_lab_sentinel = self.forbidden("sentinel")
        return self

    def __exit__(self, *exc):
        builtins.compile = self.saved_compile
        builtins.eval, builtins.exec = self.saved
        del builtins.descent_lab_sentinel
        assert not Path(self.path).exists(), "a hostile string ran"
        assert self.calls == [], self.calls
        return False


@pytest.fixture
def sentinels(tmp_path):
    return Sentinels(tmp_path)


@pytest.mark.parametrize("text,message,column", HOSTILE)
def test_hostile_or_bad_text_is_refused_with_a_pointed_message(text, message, column, sentinels):
    text = text.replace("{sentinel}", sentinels.path)
    with pytest.raises(ExpressionError) as caught, sentinels:
        make_surface(text)
    err = caught.value
    assert message in str(err), str(err)
    assert isinstance(err, ValueError) and err.message
    if column is not None:
        assert err.column == column, (str(err), err.column)
        assert err.pointer().splitlines()[1].index("^") == column - 1


FRAGMENTS = ["x", "y", "1", "2.5", "e", "pi", "sin", "log", "max", "(", ")", ",", "+", "-", "*",
             "/", "^", "**", ".", "[", "]", "'", '"', ":", "=", " ", "_", "__import__", "__class__",
             "os", "system", "open", "eval", "lambda", "for", "in", "if", "else", "not", "import",
             "descent_lab_sentinel", "9", "e9", "1e-3", "{", "}", "@", "%", "~", "<", "&", "\\", "\n",
             "#", ";", "j", "True", "None", "...", "yield", "await", "f'", "{sentinel}"]


class Work:
    """Counts the evaluation work while in a `with` block: nodes evaluated (calls of
    expression._eval), Expr.evaluate calls, and the most points one call evaluated. Bounded work
    instead of wall-clock time, which fails on a busy machine; the speed figures are in
    benchmarks/bench_expression.py."""

    def __enter__(self):
        self.nodes = self.evaluations = self.largest = 0
        self.saved = real_eval, real_evaluate = expression._eval, expression.Expr.evaluate

        def counted_eval(node, x, y, order):
            self.nodes += 1
            return real_eval(node, x, y, order)

        def counted_evaluate(expr, x, y, order=0):
            self.evaluations += 1
            self.largest = max(self.largest, int(np.broadcast(np.asarray(x), np.asarray(y)).size))
            return real_evaluate(expr, x, y, order)

        expression._eval, expression.Expr.evaluate = counted_eval, counted_evaluate
        return self

    def __exit__(self, *exc):
        expression._eval, expression.Expr.evaluate = self.saved
        return False


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join),
                      st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2300),
                              max_size=60)))
def test_fuzz_only_expression_errors_and_nothing_runs(text, sentinels):
    text = text.replace("{sentinel}", sentinels.path)
    try:
        with sentinels:
            expr = parse(text)
    except ExpressionError as err:
        assert str(err)
    else:
        # The work is bounded by the limits: one evaluation visits each node once, and there are
        # at most MAX_NODES of them.
        assert expr.nodes <= expression.MAX_NODES
        with Work() as work:
            values = expr.evaluate(np.linspace(-3, 3, 7), np.linspace(3, -3, 7), 2)
        assert all(v.shape == (7,) for v in values)
        assert work.nodes == expr.nodes


WORST = [  # near every limit at once: 100 parts, nesting 20 deep, exponents of 10
    "exp(" * 9 + "x^10*y^-10" + ")" * 9 + "+sinh(cosh(tan(x^10)))^10",
    "+".join(["exp(x)^10*cosh(y)"] * 11),
    "(" + "+".join(["x^y/(y^x)"] * 10) + ")^10",
]


@pytest.mark.parametrize("text", WORST)
def test_worst_case_accepted_functions_do_bounded_work(text):
    assert len(text) <= expression.MAX_LENGTH
    expr = parse(text)
    assert expr.nodes <= expression.MAX_NODES
    with Work() as work:
        s = make_surface(text)
        built = work.evaluations
        s.grid(200)
        s.hessian(np.random.default_rng(0).uniform(-3, 3, (200, 200, 2)))
    # Building the surface: the grid of local minima (81x81), 40 damped Newton steps of at most
    # 30 halvings each, the start and the default-rate grid; then the page's 200x200 grid and a
    # Hessian on 200x200 points. Every evaluation is one vectorized pass over the tree.
    assert built <= 1 + 40 * (1 + 30 + 1) + 4 + 2
    assert work.evaluations - built <= 4
    assert work.largest <= 200 * 200
    # each evaluation visits each node once; parsing folds constant parts (at most MAX_NODES
    # folds of at most MAX_NODES nodes)
    assert work.nodes <= work.evaluations * expr.nodes + expression.MAX_NODES ** 2


def test_module_never_evaluates_text():
    source = Path(inspect.getfile(expression)).read_text()
    tree = ast.parse(source)
    called = {node.func.id for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "__import__", "getattr", "globals", "vars"}
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"sympy", "numexpr", "pandas", "os", "subprocess"}
