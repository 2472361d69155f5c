"""The edge of stability: exact Hessian-vector products, power iteration, the per-epoch readout."""

import numpy as np
import pytest

from engine import collect, optimizers, train
from engine.network import MLP
from engine.sharpness import (every_for, power_iteration, preconditioner, sharpness,
                              sharpness_run, threshold)
from surfaces import datasets

pytestmark = pytest.mark.filterwarnings("error")


def small_net(activation, task, seed=1):
    if task == "classification":
        X, y = datasets.two_moons(n=30, seed=0)
        layers = [2, 4, 3, 2]
    else:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(25, 1))
        y = np.sin(2 * X[:, 0])
        layers = [1, 5, 1]
    net = MLP(layers, activation, task=task, data=(X, y), seed=seed)
    w = net.start + 0.1 * np.random.default_rng(2).normal(size=net.d)
    return net, w


def hessian_by_differences(net, w, h=1e-5):
    """The exact Hessian, column by column, from central differences of exact gradients."""
    cols = [(net.grad(w + h * e) - net.grad(w - h * e)) / (2 * h) for e in np.eye(net.d)]
    H = np.array(cols).T
    return (H + H.T) / 2


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_hvp_equals_the_hessian_of_a_small_network(activation, task):
    net, w = small_net(activation, task)
    H = net.hvp(w, np.eye(net.d))  # all d products at once: the whole Hessian
    reference = hessian_by_differences(net, w)
    # central differences with h = 1e-5 carry an error near 1e-10 of the largest entry
    assert np.max(np.abs(H - reference)) <= 1e-8 * np.max(np.abs(reference))
    assert np.max(np.abs(H - H.T)) <= 1e-14 * np.max(np.abs(H))
    v = np.random.default_rng(3).normal(size=net.d)
    assert np.allclose(net.hvp(w, v), H @ v, rtol=1e-12, atol=1e-14)
    idx = np.array([0, 3, 4, 9])
    Hb = net.hvp(w, np.eye(net.d), idx)
    cols = [(net.grad(w + 1e-5 * e, idx) - net.grad(w - 1e-5 * e, idx)) / 2e-5 for e in np.eye(net.d)]
    assert np.max(np.abs(Hb - np.array(cols).T)) <= 1e-8 * np.max(np.abs(Hb))


def test_hvp_equals_the_analytic_hessian_of_softmax_regression():
    """No hidden layer: H = mean_i (diag p_i − p_i p_iᵀ) ⊗ x̃_i x̃_iᵀ, written out exactly."""
    X, y = datasets.two_moons(n=40, seed=3)
    X3 = np.concatenate([X, X[:5] + 0.3])
    y3 = np.concatenate([y, np.full(5, 2)])
    net = MLP([2, 3], "relu", data=(X3, y3), seed=0)
    w = net.start + 0.2
    W, b = net.unflatten(w)[0]
    z = X3 @ W.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    n, k = p.shape
    H_wb = np.zeros((k, 3, k, 3))  # (class, input-or-bias) × (class, input-or-bias)
    xt = np.concatenate([X3, np.ones((n, 1))], axis=1)
    for i in range(n):
        S = np.diag(p[i]) - np.outer(p[i], p[i])
        H_wb += np.einsum("ab,c,d->acbd", S, xt[i], xt[i]) / n
    # reorder into the flat layout: W (row-major, k×2) then b (k)
    order = [(a, c) for a in range(k) for c in range(2)] + [(a, 2) for a in range(k)]
    H = np.array([[H_wb[a, c, b_, d] for (b_, d) in order] for (a, c) in order])
    assert np.allclose(net.hvp(w, np.eye(net.d)), H, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_power_iteration_finds_the_largest_eigenvalue(activation):
    net, w = small_net(activation, "classification")
    H = net.hvp(w, np.eye(net.d))
    exact = np.linalg.eigvalsh(H)[-1]
    eig = sharpness(net, w, tol=1e-12, max_iters=5000)
    assert eig.converged
    assert abs(eig.value - exact) <= 1e-6 * abs(exact)
    cheap = sharpness(net, w)  # the page's tolerance, 1e-3 on the Rayleigh quotient's change
    assert abs(cheap.value - exact) <= 2e-2 * abs(exact)


def test_power_iteration_looks_above_a_dominant_negative_eigenvalue():
    A = np.diag([-10.0, 3.0, 1.0, -2.0])
    Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))
    M = Q @ A @ Q.T
    eig = power_iteration(lambda v: M @ v, 4, tol=1e-13, max_iters=5000)
    assert abs(eig.value - 3.0) < 1e-8


