"""L-BFGS (stepped run by run) within the one-click budget: the sweep, the race, the basin map and
the η set all count its work by engine.sweep.run_cost, cut what does not fit and say so. Bounded
by counts (gradient evaluations × runs through a counting surface), never by time."""

import numpy as np
import pytest

from engine import optimizers, sweep
from lab import runs
from lab.config import LR_OPTIONS, PRESETS, Config, RunChoice, to_torch_hyper
from lab.lessons import LESSONS
from ui.explore_panels import BASIN_POINTS, basin_caption, cut_note

pytestmark = pytest.mark.filterwarnings("error")
LRS = np.array(LR_OPTIONS)


class Counting:
    """The real surface, with every gradient evaluation counted (one per run evaluated)."""

    def __init__(self, surface):
        self._s, self.evals = surface, 0

    def __getattr__(self, name):
        return getattr(self._s, name)

    def grad_fn(self, w, idx):
        self.evals += 1 if np.ndim(w) == 1 else len(w)
        return self._s.grad_fn(w, idx)


def configs():
    """The two L-BFGS presets on the default page, and the L-BFGS lesson, at their epochs."""
    return [("lbfgs", Config(runs=(RunChoice("lbfgs"), RunChoice("adam")))),
            ("lbfgs_wolfe", Config(runs=(RunChoice("lbfgs_wolfe"), RunChoice("adam")))),
            ("lesson", LESSONS["lbfgs-vs-adam"].config)]


def spec(choice):
    return PRESETS[choice.preset].optimizer, to_torch_hyper(choice.hyper())


def eval_bound(hyper, runs_, epochs):
    """At most max_eval evaluations a step, plus the full-batch gradient at each epoch's end."""
    max_eval = optimizers.create("lbfgs", **hyper).hyper["max_eval"]
    return runs_ * (epochs * (max_eval + 1) + 1)


def test_run_cost_is_the_eta_sets_step_cost_once_the_history_is_full():
    hyper = {}
    per_step = runs.looped_step_cost(RunChoice("lbfgs"))
    assert sweep.run_cost("adam", {}, 500) == 500
    # the history (100 pairs) is full after 101 inner iterations: 6 steps of 20
    assert sweep.run_cost("lbfgs", hyper, 11) - sweep.run_cost("lbfgs", hyper, 10) == per_step
    assert sweep.run_cost("lbfgs", hyper, 1) < per_step
    assert sweep.run_cost("lbfgs", hyper, 500) <= 500 * per_step
    assert sweep.run_cost("lbfgs", {"max_iter": 5, "history_size": 3}, 2) == int(
        1.5 * sum(2 * min(i, 3) + 5 for i in range(10)))


@pytest.mark.parametrize("key,config", configs(), ids=[k for k, _ in configs()])
def test_the_lbfgs_sweep_is_cut_to_the_budget_and_says_so(key, config):
    choice = config.runs[0]
    name, hyper = spec(choice)
    # uncut, the sweep would be far over the budget: that is why it is cut
    assert len(LRS) * sweep.run_cost(name, hyper, config.epochs) > 10 * sweep.EXPLORE_BUDGET
    surface = Counting(config.surface_obj())
    result = sweep.lr_sweep(surface, name, hyper, LRS, start=config.start_point(),
                            epochs=config.epochs, tol=runs.TOLERANCE, budget=sweep.EXPLORE_BUDGET,
                            **runs.sweep_settings(config, choice))
    assert len(result.lrs) * sweep.run_cost(name, hyper, result.epochs) <= sweep.EXPLORE_BUDGET
    assert surface.evals <= eval_bound(hyper, len(result.lrs), result.epochs)
    assert set(result.lrs) <= set(LRS) and result.lrs[0] == LRS[0] and result.lrs[-1] == LRS[-1]
    assert len(result.lrs) == 11 and result.epochs < config.epochs
    note = cut_note(choice.label, result.lrs, result.epochs, LRS, config.epochs)
    assert note.startswith(f"{choice.label}: 11 of the 61 learning rates and {result.epochs} of the "
                           f"{config.epochs} epochs, to keep the page quick")
    # Adam's sweep is not cut, and has no note
    adam = sweep.lr_sweep(config.surface_obj(), "adam", {}, LRS, epochs=config.epochs,
                          budget=sweep.EXPLORE_BUDGET)
    assert len(adam.lrs) == 61 and adam.epochs == config.epochs
    assert cut_note("Adam", adam.lrs, adam.epochs, LRS, config.epochs) is None


@pytest.mark.parametrize("key,config", configs(), ids=[k for k, _ in configs()])
def test_the_race_tunes_lbfgs_on_its_cut_sweep_and_the_others_on_all(key, config):
    specs = [sweep.OptimizerSpec(c.label, *spec(c)) for c in config.runs]
    surface = Counting(config.surface_obj())
    result = sweep.race(surface, specs, start=config.start_point(), epochs=config.epochs,
                        tol=runs.TOLERANCE, lrs=LRS, budget=sweep.EXPLORE_BUDGET)
    lbfgs, adam = result.entries
    assert len(adam.sweep.lrs) == 61 and adam.sweep.epochs == config.epochs
    assert len(lbfgs.sweep.lrs) == 11
    name, hyper = spec(config.runs[0])
    assert len(lbfgs.sweep.lrs) * sweep.run_cost(name, hyper, lbfgs.sweep.epochs) <= sweep.EXPLORE_BUDGET
    assert lbfgs.lr is None or lbfgs.lr in set(lbfgs.sweep.lrs)
    # Adam's 61 runs evaluate once an epoch (plus the end-of-epoch gradient)
    assert surface.evals <= (eval_bound(hyper, 11, lbfgs.sweep.epochs)
                             + 61 * (2 * config.epochs + 1))


