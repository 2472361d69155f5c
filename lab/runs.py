"""From a page Config to finished runs, in both modes: builds optimizers, schedules and clipping,
consumes the engine's generator, and summarizes each run (a network run also gets its landscape
slice and decision-boundary frames). Plain Python: the page adds caching and progress."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable, Iterator

import numpy as np

from engine import landscape, muon_network, schedules
from engine.compare import Summary, summarize
from engine.network import MLP
from engine.train import Step, Trajectory, collect, trace, train
from lab.config import (PRESETS, Config, RunChoice, clip_parts, is_uploaded, network_data,
                        network_layers, network_test_data)

# The loss within this of the best minimum's loss counts as "reached" in the summary table.
TOLERANCE = 1e-3
# The page's grid resolution: 90×90 float32 is about 43 KB on the wire, sent once for both views.
GRID_POINTS = 90
LANDSCAPE_POINTS = 41
BOUNDARY_POINTS = 48
MAX_FRAMES = 40


@dataclass(frozen=True)
class RunResult:
    choice: RunChoice
    trajectory: Trajectory | None  # None when the optimizer could not be built
    summary: Summary | None
    error: str | None = None
    # With mini-batches: the weights after every optimizer step (m, 2) and the loss there (m,),
    # for the small dots between the epoch dots; None on the full batch or for a very long run.
    steps: np.ndarray | None = None
    step_loss: np.ndarray | None = None
    # ASGD's averaged weights ax at every epoch (the dashed path) and the loss there; L-BFGS's
    # probes, every point it evaluated the loss at, and that (mini-batch) loss; else None.
    averaged: np.ndarray | None = None
    averaged_loss: np.ndarray | None = None
    probes: np.ndarray | None = None
    probe_loss: np.ndarray | None = None


# Mini-batch step dots are kept up to this many per run (the wire carries them as float32).
MAX_STEP_DOTS = 20000


def make_schedule(config: Config, choice: RunChoice | None = None):
    """The schedule of a run (its own, or the page's) as an engine schedule, scaled to the run's
    length."""
    name = choice.schedule if choice is not None and choice.schedule is not None else config.schedule
    if name == "constant" and config.warmup == 0:
        return None
    main_epochs = max(1, config.epochs - config.warmup)
    settings = {
        "constant": {},
        "step": {"step_size": max(1, main_epochs // 4), "gamma": 0.5},
        "exponential": {"gamma": 0.01 ** (1.0 / main_epochs)},
        "cosine": {"T_max": main_epochs, "eta_min": 0.0},
    }[name]
    return schedules.create(name, warmup=config.warmup, **settings)


def make_clip(config: Config, choice: RunChoice | None = None):
    """A run's clipping (its own, or the page's) as the engine takes it: None or (kind, limit)."""
    if choice is not None and choice.clip is not None:
        kind, limit = clip_parts(choice.clip)
        return None if kind == "off" else (kind, limit)
    return None if config.clip == "off" else (config.clip, config.clip_limit)


def batch_size(config: Config, choice: RunChoice | None = None) -> int | None:
    """A run's batch size (its own, or the page's): None for the full batch."""
    if choice is not None and choice.batch is not None:
        return None if choice.batch == 0 else choice.batch
    return config.batch_size


_DIGESTS: dict[str, tuple[object, str]] = {}  # an uploaded surface's name → (its data, digest)


def surface_key(config: Config) -> tuple:
    """What identifies the config's surface in a cache key: its name, a typed surface's text and
    box, and an uploaded surface's content (a hash of the rows it is made of and its model), so
    that results cached for one session's data are never handed to another's (the page's cache
    is shared by every session of the server)."""
    key = config.surface_key()
    if not is_uploaded(config.surface):
        return key
    try:
        surface = config.surface_obj()
    except KeyError:  # not held by this process: nothing can be trained on it either
        return key + (None,)
    data = getattr(surface, "data", None)
    memo = _DIGESTS.get(config.surface)
    if memo is None or memo[0] is not data:
        digest = hashlib.sha256(getattr(getattr(surface, "model", None), "name", "").encode())
        for column in data or ():
            digest.update(np.ascontiguousarray(column, dtype=np.float64).tobytes() + b"\x1f")
        memo = _DIGESTS[config.surface] = (data, digest.hexdigest())
        while len(_DIGESTS) > 64:
            _DIGESTS.pop(next(iter(_DIGESTS)))
    return key + (memo[1],)


def run_key(config: Config, choice: RunChoice | None = None) -> tuple:
    """Everything a result depends on: the cache key of one surface run (`choice`), or of a whole
    network-mode result (no choice: every run, the data set and the layers)."""
    training = (config.learning_rate, config.epochs, config.batch_size, config.seed, config.clip,
                config.clip_limit if config.clip != "off" else None, config.schedule, config.warmup)
    if choice is None:
        return ("network", config.dataset, config.hidden, config.activation, config.runs,
                config.test_share) + training
    return (surface_key(config), choice, config.start_point()) + training


AHEAD, AFTER_PAINT, RERUN = "ahead", "after-paint", "rerun"


# L-BFGS steps its runs one at a time in Python (a line search cannot be shared by runs): one
# inner iteration walks its (s, y) history twice, about 3 µs a pair, where a vectorized step costs
# about 2 µs per run. So one L-BFGS step counts as max_iter·(2·history_size + 5)·1.5 steps×runs
# (an upper bound: 6,150 at torch's defaults; measured, 61 runs × 100 epochs on Rosenbrock took
# 30-60 s without a line search and 5-6 s with strong Wolfe, on 2 cores shared with other jobs,
# load average 10-12, against 0.015 s for Adam). Its η set is then rerun, not ahead. The rule
# itself is engine.sweep.run_cost's, which the sweep, race and basin map budget by too.
from engine.sweep import LOOPED_PAIR_COST  # noqa: E402


def looped_step_cost(choice: RunChoice) -> int:
    """What one optimizer step of this run costs in the η-set budget's units (steps × runs): 1
    for the vectorized rules, the L-BFGS bound above for L-BFGS."""
    from engine import optimizers

    if PRESETS[choice.preset].optimizer not in optimizers.LOOPED:
        return 1
    hyper = choice.hyper()
    return int(LOOPED_PAIR_COST * int(hyper["max_iter"]) * (2 * int(hyper["history_size"]) + 5))


def run_cost(config: Config, choice: RunChoice, epochs: int | None = None) -> int:
    """engine.sweep.run_cost of one run of this choice for `epochs` (the page's by default):
    its optimizer steps, or L-BFGS's bound on its inner iterations' work."""
    from engine import sweep
    from lab.config import to_torch_hyper

    size = batch_size(config, choice)
    steps = 1 if size is None else -(-config.surface_obj().n_samples // size)
    return sweep.run_cost(PRESETS[choice.preset].optimizer, to_torch_hyper(choice.hyper()),
                          (config.epochs if epochs is None else epochs) * steps)


def lr_set_plan(config: Config, choices) -> str:
    """How the view's η set is made for the runs `choices` that follow the shared η, by the work
    it takes (engine.sweep.lr_set_cost, counted in steps, not timed): AHEAD, every stop before the
    first paint; AFTER_PAINT, the η on screen first (the runs already trained) and the other
    stops when the browser, having drawn, asks for them; RERUN, too much work, so each new η
    reruns the page. A data surface's end-of-epoch pass over its samples counts too."""
    from engine import sweep

    choices = list(choices)
    if not choices:
        return RERUN
    surface = config.surface_obj()
    samples = surface.n_samples if surface.kind == "data" else 0
    # each run's own steps (run_cost: L-BFGS counted by its inner iterations), at every stop,
    # plus a data surface's end-of-epoch pass over its samples
    cost = sum(len(sweep.DEFAULT_LRS) * run_cost(config, c)
               + sweep.lr_batch_cost(1, config.epochs, 0, data_samples=samples) for c in choices)
    if cost <= sweep.LR_BATCH_BUDGET:
        return AHEAD
    return AFTER_PAINT if cost <= sweep.LR_SET_LATER_BUDGET else RERUN


def stream_run(config: Config, choice: RunChoice, model=None, start=None,
               with_steps: bool = False) -> Iterator:
    """The engine's generator for one run of the page (raises ValueError on a bad setting), on
    the config's surface or on `model` (a network) from `start`; `with_steps` also yields every
    optimizer step (engine.train.trace)."""
    if model is None:
        model, start = config.surface_obj(), config.start_point()
    # on a network, Muon is the recipe: Muon on the hidden weight matrices, AdamW on the rest
    opt = muon_network.for_model(choice.make(config.learning_rate), model)
    return (trace if with_steps else train)(
        model, opt, epochs=config.epochs, batch_size=batch_size(config, choice), start=start,
        seed=config.seed, clip=make_clip(config, choice), schedule=make_schedule(config, choice))


def _collect_run(records: Iterator, on_epoch: Callable | None, steps: list | None = None,
                 kept: list | None = None) -> Trajectory:
    """The run's epoch records as a Trajectory; with `steps`, the weights after each optimizer
    step are appended to it; `kept` receives the records themselves."""
    kept = [] if kept is None else kept
    for record in records:
        if isinstance(record, Step):
            if steps is not None:
                steps.append(record.new_params)
            continue
        kept.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return collect(kept)


def run_one(config: Config, choice: RunChoice,
            on_epoch: Callable[[int], None] | None = None) -> RunResult:
    """Run one optimizer to the end, calling on_epoch(epoch) as records stream in. With
    mini-batches the weights after every step are kept too, for the step dots."""
    surface = config.surface_obj()
    batch = batch_size(config, choice)
    n_steps = 0 if batch is None else config.epochs * -(-surface.n_samples // batch)
    steps: list | None = [] if 0 < n_steps <= MAX_STEP_DOTS else None
    records: list = []
    try:
        trajectory = _collect_run(stream_run(config, choice, with_steps=steps is not None),
                                  on_epoch and (lambda record: on_epoch(record.epoch)), steps, records)
    except ValueError as err:
        return RunResult(choice, None, None, f"{choice.label}: {err}")
    summary = summarize(trajectory, surface.minima, surface.minimum_loss, TOLERANCE)
    extras = _extras(surface, records)
    if not steps:
        return RunResult(choice, trajectory, summary, **extras)
    positions = np.stack(steps)
    with np.errstate(all="ignore"):
        step_loss = np.asarray(surface.loss(positions), dtype=np.float64)
    return RunResult(choice, trajectory, summary, steps=positions, step_loss=step_loss, **extras)


def _extras(surface, records) -> dict:
    """ASGD's averaged path and L-BFGS's probes from a run's records (empty for the others);
    probes up to MAX_STEP_DOTS, like the step dots."""
    out = {}
    if records and records[0].averaged is not None:
        averaged = np.stack([r.averaged for r in records])
        with np.errstate(all="ignore"):
            out.update(averaged=averaged, averaged_loss=np.asarray(surface.loss(averaged), dtype=np.float64))
    probes = [r for r in records if r.probes is not None]
    if probes:
        points = np.concatenate([r.probes for r in probes])[:MAX_STEP_DOTS]
        out.update(probes=points, probe_loss=np.concatenate([r.probe_loss for r in probes])[:MAX_STEP_DOTS])
    return out


def sweep_settings(config: Config, choice: RunChoice | None = None) -> dict:
    """A run's training settings (its own or the page's batch size, clipping and schedule, and
    the seed) as keywords of engine.sweep's lr_sweep, basins and race, so that a sweep trains
    exactly as the views do."""
    return {"batch_size": batch_size(config, choice), "seed": config.seed,
            "clip": make_clip(config, choice), "schedule": make_schedule(config, choice)}


def starting_lr(config: Config, choice: RunChoice) -> float | None:
    """The learning rate an optimizer gets when it is added to the page, so that comparing works
    by default. The rule: keep the shared η (None) unless this optimizer diverges with it from
    this start within the epochs, trained exactly as the views train it, because η is too large
    (a run that falls off a surface with no minimum keeps it: that is the surface). Otherwise
    take the fair race's tuned η among the slider's stops below the shared one (one vectorized
    sweep over those stops; engine.sweep.race_rule says how it picks), confirmed by a run as the
    views train it, else the largest surviving stop. None when every stop diverges: the page then
    shows the divergence and says why."""
    from engine import sweep
    from lab.config import LR_OPTIONS, PRESETS, to_torch_hyper

    shared = choice.lr(config.learning_rate)
    first = run_one(config, choice)
    if first.trajectory is None or divergence_cause(first.trajectory) != "lr":
        return None
    stops = np.array([lr for lr in LR_OPTIONS if lr < shared])
    if not len(stops):
        return None
    try:
        # within the page's one-click budget: L-BFGS's sweep runs fewer stops or epochs
        result = sweep.lr_sweep(config.surface_obj(), PRESETS[choice.preset].optimizer,
                                to_torch_hyper(choice.hyper()), stops, start=config.start_point(),
                                epochs=config.epochs, tol=TOLERANCE, budget=sweep.EXPLORE_BUDGET,
                                **sweep_settings(config, choice))
    except ValueError:
        return None
    tuned = sweep.tuned_index(result)
    survivors = sorted((float(lr) for lr, status in zip(result.lrs, result.status)
                        if status != "diverged"), reverse=True)
    candidates = ([float(result.lrs[tuned])] if tuned is not None else []) + survivors[:3]
    for lr in candidates:  # the sweep may train differently (full batch): confirm as the views do
        own = replace(choice, changes=tuple(sorted({**dict(choice.changes), "lr": lr}.items())))
        t = run_one(config, own).trajectory
        if t is not None and t.diverged_epoch is None:
            return lr
    return None


def divergence_cause(t: Trajectory) -> str | None:
    """Why a run diverged, read from how its loss behaved: "gap" (it reached a point where the
    function is undefined), "downhill" (the loss fell without end: no minimum that way), "lr"
    (the loss grew: the learning rate is too large for the curvature); None if it did not."""
    if t.diverged_epoch is None:
        return None
    finite = t.loss[np.isfinite(t.loss)]
    if np.isnan(t.loss[-1]) and bool(np.all(np.isfinite(t.params[-1]))):
        return "gap"
    if finite.size >= 2 and finite[-1] < finite[0]:
        return "downhill"
    return "lr"


def divergence_message(config: Config, result: RunResult, short: bool = False) -> str | None:
    """Words for a diverged run: which optimizer, when, and the likely cause, read from how
    the loss behaved: undefined (a gap in the function), falling without end (no minimum that
    way), or growing (the learning rate is too large for the curvature)."""
    t = result.trajectory
    if t is None or t.diverged_epoch is None:
        return None
    label, epoch = result.choice.label, t.diverged_epoch
    cause_kind = divergence_cause(t)
    if cause_kind == "gap":
        cause = ("its weights reached a point where the function is not defined (a gap in the "
                 "surface, such as the log of a negative number).")
        advice = "Start elsewhere, or choose a box where the function is defined."
    elif cause_kind == "downhill":
        cause = ("it kept going downhill out of the picture: this surface has no minimum in that "
                 "direction, so the loss falls without end.")
        advice = "That is the surface, not the optimizer: there is nothing to converge to."
    else:
        lr = result.choice.lr(config.learning_rate)
        cause = (f"the learning rate η = {lr:g} is too large for this surface's curvature, so each "
                 f"step overshoots the valley and lands higher up the other side.")
        advice = "Try a smaller learning rate, or turn on gradient clipping."
    if short:
        return f"**{label} diverged at epoch {epoch}:** {cause}"
    return (f"**{label} diverged at epoch {epoch}.** Its weights ran off far outside the plotted "
            f"box, or stopped being numbers. The likely cause: {cause} {advice}")


def outside_message(result: RunResult, bounds) -> str | None:
    """A note for a run that ended outside the plotted box without diverging."""
    t = result.trajectory
    if t is None or t.diverged_epoch is not None:
        return None
    (x0, x1), (y0, y1) = bounds
    w1, w2 = t.params[-1]
    if x0 <= w1 <= x1 and y0 <= w2 <= y1:
        return None
    # Shown above the views before playback gets there, so it says when, in the future tense of
    # the run, not "ended": at epoch 0 the dot is still on the map.
    p = np.asarray(t.params)
    inside = (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)
    leaves = int(np.argmax(~inside))
    return (f"{result.choice.label} leaves the plotted box at epoch {leaves} and ends at "
            f"({w1:.3g}, {w2:.3g}): from epoch {leaves} on, its dots are off the map.")


def summary_rows(results: list[RunResult]) -> list[dict]:
    """The summary table: one row per run that could be built."""
    rows = []
    for result in results:
        s = result.summary
        if s is None:
            continue
        rows.append({
            "optimizer": result.choice.label,
            "final loss": _num(s.final_loss),
            "best loss": _num(s.best_loss),
            f"epoch within {TOLERANCE:g} of the minimum":
                "not reached" if s.epochs_to_tolerance is None else str(s.epochs_to_tolerance),
            "diverged at epoch": "—" if s.diverged_epoch is None else str(s.diverged_epoch),
            "distance to nearest minimum": _num(s.distance_to_minimum),
            "status": s.status,
        })
    return rows


def _num(value: float) -> str:
    return f"{value:.4g}" if np.isfinite(value) else "—"


# --- Network mode -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NetRun:
    choice: RunChoice
    trajectory: Trajectory | None
    accuracy: float | None  # training accuracy at the last epoch (classification)
    error: str | None = None
    # Per epoch (one value per trajectory row): the training accuracy, and the loss and accuracy
    # on the held-out samples, never trained on. None where there is none (regression has no
    # accuracy; a held-out share of 0 has no held-out set).
    accuracy_curve: np.ndarray | None = None
    test_loss: np.ndarray | None = None
    test_accuracy: np.ndarray | None = None


@dataclass(frozen=True)
class NetworkResult:
    layers: list[int]
    task: str
    runs: list[NetRun]
    plane: landscape.Plane | None
    alphas: np.ndarray | None
    betas: np.ndarray | None
    Z: np.ndarray | None
    reports: list  # landscape.Honesty per run (None for a run that did not train)
    boundary: dict | None  # frames of the first run's decision boundary or fitted curve
    error: str | None = None


def build_mlp(config: Config) -> MLP:
    """The network of this config (ValueError with a message for bad layer sizes)."""
    (X, y), info = network_data(config)
    return MLP(network_layers(config), activation=config.activation, task=info.task, data=(X, y),
               seed=config.seed)


def network_result(config: Config, on_epoch: Callable[[str, int, float], None] | None = None) -> NetworkResult:
    """Train every chosen optimizer from the same initial weights, then slice the landscape."""
    (X, y), info = network_data(config)
    try:
        mlp = build_mlp(config)
    except ValueError as err:
        return NetworkResult([], info.task, [], None, None, None, None, [], None, str(err))
    held_out = network_test_data(config)
    runs = []
    for choice in config.runs:
        report = on_epoch and (lambda record, label=choice.label: on_epoch(label, record.epoch, record.loss))
        try:
            trajectory = _collect_run(stream_run(config, choice, mlp, mlp.start), report)
        except ValueError as err:
            runs.append(NetRun(choice, None, None, f"{choice.label}: {err}"))
            continue
        accuracy = None
        if info.task == "classification" and np.all(np.isfinite(trajectory.params[-1])):
            accuracy = float(mlp.accuracy(trajectory.params[-1]))
        runs.append(NetRun(choice, trajectory, accuracy, None,
                           *_per_epoch_scores(mlp, info.task, trajectory, held_out)))
    trained = [r for r in runs if r.trajectory is not None]
    if not trained:
        return NetworkResult(list(mlp.layers), info.task, runs, None, None, None, None, [], None)
    clean = [landscape.before_divergence(r.trajectory) for r in trained]
    plane = landscape.pca_plane(clean, seed=config.seed)
    loss_many = partial(mlp.loss_many, dtype=np.float32)  # the picture; honesty stays float64
    coords = np.concatenate([landscape.project(plane, c) for c in clean])
    alphas, betas = landscape.axis_range(coords, n=LANDSCAPE_POINTS)
    Z = landscape.loss_grid(loss_many, plane, alphas, betas)
    reports = []
    for run in runs:
        if run.trajectory is None:
            reports.append(None)
            continue
        kept = landscape.before_divergence(run.trajectory)
        reports.append(landscape.honesty(mlp.loss_many, plane, kept,
                                         true_loss=run.trajectory.loss[:len(kept)]))
    boundary = _boundary_frames(mlp, info.task, X, y, landscape.before_divergence(trained[0].trajectory))
    return NetworkResult(list(mlp.layers), info.task, runs, plane, alphas, betas, Z, reports, boundary)


REGRESSION_WORD = "— (regression)"  # accuracy on a regression task: there is none
NO_HELD_OUT_WORD = "— (none held out)"


def _last_finite(values) -> float:
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else float("nan")


def network_summary_rows(result: NetworkResult) -> list[dict]:
    """The network mode's table: one row per trained run, every cell text (a word where a
    number does not apply: no accuracy for regression, no held-out column without a held-out
    set). Values are the last epoch's (before a divergence, the last finite one)."""
    rows = []
    regression = result.task != "classification"
    for run, report in zip(result.runs, result.reports):
        t = run.trajectory
        if t is None:
            continue

        def accuracy(values):
            if regression:
                return REGRESSION_WORD
            if values is None:
                return NO_HELD_OUT_WORD
            last = _last_finite(values)
            return f"{last:.1%}" if np.isfinite(last) else "—"

        gap = np.abs(report.plane_loss - report.true_loss) if report is not None else np.array([np.nan])
        rows.append({
            "optimizer": run.choice.label,
            "training loss": _num(_last_finite(t.loss)),
            "held-out loss": NO_HELD_OUT_WORD if run.test_loss is None else _num(_last_finite(run.test_loss)),
            "training accuracy": accuracy(run.accuracy_curve if not regression else None),
            "held-out accuracy": accuracy(run.test_accuracy),
            "movement in the slice": "—" if report is None else f"{report.explained:.0%}",
            "largest gap, true vs slice loss": _num(float(np.nanmax(gap))) if np.any(np.isfinite(gap)) else "—",
            "diverged at epoch": "—" if t.diverged_epoch is None else str(t.diverged_epoch),
        })
    return rows


def _per_epoch_scores(mlp: MLP, task: str, trajectory: Trajectory, held_out) -> tuple:
    """(training accuracy, held-out loss, held-out accuracy) at every epoch's weights; NaN where
    the weights are not finite (after a divergence)."""
    params = trajectory.params
    finite = np.all(np.isfinite(params), axis=1)
    safe = np.where(finite[:, None], params, 0.0)

    def masked(values):
        return None if values is None else np.where(finite, values, np.nan)

    with np.errstate(all="ignore"):
        train_acc = masked(mlp.accuracy(safe)) if task == "classification" else None
        if held_out is None:
            return train_acc, None, None
        test_loss, test_acc = mlp.held_out(safe, held_out)
    return train_acc, masked(test_loss), masked(test_acc)


def _frame_epochs(n_epochs: int) -> np.ndarray:
    """Up to MAX_FRAMES epochs, evenly spread, the first and the last included."""
    count = min(MAX_FRAMES, n_epochs)
    return np.unique(np.round(np.linspace(0, n_epochs - 1, count)).astype(int))


def _boundary_frames(mlp: MLP, task: str, X, y, params: np.ndarray) -> dict:
    epochs = _frame_epochs(len(params))
    weights = params[epochs]
    if task == "classification":
        lo, hi = X.min(axis=0) - 0.4, X.max(axis=0) + 0.4
        xs = np.linspace(lo[0], hi[0], BOUNDARY_POINTS)
        ys = np.linspace(lo[1], hi[1], BOUNDARY_POINTS)
        gx, gy = np.meshgrid(xs, ys, indexing="xy")
        points = np.column_stack([gx.ravel(), gy.ravel()])
        proba = np.stack([mlp.predict_proba(w, points) for w in weights])  # (K, m, C)
        if proba.shape[-1] == 2:
            value = proba[..., 1]  # p(class 1): 0.5 is the boundary
        else:
            value = proba.argmax(axis=-1) / (proba.shape[-1] - 1)
        with np.errstate(invalid="ignore"):
            frames = np.nan_to_num(np.round(value * 255)).astype(np.uint8)
        return {"kind": "classes", "xs": xs, "ys": ys, "epochs": epochs,
                "frames": frames.reshape(len(epochs), BOUNDARY_POINTS, BOUNDARY_POINTS),
                "classes": int(proba.shape[-1])}
    xs = np.linspace(X[:, 0].min(), X[:, 0].max(), 120)
    with np.errstate(all="ignore"):
        curves = np.stack([mlp.predict(w, xs[:, None]) for w in weights])
    return {"kind": "curve", "xs": xs, "epochs": epochs, "frames": curves.astype(np.float32)}


