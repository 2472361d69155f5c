"""engine.optimizers: torch.optim's rules, step by step, worked out by hand from the documented rules."""
import math

import numpy as np
import pytest

from engine import optimizers

W0 = [1.0, -2.0]
# A fixed gradient sequence: large first, then small, so that AMSGrad's running max, the moments'
# decay and eps placement all change the numbers.
GRADS = [[3.0, -0.5], [0.2, 0.4], [-0.01, 0.05], [1.5, -0.002], [0.3, 0.3], [-2.0, 0.01], [0.05, -1.0]]


def run(opt, steps, w0=W0, grads=GRADS):
    """Parameters after each of the first `steps` updates, as a (steps, d) array."""
    w = np.array(w0, dtype=float)
    state = opt.init(w)
    out = []
    for g in grads[:steps]:
        w, state = opt.update(w, np.array(g, dtype=float), state)
        out.append(w)
    return np.array(out)


def by_hand(step_rule, steps, w0=W0, grads=GRADS):
    """Apply a scalar rule coordinate by coordinate: step_rule(p, g, t, memo) -> p, memo holds buffers."""
    out = np.zeros((steps, len(w0)))
    for i, p in enumerate(w0):
        memo = {}
        for t in range(1, steps + 1):
            p = step_rule(p, grads[t - 1][i], t, memo)
            out[t - 1, i] = p
    return out


# --------------------------------------------------------------------------- hand-worked rules
# Each reference is the rule from OPTIMIZER_RULES.md in plain scalar math, in its textbook form.


def sgd_rule(lr, momentum=0.0, dampening=0.0, wd=0.0, nesterov=False, maximize=False):
    # d = g + wd·p ; b = d on step 1, else μ·b + (1−τ)·d ; step along d + μ·b (Nesterov) or b
    def rule(p, g, t, memo):
        d = (-g if maximize else g) + wd * p
        if momentum:
            memo["b"] = d if t == 1 else momentum * memo["b"] + (1 - dampening) * d
            d = d + momentum * memo["b"] if nesterov else memo["b"]
        return p - lr * d
    return rule


def adagrad_rule(lr, lr_decay=0.0, wd=0.0, init_acc=0.0, eps=1e-10):
    # G_t = G_0 + Σ g² ; p −= lr/(1+(t−1)·decay) · g/(√G_t + eps)
    def rule(p, g, t, memo):
        g = g + wd * p
        memo["G"] = memo.get("G", init_acc) + g ** 2
        return p - lr / (1 + (t - 1) * lr_decay) * g / (math.sqrt(memo["G"]) + eps)
    return rule


def rmsprop_rule(lr, alpha=0.99, eps=1e-8, wd=0.0, momentum=0.0, centered=False):
    # E[g²] ← α·E[g²] + (1−α)·g² ; E[g] likewise ; s = √(E[g²] − E[g]²) or √E[g²], plus eps
    def rule(p, g, t, memo):
        g = g + wd * p
        sq = memo["sq"] = alpha * memo.get("sq", 0.0) + (1 - alpha) * g * g
        mean = memo["mean"] = alpha * memo.get("mean", 0.0) + (1 - alpha) * g
        s = math.sqrt(sq - mean ** 2 if centered else sq) + eps
        if momentum:
            memo["b"] = momentum * memo.get("b", 0.0) + g / s
            return p - lr * memo["b"]
        return p - lr * g / s
    return rule


def adadelta_rule(lr=1.0, rho=0.9, eps=1e-6, wd=0.0):
    # E[g²] ← ρE[g²] + (1−ρ)g² ; Δ = RMS[Δ]_{t−1}/RMS[g]_t · g ; E[Δ²] ← ρE[Δ²] + (1−ρ)Δ² ; p −= lr·Δ
    def rule(p, g, t, memo):
        g = g + wd * p
        memo["Eg"] = rho * memo.get("Eg", 0.0) + (1 - rho) * g * g
        step = math.sqrt(memo.get("Ed", 0.0) + eps) / math.sqrt(memo["Eg"] + eps) * g
        memo["Ed"] = rho * memo.get("Ed", 0.0) + (1 - rho) * step * step
        return p - lr * step
    return rule


def weight_decay(p, g, lr, wd, decoupled):
    # decoupled (AdamW style): p ← p(1 − lr·wd); otherwise L2: g ← g + wd·p
    return (p * (1 - lr * wd), g) if decoupled else (p, g + wd * p)


