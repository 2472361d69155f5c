"""engine.sweep: many runs at once, checked against the same runs one by one."""

import math
from pathlib import Path

import numpy as np
import pytest

import surfaces
from engine import collect, optimizers, schedules, train
from engine.compare import summarize
from engine.sweep import (DEFAULT_LRS, DIVERGED_LABEL, ELSEWHERE, LR_BATCH_BUDGET, NOT_CONVERGED,
                          OptimizerSpec, basins, lr_batch_cost, lr_batch_fits, lr_set_cost,
                          lr_sweep, lr_trajectories, race, stability_limit, tuned_index)
from lab.lessons import LESSONS

APP = str(Path(__file__).resolve().parent.parent / "app.py")

SPECS = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("adagrad", {"lr_decay": 0.01}),
    ("rmsprop", {"momentum": 0.5, "centered": True}),
    ("adadelta", {}),
    ("adam", {"amsgrad": True}),
    ("adamw", {}),
    ("nadam", {"decoupled_weight_decay": True, "weight_decay": 0.01}),
    ("adamax", {}),
    ("radam", {}),
]


def _one_by_one(surface, name, hyper, lr, epochs, tol, start=None, **training):
    traj = collect(train(surface, optimizers.create(name, lr=float(lr), **hyper), epochs=epochs,
                         start=start, **training))
    return traj, summarize(traj, surface.minima, surface.minimum_loss, tol)


class CountingUpdates:
    """Makes optimizers.create hand out optimizers whose update counts its calls and the runs
    (rows) each call steps: the work a batch does, without a clock."""

    def __init__(self, monkeypatch):
        self.calls, self.rows = 0, 0
        self.first_shape = None
        create = optimizers.create

        def counting_create(name, **hyper):
            opt = create(name, **hyper)

            def update(params, grad, state, lr=None):
                self.calls += 1
                self.rows += len(params) if params.ndim == 2 else 1
                self.first_shape = self.first_shape or params.shape
                return opt.update(params, grad, state, lr=lr)

            return opt._replace(update=update)

        monkeypatch.setattr(optimizers, "create", counting_create)


def _same_loss(a, b):
    if not (math.isfinite(a) and math.isfinite(b)):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1e-300)


@pytest.mark.parametrize("name,hyper", SPECS)
@pytest.mark.parametrize("surface_name", ["rosenbrock", "himmelblau", "bowl", "ackley"])
def test_sweep_equals_the_same_runs_one_by_one(surface_name, name, hyper):
    s = surfaces.get(surface_name)
    lrs = np.logspace(-4, 1, 13)  # wide enough that some runs converge or diverge
    epochs, tol = 100, 1e-6
    result = lr_sweep(s, name, hyper, lrs, None, epochs, tol)
    for i, lr in enumerate(lrs):
        traj, summary = _one_by_one(s, name, hyper, lr, epochs, tol)
        # The weights are bit for bit the same; the loss may differ in the last bit, because
        # NumPy evaluates a (2,) point and a (k, 2) batch by slightly different routines.
        np.testing.assert_array_equal(result.final_params[i], traj.params[-1])
        assert _same_loss(result.final_loss[i], summary.final_loss)
        assert _same_loss(result.best_loss[i], summary.best_loss)
        assert result.status[i] == summary.status
        assert result.stop_epoch[i] == len(traj.loss) - 1
        assert result.diverged_epoch[i] == (summary.diverged_epoch or -1)
        assert result.epochs_to_tol[i] == (-1 if summary.epochs_to_tolerance is None
                                           else summary.epochs_to_tolerance)


def test_sweep_covers_every_outcome_and_counts_them_right():
    s = surfaces.get("bowl")
    result = lr_sweep(s, "sgd", {}, DEFAULT_LRS, None, 1000, 1e-6)
    assert len(result.lrs) == 61 and result.lrs[0] == pytest.approx(1e-4) and result.lrs[-1] == 10
    assert set(result.status) == {"converged", "diverged", "finished"}
    # On the bowl plain GD is a linear map: every rate above 2/25 diverges, none below does.
    limit = 2 / 25
    assert np.all(result.status[result.lrs > limit * 1.01] == "diverged")
    assert not np.any(result.status[result.lrs < limit * 0.99] == "diverged")


