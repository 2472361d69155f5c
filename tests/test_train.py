"""The training loop: records, mini-batches, reproducibility, divergence, clipping and schedules."""

import math
import warnings

import numpy as np
import pytest

import surfaces
from engine import clip_grad_norm, collect, optimizers, schedules, train
from engine.train import (CONVERGED, DIVERGED, FINISHED, RUNNING, Step, epoch_batches, far_limits,
                          scheduled_lr, step_epoch, trace)


class CountingSurface:
    """Wraps a surface and records every mini-batch it is asked for."""

    def __init__(self, surface):
        self.inner = surface
        self.batches = []
        self.n_samples = surface.n_samples
        self.start = surface.start
        self.bounds = surface.bounds

    def loss(self, w, idx=None):
        return self.inner.loss(w, idx)

    def grad(self, w, idx=None):
        if idx is not None:
            self.batches.append(np.asarray(idx).copy())
        return self.inner.grad(w, idx)


def test_record_zero_is_the_start_and_one_record_per_epoch():
    s = surfaces.get("rosenbrock")
    records = list(train(s, optimizers.create("adam", lr=0.01), epochs=25, start=(-1.5, 2.0)))
    assert [r.epoch for r in records] == list(range(26))
    assert np.array_equal(records[0].params, [-1.5, 2.0])
    assert records[0].loss == pytest.approx(float(s.loss(np.array([-1.5, 2.0]))))
    assert records[0].steps == 0
    assert [r.status for r in records[:-1]] == [RUNNING] * 25
    assert records[-1].status == FINISHED
    for r in records:
        assert r.params.shape == (2,)
        assert r.loss == pytest.approx(float(s.loss(r.params)))
        assert r.grad_norm == pytest.approx(float(np.linalg.norm(s.grad(r.params))))


def test_full_batch_follows_the_optimizer_step_by_step():
    """batch_size=None: one step per epoch with the exact gradient, so the records are exactly the
    optimizer's own iterates."""
    s = surfaces.get("beale")
    opt = optimizers.create("adam", lr=0.05)
    p = np.array(s.start, dtype=float)
    state = opt.init(p)
    expected = [p]
    for _ in range(30):
        p, state = opt.update(p, s.grad(p), state)
        expected.append(p)
    got = [r.params for r in train(s, opt, epochs=30)]
    assert np.array_equal(np.stack(got), np.stack(expected))


@pytest.mark.parametrize("name", ["linear_regression", "rosenbrock"])
@pytest.mark.parametrize("batch", [1, 5, 16])
def test_each_epoch_takes_ceil_n_over_batch_steps_over_a_permutation(name, batch):
    s = CountingSurface(surfaces.get(name))
    records = list(train(s, optimizers.create("sgd", lr=1e-4), epochs=3, batch_size=batch, seed=7))
    steps_per_epoch = math.ceil(s.n_samples / batch)
    assert [r.steps for r in records] == [0, steps_per_epoch, 2 * steps_per_epoch, 3 * steps_per_epoch]
    assert len(s.batches) == 3 * steps_per_epoch
    for epoch in range(3):
        chunk = s.batches[epoch * steps_per_epoch:(epoch + 1) * steps_per_epoch]
        assert sorted(np.concatenate(chunk).tolist()) == list(range(s.n_samples))
        assert all(len(b) == batch for b in chunk[:-1])


def test_same_seed_gives_identical_records_and_another_seed_differs():
    s = surfaces.get("logistic_regression")

    def run(seed):
        return collect(train(s, optimizers.create("sgd", lr=0.1, momentum=0.9), epochs=20,
                             batch_size=8, seed=seed))

    a, b, c = run(3), run(3), run(4)
    assert np.array_equal(a.params, b.params) and np.array_equal(a.loss, b.loss)
    assert not np.array_equal(a.params, c.params)


def test_divergence_ends_the_run_cleanly_at_the_right_epoch():
    """Plain gradient descent on f = 0.5·Σ c·w² multiplies w by (1 − lr·c) each step; with
    |1 − lr·c| = 3 the weights leave the box 100 widths around the bounds at a computable epoch."""
    s = surfaces.get("bowl")
    lam_max = float(np.max(np.linalg.eigvalsh(s.hessian(np.zeros(2)))))
    lr = 4.0 / lam_max  # factor 1 − 4 = −3 along the steep axis
    start = np.array([0.0, 1.0])
    (x0, x1), (y0, y1) = s.bounds
    far = y1 + 100 * (y1 - y0)
    # The steep axis is the second weight on the bowl: |w2| grows as 3**epoch.
    assert np.argmax(np.abs(np.linalg.eigh(s.hessian(np.zeros(2)))[1][:, -1])) == 1
    expected = next(e for e in range(1, 100) if 3.0**e > far)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        records = list(train(s, optimizers.create("sgd", lr=lr), epochs=200, start=start))
    assert records[-1].status == DIVERGED
    assert records[-1].epoch == expected
    assert all(r.status == RUNNING for r in records[:-1])


def test_overflow_to_inf_is_reported_as_divergence_without_warnings():
    s = surfaces.get("rosenbrock")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traj = collect(train(s, optimizers.create("sgd", lr=10.0), epochs=100, start=(-1.5, 2.0)))
    assert traj.status == DIVERGED
    assert traj.diverged_epoch == len(traj.loss) - 1
    assert traj.diverged_epoch < 100


