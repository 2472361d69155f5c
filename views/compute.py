"""From a page Config to finished runs: builds optimizers, schedules and clipping, consumes the
engine's generator, and summarizes each run. Plain Python: the page adds caching and progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from engine import schedules
from engine.compare import Summary, summarize
from engine.train import Trajectory, collect, train
from views.state import Config, RunChoice

# The loss within this of the best minimum's loss counts as "reached" in the summary table.
TOLERANCE = 1e-3
# The page's grid resolution: 90×90 float32 is about 43 KB on the wire, sent once for both views.
GRID_POINTS = 90


@dataclass(frozen=True)
class RunResult:
    choice: RunChoice
    trajectory: Trajectory | None  # None when the optimizer could not be built
    summary: Summary | None
    error: str | None = None


def make_schedule(config: Config):
    """The page's schedule choice as an engine schedule, scaled to the run's length."""
    if config.schedule == "constant" and config.warmup == 0:
        return None
    main_epochs = max(1, config.epochs - config.warmup)
    settings = {
        "constant": {},
        "step": {"step_size": max(1, main_epochs // 4), "gamma": 0.5},
        "exponential": {"gamma": 0.01 ** (1.0 / main_epochs)},
        "cosine": {"T_max": main_epochs, "eta_min": 0.0},
    }[config.schedule]
    return schedules.create(config.schedule, warmup=config.warmup, **settings)


def make_clip(config: Config):
    return None if config.clip == "off" else (config.clip, config.clip_limit)


def run_key(config: Config, choice: RunChoice) -> tuple:
    """Everything a run's result depends on: the cache key of one run."""
    return (config.surface_key(), choice, config.learning_rate, config.epochs, config.batch_size,
            config.start_point(), config.seed, config.clip,
            config.clip_limit if config.clip != "off" else None, config.schedule, config.warmup)


def stream_run(config: Config, choice: RunChoice) -> Iterator:
    """The engine's generator for one run of the page (raises ValueError on a bad setting)."""
    surface = config.surface_obj()
    opt = choice.make(config.learning_rate)
    return train(surface, opt, epochs=config.epochs, batch_size=config.batch_size,
                 start=config.start_point(), seed=config.seed, clip=make_clip(config),
                 schedule=make_schedule(config))


def run_one(config: Config, choice: RunChoice,
            on_epoch: Callable[[int], None] | None = None) -> RunResult:
    """Run one optimizer to the end, calling on_epoch(epoch) as records stream in."""
    surface = config.surface_obj()
    try:
        records = []
        for record in stream_run(config, choice):
            records.append(record)
            if on_epoch is not None:
                on_epoch(record.epoch)
    except ValueError as err:
        return RunResult(choice, None, None, f"{choice.label}: {err}")
    trajectory = collect(records)
    summary = summarize(trajectory, surface.minima, surface.minimum_loss, TOLERANCE)
    return RunResult(choice, trajectory, summary)


def divergence_message(config: Config, result: RunResult, short: bool = False) -> str | None:
    """Words for a diverged run: which optimizer, when, and the likely cause, read from how
    the loss behaved: undefined (a gap in the function), falling without end (no minimum that
    way), or growing (the learning rate is too large for the curvature)."""
    t = result.trajectory
    if t is None or t.diverged_epoch is None:
        return None
    label, epoch = result.choice.label, t.diverged_epoch
    finite = t.loss[np.isfinite(t.loss)]
    last_params_finite = bool(np.all(np.isfinite(t.params[-1])))
    if np.isnan(t.loss[-1]) and last_params_finite:
        cause = ("its weights reached a point where the function is not defined (a gap in the "
                 "surface, such as the log of a negative number).")
        advice = "Start elsewhere, or choose a box where the function is defined."
    elif finite.size >= 2 and finite[-1] < finite[0]:
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
    return (f"{result.choice.label} ended outside the plotted box, at ({w1:.3g}, {w2:.3g}); its "
            f"last dots are off the map.")


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
