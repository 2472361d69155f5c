"""The anatomy of one step shows the very numbers the engine used in that step."""

import numpy as np
import pytest

import surfaces
from engine import collect, optimizers, train
from engine.anatomy import replay_step, sample_view
from lab.anatomy import buffers
from lab.anatomy import MODELS, anatomy_sections, num, vec

OPTIMIZERS = {
    "sgd": ("sgd", {}),
    "momentum": ("sgd", {"momentum": 0.9}),
    "adam": ("adam", {}),
}
SURFACES = ["rosenbrock", "himmelblau", "linear_regression", "logistic_regression", "two_weight_net"]


def _opt(preset, lr):
    name, kw = OPTIMIZERS[preset]
    return optimizers.create(name, lr=lr, **kw)


@pytest.mark.parametrize("surface_name", SURFACES)
@pytest.mark.parametrize("preset", list(OPTIMIZERS))
@pytest.mark.parametrize("batch", [None, 8])
def test_the_replayed_step_is_the_engines_step(surface_name, preset, batch):
    s = surfaces.get(surface_name)
    lr = 1e-3 if surface_name == "rosenbrock" else 0.01
    run = dict(epochs=6, batch_size=batch, seed=3)
    epoch = 4
    steps_per_epoch = 1 if batch is None else -(-s.n_samples // batch)
    last = replay_step(s, _opt(preset, lr), epoch=epoch, index=steps_per_epoch - 1, **run)
    first = replay_step(s, _opt(preset, lr), epoch=epoch, index=0, **run)
    records = collect(train(s, _opt(preset, lr), **run))
    # The first step of the epoch starts where the previous epoch's record ended, and the last
    # step of the epoch ends where this epoch's record is.
    assert np.array_equal(first.params, records.params[epoch - 1])
    assert np.array_equal(last.new_params, records.params[epoch])
    # The gradient shown is the surface's gradient on exactly that mini-batch.
    assert np.array_equal(first.grad, s.grad(first.params, first.batch))
    if batch is not None:
        assert len(first.batch) == batch
    # The update shown reproduces the engine's new weights from the rule.
    if preset == "sgd":
        assert np.array_equal(first.new_params, first.params - lr * first.clipped)
    if preset == "momentum":
        (velocity,) = buffers(first.state_after).values()
        assert np.allclose(velocity, 0.9 * buffers(first.state_before)[next(iter(buffers(first.state_before)))]
                           + first.clipped, rtol=0, atol=1e-15)
        assert np.array_equal(first.new_params, first.params - lr * velocity)
    if preset == "adam":
        m = buffers(first.state_after)["first moment m (running mean of gradients)"]
        m0 = buffers(first.state_before)["first moment m (running mean of gradients)"]
        assert np.allclose(m, 0.9 * m0 + 0.1 * first.clipped, rtol=1e-14, atol=0)


@pytest.mark.parametrize("surface_name", list(MODELS))
@pytest.mark.parametrize("batch", [None, 4])
def test_chain_rule_factors_multiply_to_the_gradient_the_engine_used(surface_name, batch):
    s = surfaces.get(surface_name)
    step = replay_step(s, _opt("momentum", 0.02), epoch=3, epochs=5, batch_size=batch, seed=1)
    view = sample_view(s, step)
    for weight, chain in zip(view.sample_grad, MODELS[surface_name]["chains"].values()):
        product = np.prod([view.factors[f] for f in chain])
        assert product == pytest.approx(weight, rel=1e-12, abs=1e-15)
    # The batch gradient is the mean of the per-sample gradients, and is what the engine used.
    x, y = s.data
    batch_idx = np.arange(s.n_samples) if step.batch is None else step.batch
    per_sample = np.stack([s.grad(step.params, np.array([i])) for i in batch_idx])
    assert np.allclose(per_sample.mean(axis=0), step.grad, rtol=1e-12, atol=1e-15)
    assert np.allclose(view.batch_grad, step.grad, rtol=1e-12, atol=1e-15)
    assert view.batch_loss == pytest.approx(float(s.loss(step.params, batch_idx)), rel=1e-12)
    assert view.forward["y"] == y[view.index] and view.index == batch_idx[0]


@pytest.mark.parametrize("surface_name", ["rosenbrock", "linear_regression", "two_weight_net"])
@pytest.mark.parametrize("preset", list(OPTIMIZERS))
def test_the_panel_prints_the_engines_numbers(surface_name, preset):
    s = surfaces.get(surface_name)
    step = replay_step(s, _opt(preset, 0.001), epoch=2, epochs=3, batch_size=8, seed=0)
    text = "\n".join(line for sec in anatomy_sections(s, step, preset, sample_view(s, step))
                     for line in sec.latex + sec.notes)
    assert vec(step.grad) in text
    if preset == "sgd":
        for i in range(2):
            assert num(step.new_params[i]) in text and num(step.clipped[i]) in text
    else:
        assert vec(step.new_params) in text
        for value in buffers(step.state_after).values():
            assert f"{value[0]:.4g}" in text


def test_replay_past_a_divergence_returns_none():
    s = surfaces.get("rosenbrock")
    assert replay_step(s, optimizers.create("sgd", lr=10.0), epoch=50, epochs=60) is None


def test_curvature_points_carry_the_runs_own_eta_through_its_schedule():
    from lab.anatomy import curvature_points
    from lab.config import Config, RunChoice
    from lab.runs import make_schedule

    config = Config(surface="bowl", runs=(RunChoice("sgd", (("lr", 0.002),)),), learning_rate=0.1,
                    epochs=40, schedule="cosine")
    choice = config.runs[0]
    schedule = make_schedule(config, choice)
    s = surfaces.get("bowl")
    step = replay_step(s, choice.make(config.learning_rate), epoch=30, epochs=40, start=s.start,
                       schedule=schedule)
    start, inspected = curvature_points(s.start, choice.label, choice.lr(0.1), schedule, step)
    assert start.eta == schedule(0, 0.002) and inspected.eta == step.lr
    assert inspected.eta < 0.002 and 0.1 not in (start.eta, inspected.eta)
    assert "epoch 30 (by its schedule)" in inspected.whose and "SGD" in inspected.whose
    (shared,) = curvature_points(s.start, None, 0.1, None, None)
    assert shared.eta == 0.1 and shared.whose == "The shared η"


def test_the_curvature_panel_judges_the_inspected_runs_own_eta():
    """An SGD run at its own η = 0.002 on the bowl (2/λ_max = 0.08) is 0.025 times the limit,
    not the shared η = 0.1's 1.25 times."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "app.py")
    at = AppTest.from_file(app, default_timeout=90)
    for k, v in {"surface": "bowl", "opt": "sgd", "lr": "0.1", "sgd.lr": "0.002",
                 "epochs": "20"}.items():
        at.query_params[k] = v
    at.session_state["panel"] = "Curvature and η"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(l.value for l in at.latex)
    assert r"\eta = 0.002" in text and r"\eta = 0.1\quad" not in text
    bars = [p.proto.text for p in at.get("progress")]
    assert bars and all("0.025 times" in t for t in bars), bars
    assert not any("Above the limit" in c.value for c in at.caption)


def test_the_backward_pass_lines_fit_a_half_width_column():
    """Each chain-rule line of the five steps' backward pass: the symbols, then the numbers on a
    row of their own (on one row, 'dℓ/dw = … = (factors) = g' was cut off on the right)."""
    import re

    import surfaces
    from engine import optimizers
    from engine.anatomy import replay_step, sample_view
    from lab.anatomy import anatomy_sections

    for name in ("two_weight_net", "logistic_regression", "linear_regression"):
        s = surfaces.get(name)
        step = replay_step(s, optimizers.create("sgd", lr=0.1), epoch=3, epochs=3, batch_size=8)
        sections = anatomy_sections(s, step, "sgd", sample_view(s, step))
        (back,) = [sec for sec in sections if sec.title.startswith("3 ·")]
        for line in back.latex:
            for row in re.split(r"\\\\", line):
                shown = re.sub(r"\\[a-zA-Z]+|[{}]|\\begin|\\end", "", row)
                assert len(shown) <= 70, (len(shown), row)