def test_convergence_stops_the_run():
    s = surfaces.get("booth")
    traj = collect(train(s, optimizers.create("sgd", lr=0.05, momentum=0.5), epochs=2000))
    assert traj.status == CONVERGED
    assert len(traj.loss) < 2001
    assert traj.grad_norm[-1] < 1e-8


def test_clipping_limits_each_step():
    """SGD with norm clipping moves at most lr·max_norm per step, however steep the surface."""
    s = surfaces.get("rosenbrock")
    lr, max_norm = 0.01, 1.0
    traj = collect(train(s, optimizers.create("sgd", lr=lr), epochs=20, clip=("norm", max_norm)))
    steps = np.linalg.norm(np.diff(traj.params, axis=0), axis=1)
    assert np.all(steps <= lr * max_norm + 1e-15)
    first = traj.params[0] - lr * clip_grad_norm(s.grad(traj.params[0]), max_norm)
    assert np.array_equal(traj.params[1], first)


def test_schedule_sets_each_epochs_learning_rate():
    s = surfaces.get("bowl")
    sched = schedules.create("step", step_size=3, gamma=0.5)
    records = list(train(s, optimizers.create("sgd", lr=0.1), epochs=8, schedule=sched))
    # Record e (e >= 1) reports the lr used during epoch e, which torch's scheduler has stepped e−1 times.
    assert [r.lr for r in records[1:]] == [sched(e - 1, 0.1) for e in range(1, 9)]
    p = np.array(s.start, dtype=float)
    for r in records[1:]:
        p = p - r.lr * s.grad(p)
        assert np.allclose(r.params, p, rtol=0, atol=1e-15)


@pytest.mark.parametrize("kwargs, word", [
    ({"epochs": 0}, "epochs"),
    ({"epochs": 2.5}, "epochs"),
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 10_000}, "batch_size"),
    ({"start": (float("nan"), 0.0)}, "start"),
    ({"start": (float("inf"), 0.0)}, "start"),
    ({"start": (1.0, 2.0, 3.0)}, "start"),
    ({"clip": ("norm", -1.0)}, "max_norm"),
    ({"clip": ("sideways", 1.0)}, "clip"),
])
def test_bad_arguments_raise_value_error_naming_the_parameter(kwargs, word):
    s = surfaces.get("rosenbrock")
    args = {"epochs": 5, **kwargs}
    with pytest.raises(ValueError, match=word):
        list(train(s, optimizers.create("adam"), **args))


def test_a_run_that_leaves_the_box_mid_epoch_stops_at_that_step():
    s = surfaces.get("linear_regression")  # 64 samples: 16 mini-batches of 4 an epoch
    items = list(trace(s, optimizers.create("sgd", lr=0.5, momentum=0.9), epochs=30,
                       batch_size=4, seed=5))
    last = items[-1]
    steps = [item for item in items if isinstance(item, Step)]
    assert last.status == DIVERGED and 0 < last.steps % 16 and len(steps) == last.steps
    lo, hi = far_limits(s)
    assert np.array_equal(last.params, steps[-1].new_params)
    assert not np.all((last.params >= lo) & (last.params <= hi))
    assert all(np.all((step.params >= lo) & (step.params <= hi)) for step in steps)


@pytest.mark.parametrize("schedule", [
    None,
    schedules.create("constant"),
    schedules.create("step", step_size=3, gamma=0.3),
    schedules.create("exponential", gamma=0.97),
    schedules.create("cosine", T_max=10, eta_min=1e-3, warmup=4, start_factor=0.2),
    lambda epoch, base_lr: base_lr / (1 + epoch),  # any callable works, one rate at a time
])
def test_scheduled_rates_of_many_runs_are_each_runs_own(schedule):
    base = np.logspace(-4, 1, 61).reshape(-1, 1)
    for epoch in (0, 1, 3, 4, 9, 25):
        column = scheduled_lr(schedule, epoch, base)
        assert column.shape == base.shape and column.dtype == np.float64
        alone = [scheduled_lr(schedule, epoch, float(b)) for b in base.ravel()]
        assert column.ravel().tolist() == alone  # the same floats, not merely close


def test_step_epoch_runs_rows_as_their_own_runs_and_holds_one_that_leaves():
    s = surfaces.get("rosenbrock")
    opt = optimizers.create("sgd", lr=1.0, momentum=0.5)
    lrs = np.array([[1e-4], [1e-3], [0.05]])  # the last leaves the box within the epoch
    params = np.broadcast_to(s.start, (3, 2)).copy()
    limits = far_limits(s)
    batches = epoch_batches(np.random.default_rng(2), s.n_samples, 4)
    with np.errstate(all="ignore"):
        end = step_epoch(s.loss, s.grad, opt, params, opt.init(params), s.grad(params), lrs,
                         batches, None, limits)
        for i in range(3):
            p = np.array(s.start, dtype=float)
            alone = step_epoch(s.loss, s.grad, opt, p, opt.init(p), s.grad(p), float(lrs[i, 0]),
                               batches, None, limits)
            assert np.array_equal(end.params[i], alone.params)
            assert end.left[i] == alone.left
    assert end.left.tolist() == [False, False, True] and end.steps == len(batches)
    assert alone.steps < len(batches)  # a single run that leaves ends its epoch there