def test_sweep_leaks_no_warnings_and_rejects_bad_input():
    s = surfaces.get("rosenbrock")
    lr_sweep(s, "adam", {}, [1e-3, 10.0, 1e6], None, 50)  # pytest turns RuntimeWarnings into errors
    with pytest.raises(ValueError, match="learning rates"):
        lr_sweep(s, "adam", {}, [0.1, -1.0])
    with pytest.raises(ValueError, match="epochs"):
        lr_sweep(s, "adam", {}, [0.1], epochs=0)
    with pytest.raises(ValueError, match="momentum"):
        lr_sweep(s, "sgd", {"momentum": -1.0}, [0.1])


@pytest.mark.parametrize("factor,status", [(0.98, "converged"), (1.02, "diverged")])
def test_plain_gd_on_the_bowl_breaks_just_above_the_stability_limit(factor, status):
    bowl = surfaces.get("bowl")  # 0.5·(x² + 25y²): λ_max = 25
    limit = stability_limit(bowl)
    assert limit == pytest.approx(2 / 25, rel=1e-12)
    result = lr_sweep(bowl, "sgd", {}, [limit * factor], None, 2000)
    assert result.status[0] == status
    one = collect(train(bowl, optimizers.create("sgd", lr=limit * factor), epochs=2000))
    assert one.status == status


def test_stability_limit_uses_the_minimum_nearest_the_start_and_none_without_one():
    h = surfaces.get("himmelblau")
    for m in h.minima:
        eig = np.linalg.eigvalsh(h.hessian(m))
        assert stability_limit(h, m + 0.1) == pytest.approx(2 / eig[-1])
    assert stability_limit(surfaces.get("saddle")) is None


def test_himmelblau_has_four_basins_each_holding_its_own_minimum():
    h = surfaces.get("himmelblau")
    result = basins(h, "sgd", {}, 0.01, grid_n=60, epochs=300)
    assert result.label.shape == (60, 60) and result.end.shape == (60, 60, 2)
    counts = {k: int(np.sum(result.label == k)) for k in range(4)}
    assert all(count > 0.1 * 60 * 60 for count in counts.values()), counts
    for i, m in enumerate(h.minima):
        j = int(np.argmin(np.abs(result.xs - m[0])))
        k = int(np.argmin(np.abs(result.ys - m[1])))
        assert np.all(result.label[k - 1:k + 2, j - 1:j + 2] == i)
        assert np.linalg.norm(result.end[k, j] - m) < 1e-3
    # The map is indexed [row = y, col = x]: a start's end agrees with a run from that start.
    k, j = 7, 45
    traj = collect(train(h, optimizers.create("sgd", lr=0.01), epochs=300,
                         start=(result.xs[j], result.ys[k])))
    np.testing.assert_array_equal(result.end[k, j], traj.params[-1])


def test_basins_label_divergence_and_not_converged():
    h = surfaces.get("himmelblau")
    wild = basins(h, "sgd", {}, 0.1, grid_n=20, epochs=50)
    assert np.mean(wild.label == DIVERGED_LABEL) > 0.5
    assert np.all(wild.epochs_taken[wild.label == DIVERGED_LABEL] <= 50)
    slow = basins(h, "sgd", {}, 1e-4, grid_n=20, epochs=20)
    assert np.mean(slow.label == NOT_CONVERGED) > 0.9
    assert np.all(slow.epochs_taken[slow.label == NOT_CONVERGED] == 20)


def test_basins_mark_runs_that_stop_at_an_unlisted_point():
    r = surfaces.get("rastrigin")  # only the centre and its four nearest dips are listed
    result = basins(r, "sgd", {}, 0.002, grid_n=30, epochs=300)
    assert np.mean(result.label == ELSEWHERE) > 0.5
    assert np.any(result.label == 0)


def test_basin_map_steps_every_start_in_one_update_per_epoch(monkeypatch):
    h = surfaces.get("himmelblau")
    spy = CountingUpdates(monkeypatch)
    basins(h, "adam", {}, 0.05, grid_n=100, epochs=100)
    assert spy.first_shape == (100 * 100, 2)  # all starts in one batch, not a loop over them
    assert spy.calls <= 100  # one vectorized update per full-batch epoch
    assert spy.rows <= 100 * 100 * 100