def adam_rule(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, amsgrad=False, decoupled=False):
    # Kingma & Ba with torch's eps: p −= lr · m̂ / (√v̂ + eps), m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ)
    # (AMSGrad: v̂ uses the running max of the raw v); decoupled: p ← p(1 − lr·wd) first
    def rule(p, g, t, memo):
        p, g = weight_decay(p, g, lr, wd, decoupled)
        m = memo["m"] = b1 * memo.get("m", 0.0) + (1 - b1) * g
        v = memo["v"] = b2 * memo.get("v", 0.0) + (1 - b2) * g * g
        memo["vmax"] = max(memo.get("vmax", 0.0), v)
        v_hat = (memo["vmax"] if amsgrad else v) / (1 - b2 ** t)
        return p - lr * (m / (1 - b1 ** t)) / (math.sqrt(v_hat) + eps)
    return rule


def nadam_rule(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, psi=4e-3, decoupled=False):
    # μ_t = β1(1 − ½·0.96^{tψ}) ; p −= lr·[(1−μ_t)/(1−Πμ_{1..t}) · g + μ_{t+1}/(1−Πμ_{1..t+1}) · m] / (√v̂ + eps)
    def mu(t):
        return b1 * (1 - 0.5 * 0.96 ** (t * psi))

    def rule(p, g, t, memo):
        p, g = weight_decay(p, g, lr, wd, decoupled)
        prod = math.prod(mu(k) for k in range(1, t + 1))
        m = memo["m"] = b1 * memo.get("m", 0.0) + (1 - b1) * g
        v = memo["v"] = b2 * memo.get("v", 0.0) + (1 - b2) * g * g
        s = math.sqrt(v / (1 - b2 ** t)) + eps
        return p - lr * ((1 - mu(t)) / (1 - prod) * g + mu(t + 1) / (1 - prod * mu(t + 1)) * m) / s
    return rule


