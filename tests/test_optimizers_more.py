"""Rprop, ASGD, Adafactor, Muon, LBFGS and Newton: hand-worked steps from the documented rules,
torch 2.13 step for step on Rosenbrock, Beale and Himmelblau, and torch's validation."""

import math
import os

import numpy as np
import pytest

import surfaces
from engine import collect, optimizers, train
from engine.rounding import fma, newton_schulz_row, round_bf16

try:
    import torch
except ImportError:  # the [torch] extra is not installed
    torch = None

IN_CI = os.environ.get("CI", "").lower() == "true"
needs_torch = pytest.mark.skipif(torch is None and not IN_CI,
                                 reason="torch is not installed (pip install -e .[torch])")

SURFACES = ["rosenbrock", "beale", "himmelblau"]

TORCH_SETS = {
    "rprop": [dict(lr=0.01), dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-4, 0.5)),
              dict(lr=0.002, etas=(0.7, 1.1), step_sizes=(1e-6, 50.0), maximize=False)],
    "asgd": [dict(lr=1e-3), dict(lr=5e-4, lambd=1e-2, alpha=0.5, t0=5.0, weight_decay=0.01),
             dict(lr=2e-3, lambd=0.1, alpha=1.0, t0=0.0)],
    "adafactor": [dict(lr=0.01), dict(lr=0.05, beta2_decay=-0.5, eps=(1e-6, 1e-2), d=2.0,
                                      weight_decay=0.01),
                  dict(lr=0.2, beta2_decay=-1.0, eps=(None, 1e-3), d=1.0)],
    "muon": [dict(lr=0.01), dict(lr=0.02, momentum=0.8, nesterov=False, weight_decay=0.0,
                                 adjust_lr_fn="match_rms_adamw"),
             dict(lr=0.005, momentum=0.3, ns_coefficients=(2.0, -1.5, 0.5), ns_steps=3,
                  adjust_lr_fn="original", eps=1e-5)],
    "lbfgs": [dict(), dict(line_search_fn="strong_wolfe"),
              dict(lr=0.5, max_iter=5, history_size=3),
              dict(lr=0.8, max_iter=7, max_eval=9, history_size=2, line_search_fn="strong_wolfe",
                   tolerance_change=1e-12, tolerance_grad=1e-9)],
}
TORCH_CASES = [(name, i) for name, sets in TORCH_SETS.items() for i in range(len(sets))]


# --------------------------------------------------------------------------- torch, run here

def torch_run(name, hyper, surface, epochs):
    """torch.optim's trajectory on the surface's own loss and exact gradient (so the optimizer
    rule is the only thing compared), full batch, one step(closure) per epoch; with the number
    of closure calls so far at each epoch."""
    torch.set_default_dtype(torch.float64)
    cls = {"rprop": torch.optim.Rprop, "asgd": torch.optim.ASGD, "adafactor": torch.optim.Adafactor,
           "muon": torch.optim.Muon, "lbfgs": torch.optim.LBFGS}[name]
    start = np.asarray(surface.start, dtype=np.float64)
    w = torch.tensor(start.reshape(1, 2) if name == "muon" else start, requires_grad=True)
    opt = cls([w], **hyper)
    calls = [0]

    def closure():
        calls[0] += 1
        point = w.detach().numpy().reshape(2)
        w.grad = torch.tensor(surface.grad(point).reshape(w.shape))
        return torch.tensor(float(surface.loss(point)))

    path, evals, averaged = [start.copy()], [0], [start.copy()]
    with np.errstate(all="ignore"):
        for _ in range(epochs):
            if name == "lbfgs":
                opt.step(closure)
            else:
                closure()
                opt.step()
            path.append(w.detach().numpy().reshape(2).copy())
            evals.append(calls[0])
            if name == "asgd":
                averaged.append(opt.state[w]["ax"].numpy().copy())
            if not np.all(np.isfinite(path[-1])):
                break
    return np.array(path), np.array(evals), np.array(averaged)