def test_race_tunes_each_optimizer_to_the_best_rate_on_its_own_sweep():
    s = surfaces.get("rosenbrock")
    specs = [OptimizerSpec("GD", "sgd", {}), OptimizerSpec("Momentum", "sgd", {"momentum": 0.9}),
             optimizers.create("adam", lr=0.1)]
    lrs = np.logspace(-4, 1, 31)
    result = race(s, specs, epochs=300, tol=1e-6, lrs=lrs)
    assert [e.label for e in result.entries] == ["GD", "Momentum", "adam"]
    assert "lowest final loss" in result.rule and "fewer epochs" in result.rule
    for entry in result.entries:
        sweep = entry.sweep
        i = int(np.flatnonzero(sweep.lrs == entry.lr)[0])
        assert sweep.status[i] != "diverged"
        ok = (sweep.status != "diverged") & np.isfinite(sweep.final_loss)
        best = sweep.final_loss[ok].min()
        # Nothing beats it: its final loss is the lowest up to the tie rule ...
        tied = ok & ((np.abs(sweep.final_loss - best) <= 1e-9 * np.abs(sweep.final_loss))
                     | (sweep.final_loss - s.minimum_loss <= 1e-6) & (best - s.minimum_loss <= 1e-6))
        assert tied[i]
        # ... and no tied rate reaches the tolerance in fewer epochs.
        epochs = np.where(sweep.epochs_to_tol >= 0, sweep.epochs_to_tol, 10**9)
        assert epochs[i] == epochs[tied].min()
        assert entry.final_loss == sweep.final_loss[i]


def test_race_tie_break_prefers_fewer_epochs_to_the_tolerance():
    bowl = surfaces.get("bowl")
    sweep = lr_sweep(bowl, "sgd", {"momentum": 0.5}, DEFAULT_LRS, None, 2000, 1e-6)
    i = tuned_index(sweep)
    tied = (sweep.status != "diverged") & (sweep.final_loss <= 1e-6)
    assert tied.sum() > 3  # many rates reach the minimum: the tie-break decides
    epochs = np.where(sweep.epochs_to_tol >= 0, sweep.epochs_to_tol, 10**9)
    assert epochs[i] == epochs[tied].min()


def test_race_reports_an_optimizer_that_diverges_at_every_rate():
    s = surfaces.get("saddle")  # no minimum: plain GD runs away at every rate
    result = race(s, [OptimizerSpec("GD", "sgd", {})], epochs=400, lrs=[0.5, 1.0, 5.0])
    entry = result.entries[0]
    assert entry.lr is None and entry.status == "diverged"


# --------------------------------------------------------------------------- training settings

COSINE = schedules.create("cosine", T_max=15, eta_min=1e-4, warmup=3)
STEP = schedules.create("step", step_size=4, gamma=0.5)
EXPONENTIAL = schedules.create("exponential", gamma=0.99)
TRAINING_CASES = [
    # surface, optimizer, hyper, batch_size, clip, schedule, epochs
    ("linear_regression", "sgd", {"momentum": 0.9}, 4, None, None, 30),  # diverges mid-epoch
    ("logistic_regression", "adam", {}, 4, ("norm", 1.0), None, 30),
    ("two_weight_net", "adam", {}, 4, ("value", 0.5), STEP, 30),
    ("rosenbrock", "adam", {}, 4, ("value", 0.5), COSINE, 30),
    ("rosenbrock", "sgd", {"momentum": 0.9}, None, ("norm", 1.0), STEP, 30),
    ("himmelblau", "sgd", {"momentum": 0.9}, 4, None, COSINE, 30),  # diverges at once
    ("booth", "sgd", {"momentum": 0.5}, None, ("value", 1.0), EXPONENTIAL, 300),  # converges
]
CASE_ARGS = "surface_name,name,hyper,batch_size,clip,schedule,epochs"
LRS = np.logspace(-3, 1, 7)  # wide enough that some runs stop early


@pytest.mark.parametrize(CASE_ARGS, TRAINING_CASES)
def test_lr_trajectories_are_the_runs_of_train_number_for_number(surface_name, name, hyper,
                                                                  batch_size, clip, schedule,
                                                                  epochs):
    s = surfaces.get(surface_name)
    result = lr_trajectories(s, name, hyper, LRS, None, epochs, batch_size, 5, clip, schedule)
    assert result.params.shape == (len(LRS), epochs + 1, 2) and result.params.dtype == np.float64
    assert result.loss.shape == (len(LRS), epochs + 1) and result.loss.dtype == np.float64
    for i, lr in enumerate(LRS):
        traj, _ = _one_by_one(s, name, hyper, lr, epochs, 1e-6, batch_size=batch_size, seed=5,
                              clip=clip, schedule=schedule)
        stop = len(traj.loss) - 1
        assert result.stop_epoch[i] == stop and result.status[i] == traj.status
        assert result.diverged_epoch[i] == (-1 if traj.diverged_epoch is None
                                            else traj.diverged_epoch)
        # The weights are bit for bit train's; the loss at them may differ in the last bit
        # (NumPy evaluates a (2,) point and a (k, 2) batch by slightly different routines).
        np.testing.assert_array_equal(result.params[i, :stop + 1], traj.params)
        np.testing.assert_allclose(result.loss[i, :stop + 1], traj.loss, rtol=1e-14, atol=0)
        # A run ends at its stop: the page draws no dot after it.
        assert np.all(np.isnan(result.params[i, stop + 1:]))
        assert np.all(np.isnan(result.loss[i, stop + 1:]))