def test_preconditioned_sharpness_equals_eigvalsh_of_the_scaled_hessian():
    net, w = small_net("tanh", "classification")
    opt = optimizers.create("adam", lr=0.01)
    state = opt.init(w)
    params = w
    for _ in range(3):
        params, state = opt.update(params, net.grad(params), state)
    P = preconditioner(opt, state)
    b1, b2 = 0.9, 0.999
    t = 3
    assert np.allclose(P, (1 - b1**t) * (np.sqrt(state.nu / (1 - b2**t)) + 1e-8))
    s = 1 / np.sqrt(P)
    H = net.hvp(params, np.eye(net.d))
    exact = np.linalg.eigvalsh(s[:, None] * H * s[None, :])[-1]
    eig = sharpness(net, params, P, tol=1e-12, max_iters=5000)
    assert abs(eig.value - exact) <= 1e-6 * abs(exact)
    assert preconditioner(optimizers.create("sgd", lr=0.1), optimizers.create("sgd", lr=0.1).init(w)) is None


def test_thresholds():
    assert threshold(optimizers.create("sgd", lr=0.1), 0.1)[0] == pytest.approx(20.0)
    assert threshold(optimizers.create("sgd", lr=0.1, momentum=0.9), 0.1)[0] == pytest.approx(38.0)
    assert threshold(optimizers.create("adam", lr=0.01), 0.01)[0] == pytest.approx(3800.0)


def test_the_readout_replays_the_run_and_measures_every_kth_epoch():
    X, y = datasets.two_moons(n=60, seed=0)
    net = MLP([2, 8, 2], "tanh", data=(X, y), seed=0)
    run = collect(train(net, optimizers.create("adam", lr=0.05), epochs=30, batch_size=16, seed=4))
    curve = sharpness_run(net, optimizers.create("adam", lr=0.05), epochs=30, batch_size=16, seed=4,
                          every=4, expected=run.params)
    assert curve.matches_run and curve.preconditioned
    assert list(curve.epochs) == [0, 4, 8, 12, 16, 20, 24, 28, 30]
    assert np.all(np.isfinite(curve.values)) and np.allclose(curve.two_over_lr, 2 / 0.05)
    other = sharpness_run(net, optimizers.create("adam", lr=0.05), epochs=30, batch_size=16, seed=5,
                          every=10, expected=run.params)
    assert not other.matches_run  # another seed is another run: the page says so
    sgd = sharpness_run(net, optimizers.create("sgd", lr=0.5), epochs=10, every=1)
    assert not sgd.preconditioned and len(sgd.epochs) == 11
    H = net.hvp(collect(train(net, optimizers.create("sgd", lr=0.5), epochs=10)).params[-1],
                np.eye(net.d))
    assert abs(sgd.values[-1] - np.linalg.eigvalsh(H)[-1]) <= 2e-2 * np.linalg.eigvalsh(H)[-1]
    assert every_for(100) == 1 and every_for(2000) == 20