def engine_run(name, hyper, surface, epochs):
    return list(train(surface, optimizers.create(name, **hyper), epochs=epochs))


@needs_torch
@pytest.mark.parametrize("surface_name", SURFACES)
@pytest.mark.parametrize("name, which", TORCH_CASES, ids=[f"{n}-{i}" for n, i in TORCH_CASES])
def test_matches_torch_step_for_step(name, which, surface_name):
    hyper = TORCH_SETS[name][which]
    surface = surfaces.get(surface_name)
    epochs = 12 if name == "lbfgs" else 60
    expected, evals, averaged = torch_run(name, hyper, surface, epochs)
    records = engine_run(name, hyper, surface, epochs)
    ours = np.array([r.params for r in records])
    n = len(ours)  # the engine stops a converged or diverged run; torch's rows beyond are not compared
    assert n >= 2
    tol = 1e-10 if name == "lbfgs" else 1e-12
    np.testing.assert_allclose(ours, expected[:n], rtol=0, atol=tol * max(1.0, np.abs(expected[:n]).max()))
    if name == "lbfgs":
        assert [r.evals for r in records] == evals[:n].tolist()
    if name == "asgd":
        np.testing.assert_allclose(np.array([r.averaged for r in records]), averaged[:n], rtol=0, atol=tol)


@needs_torch
def test_lbfgs_probes_are_the_points_torch_evaluated():
    surface = surfaces.get("rosenbrock")
    torch.set_default_dtype(torch.float64)
    w = torch.tensor(np.asarray(surface.start, dtype=np.float64), requires_grad=True)
    opt = torch.optim.LBFGS([w], line_search_fn="strong_wolfe")
    seen = []

    def closure():
        point = w.detach().numpy().copy()
        seen.append(point)
        w.grad = torch.tensor(surface.grad(point))
        return torch.tensor(float(surface.loss(point)))

    opt.step(closure)
    first = engine_run("lbfgs", dict(line_search_fn="strong_wolfe"), surface, 1)[1]
    np.testing.assert_array_equal(first.probes, np.array(seen))
    np.testing.assert_array_equal(first.probe_loss, surface.loss(np.array(seen)))
    assert first.evals == len(seen) > 2


@needs_torch
def test_newton_schulz_is_torchs_bfloat16_bit_for_bit():
    from torch.optim._muon import _zeropower_via_newtonschulz
    rng = np.random.default_rng(7)
    u = rng.standard_normal((3000, 2)) * 10.0 ** rng.uniform(-6, 4, (3000, 1))
    for coefficients, steps, eps in [((3.4445, -4.775, 2.0315), 5, 1e-7), ((2.0, -1.5, 0.5), 3, 1e-5)]:
        ours = newton_schulz_row(u, coefficients, steps, eps)
        theirs = np.stack([_zeropower_via_newtonschulz(torch.tensor(row[None, :]), coefficients, steps, eps)
                           .double().numpy()[0] for row in u])
        np.testing.assert_array_equal(ours, theirs)