@pytest.mark.parametrize("key,config", configs(), ids=[k for k, _ in configs()])
def test_the_lbfgs_basin_map_fits_the_budget_and_the_caption_gives_its_grid(key, config):
    choice = config.runs[0]
    name, hyper = spec(choice)
    epochs = min(config.epochs, 500)
    surface = Counting(config.surface_obj())
    result = sweep.basins(surface, name, hyper, choice.lr(config.learning_rate), grid_n=BASIN_POINTS,
                          epochs=epochs, tol=1e-4)
    n = len(result.xs)
    assert result.label.shape == (n, n)
    assert n * n * sweep.run_cost(name, hyper, result.epochs) <= sweep.EXPLORE_BUDGET
    assert surface.evals <= eval_bound(hyper, n * n, result.epochs)
    plan = sweep.basin_plan(name, hyper, BASIN_POINTS, epochs)
    assert (plan.grid_n, plan.epochs) == (n, result.epochs) and plan.cut
    text = basin_caption([(choice.label, n, result.epochs), ("Adam", BASIN_POINTS, epochs)], epochs)
    assert f"{choice.label}: {n}×{n} starts, {result.epochs} epochs" in text
    assert f"Adam: {BASIN_POINTS}×{BASIN_POINTS} starts, {epochs} epochs" in text
    assert "coarser map" in text and "100×100 starts over the box runs" not in text
    alone = basin_caption([("Adam", BASIN_POINTS, epochs)], epochs)
    assert alone.startswith(f"Each of 100×100 starts over the box runs {epochs} epochs")
    assert "coarser" not in alone


def test_too_much_work_even_cut_is_refused_in_words_not_run():
    config = Config(runs=(RunChoice("lbfgs"),))
    s = Counting(config.surface_obj())
    heavy = {"max_iter": 50, "max_eval": 100, "history_size": 100}
    # a budget below one epoch of the smallest plan: nothing is run
    small = sweep.run_cost("lbfgs", heavy, 1) * 11 - 1
    with pytest.raises(sweep.OverBudget, match="too long"):
        sweep.lr_sweep(s, "lbfgs", heavy, LRS, epochs=100, budget=small)
    with pytest.raises(sweep.OverBudget, match="basin map"):
        sweep.basins(s, "lbfgs", heavy, 0.1, grid_n=100, epochs=100, budget=small // 11)
    assert s.evals == 0
    # in a race the others still run; L-BFGS's row says why it has no rate
    from figures.explore import race_table

    result = sweep.race(s, [("L-BFGS", "lbfgs", heavy), ("Adam", "adam", {})], epochs=100,
                        budget=small)
    lbfgs, adam = result.entries
    assert lbfgs.sweep is None and lbfgs.lr is None and lbfgs.status.startswith("not run:")
    assert adam.lr is not None and len(adam.sweep.lrs) == len(sweep.DEFAULT_LRS)
    assert race_table(result)[0]["status"].startswith("not run:")
    assert 0 < s.evals <= len(sweep.DEFAULT_LRS) * (100 + 1)  # Adam's only: one an epoch


def test_the_eta_set_plan_uses_the_same_rule():
    for key, config in configs():
        lbfgs = config.runs[0]
        assert runs.run_cost(config, lbfgs) == sweep.run_cost(*spec(lbfgs), config.epochs)
        assert runs.lr_set_plan(config, [lbfgs]) == runs.RERUN
    config = Config(runs=(RunChoice("adam"),))
    assert runs.lr_set_plan(config, config.runs) == runs.AHEAD


# --- The page itself (Streamlit's AppTest, the real app): each tab says what it cut. -----------

def _page(query):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def _open(at, name):
    at.session_state["panel"] = name
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_page_says_lbfgs_ran_fewer_learning_rates_and_a_coarser_map():
    at = _page({"opt": "lbfgs_wolfe,adam", "epochs": "100"})
    _open(at, "Learning-rate sweep")
    captions = [c.value for c in at.caption]
    assert any(c.startswith("L-BFGS (Wolfe): 11 of the 61 learning rates") and "quick" in c
               for c in captions), captions
    assert not any(c.startswith("Adam:") for c in captions)
    _open(at, "Basins")
    captions = [c.value for c in at.caption]
    plan = sweep.basin_plan("lbfgs", {"line_search_fn": "strong_wolfe"}, BASIN_POINTS, 100)
    assert any(f"Each of {plan.grid_n}×{plan.grid_n} starts over the box runs {plan.epochs} epochs" in c
               and "coarser map" in c for c in captions), captions
    _open(at, "Fair race")
    captions = [c.value for c in at.caption]
    assert any(c.startswith("L-BFGS (Wolfe): 11 of the 61 learning rates") and "not on equal terms" in c
               for c in captions), captions
    assert list(at.dataframe[-1].value["optimizer"]) == ["L-BFGS (Wolfe)", "Adam"]