def test_the_sharpness_figure_draws_each_run_beside_its_lines():
    from figures.sharpness import sharpness_figure, what_to_look_for

    X, y = datasets.two_moons(n=60, seed=0)
    net = MLP([2, 8, 2], "tanh", data=(X, y), seed=0)
    sgd = sharpness_run(net, optimizers.create("sgd", lr=0.5), epochs=12, every=3)
    adam = sharpness_run(net, optimizers.create("adam", lr=0.05), epochs=12, batch_size=16)
    fig = sharpness_figure([("SGD", "#0072B2", sgd), ("Adam", "#D55E00", adam)], uirevision="t")
    roles = [t.meta["role"] for t in fig.data]
    assert roles == ["sharpness", "two_over_lr", "sharpness", "two_over_lr", "threshold"]
    assert np.allclose(np.asarray(fig.data[1].y, dtype=float), 2 / 0.5)
    assert np.allclose(np.asarray(fig.data[4].y, dtype=float), 38 / 0.05, rtol=1e-6)
    words = what_to_look_for([("SGD", "", sgd), ("Adam", "", adam)])
    assert "2/η" in words and "preconditioned sharpness" in words
    assert "every 3rd epoch (and the last)" in words  # the page says which epochs it measured
    # the legend has a band of its own under the epoch axis's title, the y title fits the plot
    layout = fig.layout
    plot_height = layout.height - layout.margin.t - layout.margin.b
    assert layout.legend.yanchor == "top"
    assert -layout.legend.y * plot_height >= 3 * layout.font.size  # tick numbers + "epoch"
    assert len(layout.yaxis.title.text) * 0.6 * layout.font.size <= plot_height


def test_the_page_explains_adams_early_spike_on_the_default_network():
    """The default network's Adam run: its preconditioned sharpness spikes far above 38/η at
    epoch 1 (weights whose gradients were all zero so far have a denominator of about ε), and
    after the first tenth of the run stays well below the line, as the README says."""
    from figures.sharpness import ordinal, what_to_look_for
    from lab import runs
    from lab.config import network_defaults

    config = network_defaults()
    mlp = runs.build_mlp(config)
    choice = config.runs[0]
    assert choice.preset == "adam"
    curve = sharpness_run(mlp, choice.make(config.learning_rate), epochs=config.epochs,
                          batch_size=runs.batch_size(config, choice), start=mlp.start, seed=config.seed)
    assert curve.values[1] > 10 * curve.threshold[1]  # the spike
    late = curve.epochs > max(10, int(curve.epochs[-1]) // 10)
    assert np.all(curve.values[late] < 0.5 * curve.threshold[late])  # "well below"
    words = what_to_look_for([(choice.label, "", curve)])
    assert f"{curve.values[1]:,.0f} at epoch 1" in words and "ε" in words
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd"]


def test_sgd_on_noisy_sine_reaches_the_edge_of_stability():
    """The tip the page gives: full-batch SGD at η = 0.1 on Noisy sine (tanh) climbs past
    2/η = 20, then hovers near it."""
    from dataclasses import replace

    from lab import runs
    from lab.config import network_defaults

    config = replace(network_defaults(), dataset="noisy_sine", activation="tanh", learning_rate=0.1,
                     batch_size=None, epochs=300)
    mlp = runs.build_mlp(config)
    curve = sharpness_run(mlp, optimizers.create("sgd", lr=0.1), epochs=300, start=mlp.start, every=10)
    assert curve.values[0] < 15 and curve.values.max() > 20
    assert 18 < np.median(curve.values[-10:]) < 26


def test_app_network_mode_shows_the_sharpness_chart_and_what_to_look_for():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=90)
    at.query_params["mode"] = "network"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    charts = [c for c in at.get("plotly_chart") if "Edge of stability" in c.proto.spec]
    assert len(charts) == 1
    assert any("What to look for" in m.value and "preconditioned sharpness" in m.value
               for m in at.markdown)  # the default network runs Adam


def test_sgd_is_measured_at_the_recorded_weights_without_a_replay():
    X, y = datasets.two_moons(n=60, seed=0)
    net = MLP([2, 8, 2], "tanh", data=(X, y), seed=0)
    run = collect(train(net, optimizers.create("sgd", lr=0.5, momentum=0.9), epochs=12, batch_size=16))
    fast = sharpness_run(net, optimizers.create("sgd", lr=0.5, momentum=0.9), epochs=12,
                         batch_size=16, every=3, run=run)
    replayed = sharpness_run(net, optimizers.create("sgd", lr=0.5, momentum=0.9), epochs=12,
                             batch_size=16, every=3, expected=run.params)
    assert replayed.matches_run and list(fast.epochs) == list(replayed.epochs)
    assert np.allclose(fast.values, replayed.values, rtol=1e-12)
    assert np.allclose(fast.threshold, (2 + 2 * 0.9) / 0.5)