def adamax_rule(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    # u = max(β2·u, |g| + eps) ; p −= lr/(1−β1ᵗ) · m / u
    def rule(p, g, t, memo):
        g = g + wd * p
        m = memo["m"] = b1 * memo.get("m", 0.0) + (1 - b1) * g
        u = memo["u"] = max(b2 * memo.get("u", 0.0), abs(g) + eps)
        return p - lr / (1 - b1 ** t) * m / u
    return rule


def radam_rule(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False):
    # ρ∞ = 2/(1−β2) − 1 ; ρ_t = ρ∞ − 2tβ2ᵗ/(1−β2ᵗ) ; if ρ_t > 5: p −= lr·m̂·r·√(1−β2ᵗ)/(√v + eps)
    # with r = √[(ρ_t−4)(ρ_t−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρ_t)] ; otherwise p −= lr·m̂
    def rule(p, g, t, memo):
        p, g = weight_decay(p, g, lr, wd, decoupled)
        m = memo["m"] = b1 * memo.get("m", 0.0) + (1 - b1) * g
        v = memo["v"] = b2 * memo.get("v", 0.0) + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        rho_inf = 2 / (1 - b2) - 1
        rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        memo.setdefault("rectified", []).append(rho > 5)
        if rho <= 5:
            return p - lr * m_hat
        r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        return p - lr * m_hat * r * math.sqrt(1 - b2 ** t) / (math.sqrt(v) + eps)
    return rule


HAND = [
    # (id, optimizer name, hyperparameters, rule, steps)
    ("sgd", "sgd", dict(lr=0.1), sgd_rule(0.1), 3),
    ("sgd-momentum", "sgd", dict(lr=0.1, momentum=0.9), sgd_rule(0.1, 0.9), 3),
    ("sgd-nesterov", "sgd", dict(lr=0.1, momentum=0.9, nesterov=True), sgd_rule(0.1, 0.9, nesterov=True), 3),
    ("sgd-dampening", "sgd", dict(lr=0.1, momentum=0.8, dampening=0.3), sgd_rule(0.1, 0.8, 0.3), 3),
    ("sgd-weight-decay", "sgd", dict(lr=0.1, momentum=0.5, weight_decay=0.2), sgd_rule(0.1, 0.5, wd=0.2), 3),
    ("sgd-maximize", "sgd", dict(lr=0.1, momentum=0.9, maximize=True), sgd_rule(0.1, 0.9, maximize=True), 3),
    ("adagrad", "adagrad", dict(lr=0.1, eps=0.05), adagrad_rule(0.1, eps=0.05), 3),
    ("adagrad-decay", "adagrad", dict(lr=0.1, lr_decay=0.5, weight_decay=0.1, initial_accumulator_value=0.2),
     adagrad_rule(0.1, 0.5, 0.1, 0.2), 3),
    ("rmsprop", "rmsprop", dict(lr=0.01, eps=0.01), rmsprop_rule(0.01, eps=0.01), 3),
    ("rmsprop-centered-momentum", "rmsprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1),
     rmsprop_rule(0.01, 0.9, wd=0.1, momentum=0.5, centered=True), 3),
    ("adadelta", "adadelta", dict(lr=1.0), adadelta_rule(), 3),
    ("adadelta-wd", "adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1), adadelta_rule(0.5, 0.8, 1e-4, 0.1), 3),
    ("adam", "adam", dict(lr=0.1, eps=0.01), adam_rule(0.1, eps=0.01), 3),
    ("adam-amsgrad", "adam", dict(lr=0.1, amsgrad=True), adam_rule(0.1, amsgrad=True), 4),
    ("adam-weight-decay", "adam", dict(lr=0.1, weight_decay=0.3), adam_rule(0.1, wd=0.3), 3),
    ("adam-decoupled", "adam", dict(lr=0.1, weight_decay=0.3, decoupled_weight_decay=True),
     adam_rule(0.1, wd=0.3, decoupled=True), 3),
    ("adamw", "adamw", dict(lr=0.1), adam_rule(0.1, wd=0.01, decoupled=True), 3),
    ("adamw-amsgrad", "adamw", dict(lr=0.1, betas=(0.8, 0.9), weight_decay=0.5, amsgrad=True),
     adam_rule(0.1, 0.8, 0.9, wd=0.5, amsgrad=True, decoupled=True), 4),
    ("nadam", "nadam", dict(lr=0.1, eps=0.01), nadam_rule(0.1, eps=0.01), 3),
    ("nadam-decoupled", "nadam", dict(lr=0.1, weight_decay=0.2, momentum_decay=0.05, decoupled_weight_decay=True),
     nadam_rule(0.1, wd=0.2, psi=0.05, decoupled=True), 3),
    ("nadam-weight-decay", "nadam", dict(lr=0.1, weight_decay=0.2), nadam_rule(0.1, wd=0.2), 3),
    ("adamax", "adamax", dict(lr=0.1, eps=0.02), adamax_rule(0.1, eps=0.02), 3),
    ("adamax-wd", "adamax", dict(lr=0.1, betas=(0.5, 0.6), weight_decay=0.1), adamax_rule(0.1, 0.5, 0.6, wd=0.1), 3),
    ("radam", "radam", dict(lr=0.1, eps=0.01), radam_rule(0.1, eps=0.01), 7),
    ("radam-decoupled", "radam", dict(lr=0.1, weight_decay=0.2, decoupled_weight_decay=True),
     radam_rule(0.1, wd=0.2, decoupled=True), 7),
    ("radam-weight-decay", "radam", dict(lr=0.1, weight_decay=0.2), radam_rule(0.1, wd=0.2), 7),
]


@pytest.mark.parametrize("name, hyper, rule, steps", [h[1:] for h in HAND], ids=[h[0] for h in HAND])
def test_first_steps_match_the_rule_worked_by_hand(name, hyper, rule, steps):
    got = run(optimizers.create(name, **hyper), steps)
    expected = by_hand(rule, steps)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_radam_switches_to_the_rectified_step_at_step_six():
    rho_inf = 2 / (1 - 0.999) - 1
    rho = [rho_inf - 2 * t * 0.999 ** t / (1 - 0.999 ** t) for t in range(1, 8)]
    assert [r > 5 for r in rho] == [False] * 5 + [True, True]
    # Steps 1-5 are plain momentum steps lr·m̂: ten times the gradients, ten times the moves.
    # From step 6 the step is adaptive, so the move hardly depends on the gradients' scale.
    opt = optimizers.create("radam", lr=0.1)
    small = run(opt, 7, w0=[0.0, 0.0])
    big = run(opt, 7, w0=[0.0, 0.0], grads=[[10 * x for x in g] for g in GRADS])
    np.testing.assert_allclose(big[:5], 10 * small[:5], rtol=1e-12)
    np.testing.assert_allclose(big[5] - big[4], small[5] - small[4], rtol=1e-5)
    assert not np.allclose(big[5] - big[4], 10 * (small[5] - small[4]), rtol=0.5)


def test_nadam_keeps_the_mu_product_as_a_float64():
    opt = optimizers.create("nadam")
    state = opt.init(np.zeros(2))
    for g in GRADS[:3]:
        _, state = opt.update(np.zeros(2), np.array(g), state)
    mus = [0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3)) for t in (1, 2, 3)]
    assert state.mu_product == pytest.approx(mus[0] * mus[1] * mus[2], rel=1e-15)