def test_the_cases_cover_runs_that_diverge_mid_epoch_and_runs_that_converge():
    s = surfaces.get("linear_regression")  # 64 samples: 16 mini-batches of 4 an epoch
    result = lr_trajectories(s, "sgd", {"momentum": 0.9}, LRS, None, 30, batch_size=4, seed=5)
    assert set(result.status) == {"diverged", "finished"}
    i = int(np.flatnonzero(result.status == "diverged")[0])
    last = list(train(s, optimizers.create("sgd", lr=float(LRS[i]), momentum=0.9), 30, 4,
                      seed=5))[-1]
    assert last.epoch == result.stop_epoch[i] and 0 < last.steps % 16  # it left the box mid-epoch
    np.testing.assert_array_equal(result.params[:, 0], np.broadcast_to(s.start, (len(LRS), 2)))
    booth = lr_trajectories(surfaces.get("booth"), "sgd", {"momentum": 0.5}, LRS, None, 300,
                            clip=("value", 1.0), schedule=EXPONENTIAL)
    assert "converged" in set(booth.status)


def test_lr_trajectories_step_every_stop_at_once(monkeypatch):
    s = surfaces.get("logistic_regression")  # 64 samples: 16 mini-batches of 4 an epoch
    spy = CountingUpdates(monkeypatch)
    lr_trajectories(s, "adam", {}, DEFAULT_LRS, None, 20, batch_size=4)
    assert spy.first_shape == (61, 2)
    assert spy.calls <= 20 * 16  # one update per mini-batch for all 61 stops together
    assert spy.rows <= lr_batch_cost(1, 20, 16)


@pytest.mark.parametrize(CASE_ARGS, TRAINING_CASES)
def test_sweep_with_batches_clipping_and_a_schedule_equals_the_runs_one_by_one(
        surface_name, name, hyper, batch_size, clip, schedule, epochs):
    s = surfaces.get(surface_name)
    tol = 1e-2
    result = lr_sweep(s, name, hyper, LRS, None, epochs, tol, batch_size=batch_size, seed=5,
                      clip=clip, schedule=schedule)
    for i, lr in enumerate(LRS):
        traj, summary = _one_by_one(s, name, hyper, lr, epochs, tol, batch_size=batch_size,
                                    seed=5, clip=clip, schedule=schedule)
        np.testing.assert_array_equal(result.final_params[i], traj.params[-1])
        assert _same_loss(result.final_loss[i], summary.final_loss)
        assert _same_loss(result.best_loss[i], summary.best_loss)
        assert result.status[i] == summary.status
        assert result.diverged_epoch[i] == (summary.diverged_epoch or -1)
        assert result.epochs_to_tol[i] == (-1 if summary.epochs_to_tolerance is None
                                           else summary.epochs_to_tolerance)


def test_another_seed_gives_other_batches_and_the_full_batch_ignores_the_seed():
    s = surfaces.get("logistic_regression")
    a, b = (lr_sweep(s, "sgd", {}, LRS[:3], epochs=10, batch_size=8, seed=seed) for seed in (1, 2))
    assert not np.array_equal(a.final_params, b.final_params)
    c, d = (lr_sweep(s, "sgd", {}, LRS[:3], epochs=10, seed=seed) for seed in (1, 2))
    np.testing.assert_array_equal(c.final_params, d.final_params)


def test_basins_and_race_train_with_the_same_settings():
    h = surfaces.get("himmelblau")
    settings = dict(batch_size=4, seed=3, clip=("norm", 5.0), schedule=STEP)
    result = basins(h, "sgd", {"momentum": 0.5}, 0.01, grid_n=12, epochs=40, **settings)
    k, j = 2, 9
    traj = collect(train(h, optimizers.create("sgd", lr=0.01, momentum=0.5), epochs=40,
                         start=(result.xs[j], result.ys[k]), **settings))
    np.testing.assert_array_equal(result.end[k, j], traj.params[-1])

    race_result = race(h, [OptimizerSpec("Adam", "adam", {})], epochs=30, lrs=LRS, **settings)
    alone = lr_sweep(h, "adam", {}, LRS, None, 30, **settings)
    np.testing.assert_array_equal(race_result.entries[0].sweep.final_params, alone.final_params)
    assert "mini-batches of 4" in race_result.rule