@needs_torch
@pytest.mark.parametrize("name, hyper, message", [
    ("rprop", dict(etas=(0.5, 0.9)), "Invalid eta values: 0.5, 0.9"),
    ("rprop", dict(etas=(1.5, 2.0)), "Invalid eta values: 1.5, 2.0"),
    ("asgd", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    ("adafactor", dict(beta2_decay=0.5), "beta2_decay should be <= 0 but is: 0.5"),
    ("adafactor", dict(eps=(-1.0, 1e-3)), "epsilon1 should be >= 0 but is: -1.0"),
    ("adafactor", dict(eps=(None, -2.0)), "epsilon2 should be >= 0 but is: -2.0"),
    ("adafactor", dict(d=0.5), "Clipping threshold d should be >= 1 but is: 0.5"),
    ("adafactor", dict(weight_decay=-0.1), "weight_decay should be >= 0 but is: -0.1"),
    ("muon", dict(momentum=-0.5), "momentum should be >= 0 but is: -0.5"),
    ("muon", dict(weight_decay=-0.5), "weight decay should be >= 0 but is: -0.5"),
    ("muon", dict(adjust_lr_fn="fast"), "Adjust learning rate function fast is not supported"),
    ("lbfgs", dict(lr=-1.0), "Invalid learning rate: -1.0"),
])
def test_validation_errors_are_named_like_torchs(name, hyper, message):
    cls = {"rprop": torch.optim.Rprop, "asgd": torch.optim.ASGD, "adafactor": torch.optim.Adafactor,
           "muon": torch.optim.Muon, "lbfgs": torch.optim.LBFGS}[name]
    with pytest.raises(ValueError) as theirs:
        cls([torch.zeros((1, 2), requires_grad=True)], **hyper)
    assert str(theirs.value) == message
    with pytest.raises(ValueError) as ours:
        optimizers.create(name, **hyper)
    assert str(ours.value) == message


@pytest.mark.parametrize("name, hyper, match", [
    ("muon", dict(ns_steps=100), "Number of steps must be less than 100"),
    ("muon", dict(ns_coefficients=(1.0, 2.0)), "Coefficients must be a tuple of exactly 3 values"),
    ("lbfgs", dict(line_search_fn="armijo"), "only 'strong_wolfe' is supported"),
    ("lbfgs", dict(max_iter=0), "Invalid max_iter value: 0"),
    ("lbfgs", dict(history_size=2.5), "Invalid history_size value: 2.5"),
    ("rprop", dict(step_sizes=(1e-6,)), "Invalid step_sizes value"),
    ("asgd", dict(lr=0.0), "Invalid learning rate: 0.0"),
    ("newton", dict(damping=-1.0), "Invalid damping value: -1.0"),
    ("newton", dict(lr=float("nan")), "Invalid learning rate: nan"),
])
def test_bad_values_are_refused_by_name(name, hyper, match):
    with pytest.raises(ValueError, match=match):
        optimizers.create(name, **hyper)


def test_defaults_are_torchs():
    assert optimizers.defaults("rprop") == dict(lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0), maximize=False)
    assert optimizers.defaults("asgd") == dict(lr=0.01, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0,
                                               maximize=False)
    assert optimizers.defaults("adafactor") == dict(lr=0.01, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                                                    weight_decay=0.0, maximize=False)
    assert optimizers.defaults("muon") == dict(lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                                               ns_coefficients=(3.4445, -4.775, 2.0315), eps=1e-7,
                                               ns_steps=5, adjust_lr_fn=None)
    assert optimizers.defaults("lbfgs") == dict(lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                                                tolerance_change=1e-9, history_size=100, line_search_fn=None)
    assert optimizers.create("lbfgs", max_iter=8).hyper["max_eval"] == 10  # torch: max_iter * 5 // 4
    assert "newton" in optimizers.NOT_TORCH and "newton" in optimizers.names()


# --------------------------------------------------------------------------- hand-worked steps

def steps(opt, w, grads):
    state, out = opt.init(np.asarray(w, dtype=np.float64)), []
    w = np.asarray(w, dtype=np.float64)
    for g in grads:
        w, state = opt.update(w, np.asarray(g, dtype=np.float64), state)
        out.append(w)
    return out, state