# --------------------------------------------------------------------------- names and defaults

TORCH_DEFAULTS = {
    "sgd": dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False),
    "adagrad": dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False),
    "rmsprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, maximize=False),
    "adadelta": dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False),
    "adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
                 decoupled_weight_decay=False),
    "adamw": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False),
    "nadam": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                  decoupled_weight_decay=False, maximize=False),
    "adamax": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False),
    "radam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                  maximize=False),
}


def test_names_in_order():
    assert optimizers.names() == ["sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam",
                                  "adamax", "radam", "rprop", "asgd", "adafactor", "muon", "lbfgs",
                                  "newton"]


@pytest.mark.parametrize("name", list(TORCH_DEFAULTS))
def test_defaults_are_torchs(name):
    assert optimizers.defaults(name) == TORCH_DEFAULTS[name]
    numbers = [v for v in optimizers.defaults(name).values() if not isinstance(v, (bool, tuple))]
    assert all(isinstance(v, float) for v in numbers)  # a widget seeded with 0 would only take ints
    opt = optimizers.create(name)
    assert opt.name == name
    assert opt.hyper == TORCH_DEFAULTS[name]
    assert opt.lr == TORCH_DEFAULTS[name]["lr"]


def test_hyper_holds_the_given_values_and_rebuilds_the_same_optimizer():
    opt = optimizers.create("adam", lr=0.05, betas=(0.8, 0.99), amsgrad=True)
    assert opt.lr == 0.05
    assert opt.hyper["betas"] == (0.8, 0.99) and opt.hyper["amsgrad"] is True and opt.hyper["eps"] == 1e-8
    again = optimizers.create(opt.name, **opt.hyper)
    np.testing.assert_array_equal(run(opt, 5), run(again, 5))


def test_unknown_optimizer_lists_the_names():
    with pytest.raises(ValueError, match=r"Unknown optimizer 'adamm'; choose one of: sgd, adagrad, .*radam"):
        optimizers.create("adamm")
    with pytest.raises(ValueError, match="adamm"):
        optimizers.defaults("adamm")


def test_unknown_hyperparameter_is_named_with_the_accepted_ones():
    with pytest.raises(ValueError, match=r"'momentum'.*accepted: lr, betas, eps"):
        optimizers.create("adam", momentum=0.9)
    with pytest.raises(ValueError, match="'decoupled_weight_decay'"):
        optimizers.create("adamw", decoupled_weight_decay=False)