def _diverges(opt, curvature: float, steps: int = 400) -> bool:
    """Whether `opt` grows on the 1-D-per-weight quadratic ½·c·w² (both weights) from w = 1."""
    w, state = np.array([1.0, 1.0]), opt.init(np.array([1.0, 1.0]))
    for _ in range(steps):
        w, state = opt.update(w, curvature * w, state)
    return not np.all(np.abs(w) < 1.0)


@pytest.mark.parametrize("hyper", [dict(momentum=0.9, nesterov=True), dict(momentum=0.5, nesterov=True),
                                   dict(momentum=0.9, dampening=0.5), dict(momentum=0.9)])
def test_the_momentum_limits_are_where_a_quadratic_starts_to_grow(hyper):
    """Each line drawn is the curvature at which the engine's own run stops shrinking."""
    opt = optimizers.create("sgd", lr=0.1, **hyper)
    limit = threshold(opt, 0.1)[0]
    assert not _diverges(opt, 0.99 * limit) and _diverges(opt, 1.01 * limit)


def test_asgds_limit_follows_its_own_decayed_step():
    opt = optimizers.create("asgd", lr=0.5, lambd=0.05, weight_decay=0.1)
    w = np.array([1.0, 1.0])
    state = opt.init(w)
    for _ in range(20):
        w, state = opt.update(w, 0.1 * w, state)
    limit, words = threshold(opt, 0.5, state)
    assert limit == pytest.approx(2 / float(state.eta) - 0.05 - 0.1) and "η_t" in words
    assert limit > 2 / 0.5  # η_t has decayed below η: a higher line than 2/η

    def grows(curvature):  # from that state on, the next 400 steps on ½·c·w²
        p, s = np.array([1.0, 1.0]), state
        for _ in range(400):
            p, s = opt.update(p, curvature * p, s)
        return not np.all(np.abs(p) < 1.0)
    # η_t keeps decaying, so the run is stable a little past the line drawn now, not before it
    assert not grows(0.99 * limit)


@pytest.mark.parametrize("name", ["rprop", "adafactor", "lbfgs", "muon"])
def test_no_line_is_drawn_for_a_family_with_no_known_limit(name):
    from figures.sharpness import sharpness_figure, what_to_look_for

    opt = optimizers.create(name, **({"lr": 0.05} if name != "lbfgs" else {}))
    value, words = threshold(opt, 0.05)
    assert np.isnan(value) and words.startswith("no stability limit known")
    if name == "muon":  # its network-mode rule (Muon on the hidden matrices) is another's work
        return
    X, y = datasets.two_moons(n=40, seed=0)
    net = MLP([2, 4, 2], "tanh", data=(X, y), seed=0)
    run = collect(train(net, opt, epochs=6))
    curve = sharpness_run(net, opt, epochs=6, run=run)
    assert not curve.limit_known and curve.matches_run
    sgd = sharpness_run(net, optimizers.create("sgd", lr=0.5), epochs=6)
    fig = sharpness_figure([(name, "#0072B2", curve), ("SGD", "#D55E00", sgd)], uirevision="t")
    assert [t.meta["role"] for t in fig.data] == ["sharpness", "sharpness", "two_over_lr"]
    assert fig.data[0].name == f"{name}: sharpness, no limit known"  # said in presenter mode too
    assert "2/η" in fig.layout.title.text
    words = what_to_look_for([(name, "", curve), ("SGD", "", sgd)])
    assert f"No stability line is drawn for {name}:" in words
    alone = sharpness_figure([(name, "#0072B2", curve)], uirevision="t")
    assert [t.meta["role"] for t in alone.data] == ["sharpness"]
    assert alone.layout.title.text.endswith("(no stability limit known)")