def test_sweep_rejects_bad_training_settings():
    s = surfaces.get("rosenbrock")
    with pytest.raises(ValueError, match="batch_size"):
        lr_sweep(s, "adam", {}, [0.1], batch_size=0)
    with pytest.raises(ValueError, match="clip"):
        lr_trajectories(s, "adam", {}, [0.1], clip=("sideways", 1.0))
    with pytest.raises(ValueError, match="max_norm"):
        basins(s, "adam", {}, 0.1, grid_n=4, clip=("norm", -1.0))


def test_the_batch_budget_fits_the_default_page_but_not_six_optimizers_at_batch_one():
    assert lr_batch_fits(1, 500, 1) and lr_batch_fits(1, 100, 1)  # one Adam, full batch
    assert not lr_batch_fits(6, 2000, 200)  # batch size 1 on a 200-sample surface
    assert lr_batch_cost(6, 2000, 200) > LR_BATCH_BUDGET
    # A data surface's full-batch measurement counts too: more samples, less fits.
    assert lr_batch_cost(1, 500, 1, data_samples=64) > lr_batch_cost(1, 500, 1)
    assert not lr_batch_fits(1, 500, 1, data_samples=10_000)


# --------------------------------------------------------------------------- every lesson's η set


def test_lr_set_cost_sums_each_optimizers_own_steps():
    assert lr_set_cost([1, 16], 100) == lr_batch_cost(1, 100, 1) + lr_batch_cost(1, 100, 16)
    assert lr_set_cost([1], 500, data_samples=64) == lr_batch_cost(1, 500, 1, data_samples=64)
    assert lr_set_cost([], 100) == 0


def _view_message(at) -> dict:
    from ui import descent_view

    (element,) = [e for e in at.get("bidi_component") if e.proto.bytes]  # the η echo is JSON
    return descent_view.decode(element.proto.bytes)


def _rows(header: dict, run: int, what: str) -> np.ndarray:
    import base64

    ref = header["runs"][run][what]
    flat = np.frombuffer(base64.b64decode(ref["bdata"]), dtype="<f4")
    return flat.reshape([int(n) for n in str(ref.get("shape", len(flat))).split(",")]
                        if "shape" in ref else (len(flat),))


@pytest.mark.parametrize("key", list(LESSONS))
def test_every_lesson_has_the_instant_eta_slider(key):
    """Each lesson's link gets the view's own η slider with every stop of the sidebar's: at once,
    or (a dear mini-batch set) the η on screen first and, when the browser asks after its first
    paint, all 61 stops; never the fallback where each new η reruns the page. The stop on screen
    is the same trajectory in the first message and in the whole set."""
    from streamlit.testing.v1 import AppTest

    from lab.config import LR_OPTIONS
    from lab.runs import AFTER_PAINT, RERUN, lr_set_plan

    config = LESSONS[key].config
    plan = lr_set_plan(config, [c for c in config.runs if c.own_lr is None])
    assert plan != RERUN
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lesson"] = key
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("reruns the page" in c.value for c in at.caption)
    paths = _view_message(at)["paths"]
    index = LR_OPTIONS.index(config.learning_rate)
    assert len(paths["stops"]) == len(LR_OPTIONS) and index in paths["rows"]
    if plan == AFTER_PAINT:
        assert paths["rows"] == [index] and paths["complete"] is False
    first = paths
    if not paths["complete"]:
        at.session_state["descent_view"] = {"full": paths["key"]}  # what the browser asks
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        paths = _view_message(at)["paths"]
    assert paths["complete"] is True and paths["key"] == first["key"]
    assert paths["rows"] == list(range(len(LR_OPTIONS)))
    # the stop on screen: the same weights in the first message as in the whole set
    at_first = first["rows"].index(index)
    for run, whole in enumerate(paths["runs"]):
        if whole["fixed"]:
            continue
        E = config.epochs + 1
        got = _rows(paths, run, "params").reshape(len(paths["rows"]), E, 2)[index]
        was = _rows(first, run, "params").reshape(len(first["rows"]), E, 2)[at_first]
        np.testing.assert_array_equal(got, was)