BAD = [
    ("sgd", dict(lr=0.0), "Invalid learning rate: 0.0"),
    ("adam", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("adam", dict(lr=float("nan")), "Invalid learning rate: nan"),
    ("rmsprop", dict(lr=float("inf")), "Invalid learning rate: inf"),
    ("sgd", dict(momentum=-0.5), "momentum.*-0.5"),
    ("sgd", dict(momentum=float("inf")), "momentum.*inf"),
    ("sgd", dict(dampening=float("nan")), "dampening.*nan"),
    ("sgd", dict(weight_decay=-1e-3), "weight_decay.*-0.001"),
    ("sgd", dict(nesterov=True), "Nesterov.*momentum"),
    ("sgd", dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov.*dampening"),
    ("adagrad", dict(lr_decay=-0.1), "lr_decay.*-0.1"),
    ("adagrad", dict(initial_accumulator_value=-1.0), "initial_accumulator_value.*-1.0"),
    ("adagrad", dict(eps=-1e-10), "eps.*-1e-10"),
    ("rmsprop", dict(alpha=1.5), "alpha.*1.5"),
    ("rmsprop", dict(alpha=-0.1), "alpha.*-0.1"),
    ("rmsprop", dict(momentum=-0.9), "momentum.*-0.9"),
    ("adadelta", dict(rho=1.01), "rho.*1.01"),
    ("adadelta", dict(rho=float("nan")), "rho.*nan"),
    ("adam", dict(betas=(1.2, 0.999)), r"beta parameter at index 0: 1\.2"),
    ("adam", dict(betas=(0.9, 1.0)), r"beta parameter at index 1: 1\.0"),
    ("adamax", dict(betas=(-0.1, 0.9)), r"index 0: -0\.1"),
    ("radam", dict(betas=(0.9, float("nan"))), r"index 1: nan"),
    ("adam", dict(betas=(0.9,)), "betas"),
    ("adam", dict(eps=float("nan")), "eps.*nan"),
    ("adamw", dict(weight_decay=float("inf")), "weight_decay.*inf"),
    ("nadam", dict(momentum_decay=-4e-3), "momentum_decay.*-0.004"),
    ("nadam", dict(momentum_decay=float("inf")), "momentum_decay.*inf"),
    ("adam", dict(amsgrad="yes"), "amsgrad.*'yes'"),
    ("sgd", dict(maximize=1), "maximize"),
    ("adam", dict(lr="0.1"), "lr.*'0.1'"),
]


@pytest.mark.parametrize("name, hyper, message", BAD, ids=[f"{n}-{'-'.join(h)}" for n, h, _ in BAD])
def test_bad_hyperparameters_raise_naming_the_parameter(name, hyper, message):
    with pytest.raises(ValueError, match=message):
        optimizers.create(name, **hyper)


# --------------------------------------------------------------------------- behaviour

ALL = [(h[1], h[2]) for h in HAND]
ALL_IDS = [h[0] for h in HAND]


def test_accepted_boundaries_match_torch():
    # torch accepts these edge values; so do we (momentum 0 and alpha/rho 1 included).
    for name, hyper in [("rmsprop", dict(alpha=1.0)), ("rmsprop", dict(alpha=0.0)), ("adadelta", dict(rho=1.0)),
                        ("adam", dict(betas=(0.0, 0.0), eps=0.0)), ("sgd", dict(momentum=0.0))]:
        optimizers.create(name, **hyper)


@pytest.mark.parametrize("name, hyper", ALL, ids=ALL_IDS)
def test_k_runs_at_once_equal_the_runs_one_by_one(name, hyper):
    rng = np.random.default_rng(3)
    starts = rng.normal(size=(5, 3))
    curvature = np.array([1.0, 10.0, 0.1])
    opt = optimizers.create(name, **hyper)

    def trajectory(w):
        state = opt.init(w)
        for _ in range(12):
            w, state = opt.update(w, curvature * w, state)
        return w

    together = trajectory(starts)
    one_by_one = np.array([trajectory(w) for w in starts])
    assert together.shape == (5, 3)
    np.testing.assert_array_equal(together, one_by_one)


@pytest.mark.parametrize("name, hyper", ALL, ids=ALL_IDS)
def test_update_never_mutates_its_inputs(name, hyper):
    opt = optimizers.create(name, **hyper)
    w = np.array([[1.0, -2.0], [0.5, 0.25]])
    state = opt.init(w)
    for g in GRADS[:3]:
        grad = np.array([g, g[::-1]])
        snapshot = (w.copy(), grad.copy(), [np.copy(x) for x in state])
        new_w, new_state = opt.update(w, grad, state)
        np.testing.assert_array_equal(w, snapshot[0])
        np.testing.assert_array_equal(grad, snapshot[1])
        for before, after in zip(snapshot[2], state):
            np.testing.assert_array_equal(before, after)
        assert not np.shares_memory(new_w, w) and not np.shares_memory(new_w, grad)
        w, state = new_w, new_state


@pytest.mark.parametrize("name, hyper", [c for c in ALL if not c[1].get("maximize")],
                         ids=[i for i, c in zip(ALL_IDS, ALL) if not c[1].get("maximize")])
def test_maximize_is_minimizing_the_negated_gradient(name, hyper):
    up = optimizers.create(name, **hyper, maximize=True)
    down = optimizers.create(name, **hyper)
    negated = [[-x for x in g] for g in GRADS]
    np.testing.assert_array_equal(run(up, 7), run(down, 7, grads=negated))


# lr chosen as a user would for f(w) = ½(w₁² + 50·w₂²) (condition number 50), from (1, 1).
CONVERGE = [
    ("sgd", dict(lr=0.02), 500),
    ("sgd", dict(lr=0.01, momentum=0.9), 500),
    ("sgd", dict(lr=0.01, momentum=0.9, nesterov=True), 500),
    ("adagrad", dict(lr=0.5), 500),
    ("rmsprop", dict(lr=0.01), 500),
    ("rmsprop", dict(lr=0.005, centered=True, momentum=0.5), 500),
    ("adadelta", dict(lr=0.3), 1000),  # Adadelta later drifts into a slow growing wobble on the stiff axis
    ("adam", dict(lr=0.05), 500),
    ("adam", dict(lr=0.05, amsgrad=True), 500),
    ("adamw", dict(lr=0.05, weight_decay=0.01), 500),
    ("nadam", dict(lr=0.05), 500),
    ("adamax", dict(lr=0.05), 500),
    ("radam", dict(lr=0.02), 500),
]


@pytest.mark.parametrize("name, hyper, steps", CONVERGE, ids=[f"{n}-{h}" for n, h, _ in CONVERGE])
def test_converges_on_an_ill_conditioned_bowl(name, hyper, steps):
    curvature = np.array([1.0, 50.0])
    opt = optimizers.create(name, **hyper)
    w = np.array([1.0, 1.0])
    state = opt.init(w)
    losses = []
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # silently: no RuntimeWarning
        for _ in range(steps):
            w, state = opt.update(w, curvature * w, state)
            losses.append(0.5 * np.sum(curvature * w * w))
    start_loss = 25.5
    assert losses[-1] < 1e-4 * start_loss, (w, losses[-1])
    assert max(losses[-50:]) < 1e-3 * start_loss  # it stays down


@pytest.mark.parametrize("name", [n for n in optimizers.names() if optimizers.create(n).step is None])
def test_zero_gradients_are_quiet_and_harmless(name):
    opt = optimizers.create(name)
    start = np.array([0.3, -0.7])
    w, state = start, opt.init(start)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for _ in range(10):
            w, state = opt.update(w, np.zeros(2), state)
    if name == "adamw":  # decoupled weight decay still shrinks the weights
        np.testing.assert_allclose(w, start * (1 - 1e-3 * 1e-2) ** 10, rtol=1e-14)
    elif name == "muon":  # so does Muon's (weight_decay=0.1 by default)
        np.testing.assert_allclose(w, start * (1 - 1e-3 * 0.1) ** 10, rtol=1e-14)
    elif name == "asgd":  # and ASGD's lambd decay term, p·(1 − lambd·eta)
        assert np.all(np.abs(w) < np.abs(start)) and np.allclose(w, start, rtol=1e-5)
    else:
        np.testing.assert_array_equal(w, start)


@pytest.mark.parametrize("name, hyper", ALL, ids=ALL_IDS)
def test_lr_override_acts_like_a_scheduler_setting_the_group_lr(name, hyper):
    # Same as building the optimizer with that lr, step by step (torch's group['lr'] = new value).
    configured = optimizers.create(name, **{**hyper, "lr": 0.03})
    overridden = optimizers.create(name, **hyper)
    w1 = w2 = np.array(W0)
    s1, s2 = configured.init(w1), overridden.init(w2)
    for g in GRADS[:4]:
        w1, s1 = configured.update(w1, np.array(g), s1)
        w2, s2 = overridden.update(w2, np.array(g), s2, lr=0.03)
    np.testing.assert_array_equal(w1, w2)


def test_lr_override_of_zero_freezes_the_weights_but_advances_the_state():
    opt = optimizers.create("adamw", lr=0.1)
    w = np.array(W0)
    state = opt.init(w)
    new_w, new_state = opt.update(w, np.array(GRADS[0]), state, lr=0.0)
    np.testing.assert_array_equal(new_w, w)
    assert new_state.count == 1 and np.any(new_state.mu != 0)


@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf")])
def test_bad_lr_override_raises(lr):
    opt = optimizers.create("sgd", lr=0.1)
    w = np.array(W0)
    with pytest.raises(ValueError, match="learning rate"):
        opt.update(w, w, opt.init(w), lr=lr)


def test_sgd_momentum_buffer_starts_as_a_copy_of_the_first_gradient():
    opt = optimizers.create("sgd", lr=0.1, momentum=0.9, dampening=0.5)
    w = np.array(W0)
    grad = np.array(GRADS[0])
    _, state = opt.update(w, grad, opt.init(w))
    np.testing.assert_array_equal(state.momentum_buffer, grad)  # no dampening on the first step
    assert not np.shares_memory(state.momentum_buffer, grad)