def test_rprop_by_hand_sign_rule_and_clamp():
    # Step sizes start at lr; a kept sign grows the size by 1.2, a flip shrinks it by 0.5 and the
    # weight rests that step (prev becomes 0, so the step after counts as no sign: factor 1).
    out, state = steps(optimizers.create("rprop", lr=0.1), [0.0, 0.0], [(1, -1), (-1, -1), (-1, 1)])
    np.testing.assert_allclose(out[0], [-0.1, 0.1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(out[1], [-0.1, 0.1 + 0.12], rtol=0, atol=1e-15)  # x rests (flip)
    np.testing.assert_allclose(out[2], [-0.1 + 0.05, 0.22], rtol=0, atol=1e-15)  # y rests (flip)
    np.testing.assert_allclose(state.step_size, [0.05, 0.06], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(state.prev, [-1.0, 0.0])
    out, state = steps(optimizers.create("rprop", lr=0.1, step_sizes=(0.07, 0.11)), [0.0, 0.0],
                       [(1, -1), (-1, -1)])
    np.testing.assert_allclose(state.step_size, [0.07, 0.11], rtol=0, atol=1e-15)


def test_asgd_by_hand_decay_step_and_average():
    # f = |w|²/2 so g = w; lambd = 0.5, alpha = 1, t0 = 0: mu = 1 after step 1, 1/2 after step 2.
    lr, lambd = 0.1, 0.5
    w0 = np.array([1.0, 2.0])
    out, state = steps(optimizers.create("asgd", lr=lr, lambd=lambd, alpha=1.0, t0=0.0), w0, [w0])
    p1 = w0 * (1 - lambd * lr) - lr * w0
    np.testing.assert_allclose(out[0], p1, rtol=1e-15)
    opt = optimizers.create("asgd", lr=lr, lambd=lambd, alpha=1.0, t0=0.0)
    w, state = w0, opt.init(w0)
    ps = []
    for _ in range(3):
        w, state = opt.update(w, w.copy(), state)
        ps.append(w)
    eta2 = lr / (1 + lambd * lr * 1)
    eta3 = lr / (1 + lambd * lr * 2)
    np.testing.assert_allclose(ps[1], ps[0] * (1 - lambd * eta2) - eta2 * ps[0], rtol=1e-15)
    np.testing.assert_allclose(ps[2], ps[1] * (1 - lambd * eta3) - eta3 * ps[1], rtol=1e-15)
    np.testing.assert_allclose(state.ax, ps[1] + 0.5 * (ps[2] - ps[1]), rtol=1e-15)  # the mean
    assert state.mu == 1 / 3 and state.count == 3


def test_adafactor_by_hand_relative_step():
    # Step 1: beta = 1 so v = g², u = g/|g| = (1, 1), RMS(u) = 1, no clipping; the step is
    # rho·max(eps2, RMS(p)) = 0.01·5/√2 along -u.
    out, state = steps(optimizers.create("adafactor"), [3.0, 4.0], [(1.0, 2.0), (1.0, 2.0)])
    step1 = 0.01 * 5 / math.sqrt(2)
    np.testing.assert_allclose(out[0], [3 - step1, 4 - step1], rtol=1e-15)
    step2 = 0.01 * np.linalg.norm(out[0]) / math.sqrt(2)
    np.testing.assert_allclose(out[1], out[0] - step2, rtol=1e-15)
    np.testing.assert_allclose(state.variance, [1.0, 4.0], rtol=1e-15)
    # Clipping: v ≫ g² makes RMS(u) small (no clip), v ≪ g² makes it large (clipped to d).
    out, _ = steps(optimizers.create("adafactor", d=1.0, eps=(None, 0.5)), [0.0, 0.0], [(1.0, 0.0)])
    np.testing.assert_allclose(out[0], [-0.01 * 0.5 / 1.0 * math.sqrt(2) / math.sqrt(2), 0.0], rtol=1e-15)


def test_bfloat16_rounding_by_hand():
    assert round_bf16(1 + 2 ** -8) == 1.0  # a tie goes to the even neighbour
    assert round_bf16(1 + 3 * 2 ** -8) == 1 + 2 ** -6  # a tie, rounded up to the even one
    assert round_bf16(1 + 2 ** -8 + 2 ** -20) == 1 + 2 ** -7  # above the tie
    assert round_bf16(0.1) == 0.10009765625
    assert np.isnan(round_bf16(np.nan)) and round_bf16(np.float32(3.4e38)) == np.inf
    assert fma(0.1, 10.0, -1.0) == 5.551115123125783e-17  # the product's rounding error survives


def test_muon_on_two_weights_is_a_normalized_momentum_step():
    # On a 1×2 matrix Newton–Schulz maps u to u/|u| times s, where s follows the scalar
    # iteration s ← a·s + b·s³ + c·s⁵ from 1: bfloat16 keeps about 3 digits of it.
    a, b, c = 3.4445, -4.775, 2.0315
    s = 1.0
    for _ in range(5):
        s = a * s + b * s ** 3 + c * s ** 5
    for u in ([3.0, 4.0], [1e-4, -2e-4], [50.0, 0.0]):
        u = np.array(u)
        out = newton_schulz_row(u, (a, b, c), 5, 1e-7)
        np.testing.assert_allclose(out, u / np.linalg.norm(u) * s, rtol=2e-2)
    assert 0.6 < s < 0.8
    # lr' = lr·sqrt(max(1, 1/2)) = lr on a 1×2 matrix; weight decay first.
    opt = optimizers.create("muon", lr=0.1, weight_decay=0.0, nesterov=False, momentum=0.0)
    w, state = opt.update(np.array([1.0, 1.0]), np.array([3.0, 4.0]), opt.init(np.zeros(2)))
    np.testing.assert_array_equal(w, 1.0 - 0.1 * newton_schulz_row(np.array([3.0, 4.0]), (a, b, c), 5, 1e-7))


def test_lbfgs_by_hand_on_a_quadratic():
    # f = (x² + 10y²)/2 from (1, 1), no line search, two iterations in one step: the first is a
    # gradient step of length 1/|g|₁ = 1/11, the second uses one (s, y) pair through the
    # two-loop recursion and is not evaluated (it is the last iteration). max_eval would be
    # 2·5//4 = 2 and stop after the first iteration's evaluation, so it is raised to 3.
    from fractions import Fraction as F
    A = np.array([1.0, 10.0])

    def objective(w):
        return 0.5 * float(np.sum(A * w * w)), A * w

    opt = optimizers.create("lbfgs", max_iter=2, max_eval=3)
    calls = []

    def counted(w):
        calls.append(np.array(w))
        return objective(w)

    w, state = opt.step(np.array([1.0, 1.0]), counted, opt.init(np.zeros(2)))
    g0 = [F(1), F(10)]
    t = F(1, 11)
    p1 = [F(1) - t * g0[0], F(1) - t * g0[1]]
    g1 = [p1[0], 10 * p1[1]]
    s = [-t * g0[0], -t * g0[1]]
    y = [g1[0] - g0[0], g1[1] - g0[1]]
    ys, yy = y[0] * s[0] + y[1] * s[1], y[0] ** 2 + y[1] ** 2
    ro, h = 1 / ys, ys / yy
    q = [-g1[0], -g1[1]]
    al = (s[0] * q[0] + s[1] * q[1]) * ro
    q = [q[0] - al * y[0], q[1] - al * y[1]]
    r = [q[0] * h, q[1] * h]
    be = (y[0] * r[0] + y[1] * r[1]) * ro
    d = [r[0] + (al - be) * s[0], r[1] + (al - be) * s[1]]
    expected = [float(p1[0] + d[0]), float(p1[1] + d[1])]
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-15)
    assert len(calls) == 2 and state.func_evals == 2 and state.n_iter == 2 and len(state.old_dirs) == 1
    with pytest.raises(ValueError, match="needs the loss"):
        opt.update(np.zeros(2), np.zeros(2), state)


def test_lbfgs_strong_wolfe_step_satisfies_the_wolfe_conditions():
    surface = surfaces.get("rosenbrock")
    opt = optimizers.create("lbfgs", max_iter=1, max_eval=25, line_search_fn="strong_wolfe")
    w0 = np.asarray(surface.start, dtype=np.float64)
    w, state = opt.step(w0, lambda p: (float(surface.loss(p)), surface.grad(p)), opt.init(w0))
    g0, d, t = surface.grad(w0), state.d, state.t
    assert float(surface.loss(w)) <= float(surface.loss(w0)) + 1e-4 * t * g0 @ d  # sufficient decrease
    assert abs(surface.grad(w) @ d) <= 0.9 * abs(g0 @ d)  # curvature


def test_newton_one_step_to_the_bottom_of_a_bowl_and_to_a_saddle():
    for name in ("bowl", "saddle"):
        surface = surfaces.get(name)
        run = collect(train(surface, optimizers.create("newton"), epochs=3))
        # the stationary point of a quadratic: the bowl's minimum, the saddle (0, 0)
        target = surface.minima[0] if name == "bowl" else np.zeros(2)
        np.testing.assert_allclose(run.params[1], target, rtol=0, atol=1e-12)
    damped = collect(train(surfaces.get("saddle"), optimizers.create("newton", damping=4.0), epochs=30))
    assert abs(damped.params[-1, 1]) > 1.0  # damping above -λ_min = 2 turns it downhill, away


# --------------------------------------------------------------------------- runs in batches

@pytest.mark.parametrize("name, hyper", [
    ("rprop", dict(lr=0.02)), ("asgd", dict(lr=1e-3, t0=3.0)), ("adafactor", dict(lr=0.05)),
    ("muon", dict(lr=0.02)), ("lbfgs", dict(max_iter=4)), ("lbfgs", dict(line_search_fn="strong_wolfe")),
    ("newton", dict(damping=0.5)),
])
def test_a_batch_of_runs_is_bit_identical_to_single_runs(name, hyper):
    from engine.sweep import lr_trajectories
    surface = surfaces.get("himmelblau")
    lrs = np.array([0.5, 1.0, 2.0]) * hyper.get("lr", 1.0 if name in ("lbfgs", "newton") else 0.01)
    rest = {k: v for k, v in hyper.items() if k != "lr"}
    batch = lr_trajectories(surface, name, rest, lrs, epochs=15)
    for i, lr in enumerate(lrs):
        single = collect(train(surface, optimizers.create(name, lr=lr, **rest), epochs=15))
        n = len(single.params)
        np.testing.assert_array_equal(batch.params[i, :n], single.params)


def test_train_counts_gradient_evaluations():
    surface = surfaces.get("beale")
    adam = collect(train(surface, optimizers.create("adam", lr=0.01), epochs=5, batch_size=8))
    assert adam.evals.tolist() == [0, 4, 8, 12, 16, 20]  # one per step: 32 samples / 8
    records = list(train(surface, optimizers.create("lbfgs"), epochs=3))
    for r in records[1:]:
        assert r.probes.shape == (r.evals - records[r.epoch - 1].evals, 2)
    assert records[1].evals > 1


# --------------------------------------------------------------------------- the five steps

@pytest.mark.parametrize("preset", ["rprop", "asgd", "adafactor", "muon", "lbfgs_wolfe", "newton"])
def test_the_five_steps_show_what_makes_each_family_different(preset):
    from engine.rounding import newton_schulz_row
    from engine.train import Step, trace
    from lab import anatomy
    from lab.config import PRESETS, preset_hyper, to_torch_hyper

    surface = surfaces.get("saddle" if preset == "newton" else "rosenbrock")
    hyper = preset_hyper(preset)
    lr = 1.0 if preset in ("lbfgs_wolfe", "newton") else 0.01
    opt = optimizers.create(PRESETS[preset].optimizer, lr=lr, **to_torch_hyper(hyper))
    step = [r for r in trace(surface, opt, epochs=3) if isinstance(r, Step)][-1]
    sections = anatomy.anatomy_sections(surface, step, anatomy.rule_for(preset, hyper), None, hyper=hyper)
    notes = " ".join(sections[-2].notes)
    after = step.state_after
    if preset == "rprop":
        assert "Sign rule" in notes and f"{after.step_size[0]:.4g}" in notes
    elif preset == "asgd":
        assert f"a_x = {after.ax[0]:.4g}" in notes
    elif preset == "adafactor":
        assert f"v = {after.variance[0]:.4g}" in notes and "unfactored" in notes
    elif preset == "muon":
        buf = after.momentum_buffer
        u = step.clipped + 0.95 * (buf - step.clipped)
        length = np.linalg.norm(newton_schulz_row(u, (3.4445, -4.775, 2.0315), 5, 1e-7))
        assert f"‖O‖ = {length:.4g}" in notes and 0.5 < length < 0.9
    elif preset == "lbfgs_wolfe":
        evals = after.func_evals - step.state_before.func_evals
        assert f"evaluated the loss and gradient {evals} time(s)" in notes and f"t = {float(after.t):.4g}" in notes
    else:
        assert "a saddle (one negative)" in notes


# --------------------------------------------------------------------------- everywhere the others are

def test_presets_and_link_keys_round_trip_with_tuples_words_and_whole_numbers():
    from lab.config import PRESETS, RunChoice, preset_hyper, to_torch_hyper
    from lab.link import from_query, to_query

    for key in ("rprop", "asgd", "adafactor", "muon", "lbfgs", "lbfgs_wolfe", "newton"):
        torch_hyper = to_torch_hyper(preset_hyper(key))
        optimizers.create(PRESETS[key].optimizer, **torch_hyper)  # the page's values build it
    assert to_torch_hyper(preset_hyper("rprop"))["etas"] == (0.5, 1.2)
    assert to_torch_hyper(preset_hyper("adafactor"))["eps"] == (None, 1e-3)
    assert to_torch_hyper(preset_hyper("muon"))["ns_coefficients"] == (3.4445, -4.775, 2.0315)
    assert to_torch_hyper(preset_hyper("lbfgs"))["line_search_fn"] is None
    assert preset_hyper("lbfgs")["max_eval"] == 25  # torch's None written out: 20·5//4
    query = {"opt": "lbfgs_wolfe,muon,rprop", "lbfgs_wolfe.max_iter": "7", "lbfgs_wolfe.line_search_fn": "none",
             "muon.adjust_lr_fn": "match_rms_adamw", "muon.ns_b": "-4", "rprop.etaplus": "1.5"}
    config, notices = from_query(query)
    assert notices == []
    assert config.runs[0] == RunChoice("lbfgs_wolfe", (("line_search_fn", "none"), ("max_iter", 7)))
    assert to_torch_hyper(config.runs[0].hyper())["max_iter"] == 7
    assert from_query(to_query(config)) == (config, [])
    _, notices = from_query({"opt": "lbfgs,muon", "lbfgs.max_iter": "2.5", "muon.adjust_lr_fn": "fast"})
    assert any("lbfgs.max_iter" in n and "whole number" in n for n in notices)
    assert any("muon.adjust_lr_fn" in n and "original, match_rms_adamw" in n for n in notices)


def test_lbfgs_counts_its_loop_in_the_eta_set_budget_and_its_basin_map_is_coarser():
    from dataclasses import replace

    from engine import sweep
    from lab import runs
    from lab.config import Config, RunChoice

    config = Config(epochs=100)
    assert runs.looped_step_cost(RunChoice("adam")) == 1
    assert runs.looped_step_cost(RunChoice("lbfgs")) == int(1.5 * 20 * (2 * 100 + 5))
    assert runs.lr_set_plan(replace(config, runs=(RunChoice("adam"),)), [RunChoice("adam")]) == runs.AHEAD
    assert runs.lr_set_plan(replace(config, runs=(RunChoice("lbfgs"),)), [RunChoice("lbfgs")]) == runs.RERUN
    result = sweep.basins(surfaces.get("himmelblau"), "lbfgs", {"line_search_fn": "strong_wolfe"}, 1.0,
                          grid_n=100, epochs=3)
    assert result.label.shape == (sweep.LOOPED_BASIN_GRID, sweep.LOOPED_BASIN_GRID)


def test_the_loss_curve_counts_evaluations_when_lbfgs_is_there():
    from figures.descent import EVALS_TITLE, RunView, loss_curve, uses_evals_axis

    surface = surfaces.get("rosenbrock")
    views = []
    for name, hyper in (("lbfgs", dict(line_search_fn="strong_wolfe")), ("adam", dict(lr=0.1))):
        t = collect(train(surface, optimizers.create(name, **hyper), epochs=5))
        views.append(RunView(name, "#000", t.params, t.loss, t.status, t.diverged_epoch, evals=t.evals))
    assert uses_evals_axis(views) and not uses_evals_axis(views[1:])
    fig = loss_curve(views, 0.0, uirevision="u")
    assert fig.layout.xaxis.title.text == EVALS_TITLE
    paths = [t for t in fig.data if t.meta and t.meta.get("role") == "path"]
    np.testing.assert_array_equal(paths[0].x, views[0].evals)
    np.testing.assert_array_equal(paths[1].x, np.arange(6))  # Adam: one evaluation an epoch
    assert loss_curve(views[1:], 0.0, uirevision="u").layout.xaxis.title.text == "epoch"


def test_asgd_record_carries_the_averaged_iterate_and_the_figures_draw_it_dashed():
    from figures.descent import Grid, RunView, contour_map

    surface = surfaces.get("himmelblau")
    opt = optimizers.create("asgd", lr=0.01, t0=5.0)
    records = list(train(surface, opt, epochs=12))
    state, w = opt.init(np.asarray(surface.start, dtype=np.float64)), np.asarray(surface.start, dtype=np.float64)
    for r in records[1:]:
        w, state = opt.update(w, surface.grad(w), state)
        np.testing.assert_array_equal(r.averaged, state.ax)
    assert not np.allclose(records[-1].averaged, records[-1].params)  # averaging began after t0 = 5
    t = collect(records)
    xs, ys = np.linspace(-5, 5, 20), np.linspace(-5, 5, 20)
    grid = Grid(xs, ys, surface.loss(np.stack(np.meshgrid(xs, ys), -1)))
    view = RunView("ASGD", "#D55E00", t.params, t.loss, t.status, averaged=np.stack([r.averaged for r in records]))
    (dashed,) = [tr for tr in contour_map(grid, [view], surface.minima, surface.start, log=False,
                                          uirevision="u").data if tr.meta and tr.meta.get("role") == "averaged"]
    assert dashed.line.dash == "dash" and dashed.line.color == "#D55E00"


def test_newton_has_no_torch_script_and_network_muon_has_the_recipes():
    from dataclasses import replace

    from lab.config import Config, RunChoice, network_defaults
    from lab.torch_script import torch_script

    with pytest.raises(ValueError, match="not a torch optimizer"):
        torch_script(Config(surface="saddle", runs=(RunChoice("newton"),), learning_rate=1.0, epochs=3), 0)
    # network-mode Muon is the recipe: Muon on the hidden matrices, AdamW on the rest
    network = torch_script(replace(network_defaults(), runs=(RunChoice("muon"),), epochs=2), 0)
    assert "def make_optimizer(params):\n    return MuonWithAdamW(params, lr=" in network
    script = torch_script(Config(runs=(RunChoice("lbfgs_wolfe"),), learning_rate=1.0, epochs=3), 0)
    assert "torch.optim.LBFGS(params, lr=1.0" in script and "opt.step(closure)" in script
    assert "foreach" not in script.split("torch.optim.LBFGS(")[1].split("\n")[0]
