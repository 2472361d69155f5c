"""Many runs at once: a learning-rate sweep (its summary, or every trajectory), basins of
attraction, a fair race, and the stability limit 2/λ_max.

Every function here runs its k trajectories as one (k, 2) batch through the stepping code of
``engine.train`` (``step_epoch``, ``epoch_status``), so with the same batch size, seed, clipping
and schedule the rules are those of ``engine.train``: record 0 is the start; each epoch takes the
same seeded mini-batches for every run; a run has diverged when a value is non-finite, the loss
exceeds 1e100, or the weights leave a box 100 widths around the surface's bounds; it has
converged when the full-batch gradient norm falls below 1e-8. A run that stops is taken out of
the batch, so each row follows exactly the trajectory that ``engine.train`` gives it alone (the
tests check this number for number).
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np

from engine import optimizers
from engine.curvature import curvature
from engine.train import (CONVERGED, DIVERGED, FINISHED, check_batch_size, epoch_batches,
                          epoch_status, far_limits, make_clip, scheduled_lr, step_epoch)

# 61 log-spaced learning rates from 1e-4 to 10: 12 per decade, so 1e-3, 1e-2, … are on it.
DEFAULT_LRS = np.logspace(-4, 1, 61)
DEFAULT_TOL = 1e-6
TIE_RTOL = 1e-9

# The largest lr_batch_cost (optimizer steps × runs) that the page computes ahead instead of
# rerunning on each change of η: 150,000 = about 2,500 vectorized steps of 61 runs. A full-batch
# Adam step of 61 runs on Rosenbrock took 65-75 µs here on idle cores and 110-200 µs while other
# jobs shared the 2 cores (a mini-batch step 75-85 µs idle), so a batch that fits takes about
# 300 ms or less at ~120 µs a step (make bench: lr_stops.step_of_61_runs_us).
LR_BATCH_BUDGET = 150_000
# Above LR_BATCH_BUDGET and up to this, the page draws the η on screen first and computes the
# other stops once the browser has drawn it (it asks for them): the mini-batch lessons (2 runs ×
# 61 stops × 100-200 epochs × 16-32 steps) are 0.2-0.9 M; beyond it each new η reruns the page.
LR_SET_LATER_BUDGET = 1_500_000
# L-BFGS steps each run alone (about 0.1-20 ms a run-epoch against 2 µs vectorized): its basin
# map has at most this many starts a side (a 20×20 map of 60 epochs took 2-35 s here, under load).
LOOPED_BASIN_GRID = 20
# What one click on the page (a sweep, a race, a basin map) may cost, in the units of
# lr_batch_cost (a vectorized optimizer step of one run, ~2 µs idle): a few seconds at most, the
# η set's after-paint budget. Only the looped families (optimizers.LOOPED) can exceed it at the
# page's settings; their computations are cut to fit (sweep_plan, basin_plan) and the page says so.
EXPLORE_BUDGET = 1_500_000
# One L-BFGS inner iteration walks its (s, y) history twice, about 3 µs a pair, where a
# vectorized step costs about 2 µs a run: an iteration with h pairs counts (2·h + 5)·1.5 units.
LOOPED_PAIR_COST = 1.5
# A looped sweep over too many stops keeps every k-th stop, k from these (6 keeps 11 of 61:
# two a decade); its epochs are cut only when even that does not fit.
SWEEP_STRIDES = (1, 2, 3, 4, 5, 6)
# A looped basin map keeps the largest of these grids that runs at least MIN_BASIN_EPOCHS.
BASIN_GRIDS = (20, 16, 12, 10, 8)
MIN_BASIN_EPOCHS = 2
# A data surface's full-batch loss and gradient of 61 runs cost about one step per this many
# samples (logistic regression, the dearest model here: a full-batch epoch on its 64 samples
# took 6 times a Rosenbrock epoch).
SAMPLES_PER_STEP = 12

# Labels of a basin map besides the index of a known minimum.
NOT_CONVERGED, DIVERGED_LABEL, ELSEWHERE = -1, -2, -3


class SweepResult(NamedTuple):
    """One optimizer over k learning rates, from one start, for the same epoch budget."""

    optimizer: str
    hyper: dict  # every hyperparameter but lr
    lrs: np.ndarray  # (k,)
    final_loss: np.ndarray  # (k,) the loss of each run's last record (nan/inf if it diverged there)
    best_loss: np.ndarray  # (k,) the lowest finite loss of each run
    epochs_to_tol: np.ndarray  # (k,) int: first epoch with loss − minimum_loss ≤ tol, or -1
    diverged_epoch: np.ndarray  # (k,) int, or -1
    stop_epoch: np.ndarray  # (k,) int: the epoch of each run's last record
    status: np.ndarray  # (k,) str: converged, diverged or finished
    final_params: np.ndarray  # (k, 2)
    epochs: int
    tol: float
    minimum_loss: float


class LrTrajectories(NamedTuple):
    """One optimizer over k learning rates from one start, epoch by epoch (see lr_trajectories)."""

    optimizer: str
    hyper: dict  # every hyperparameter but lr
    lrs: np.ndarray  # (k,)
    params: np.ndarray  # (k, epochs+1, 2) float64: row e is the weights after epoch e (0: start)
    loss: np.ndarray  # (k, epochs+1) full-batch loss at those weights
    status: np.ndarray  # (k,) str: converged, diverged or finished
    diverged_epoch: np.ndarray  # (k,) int, or -1
    stop_epoch: np.ndarray  # (k,) int: each run's last row; the rows after it are NaN
    epochs: int


class BasinResult(NamedTuple):
    """Where runs from every start of an n×n grid end. Arrays are indexed [i, j] for the start
    (xs[j], ys[i]), Plotly's z[row = y][col = x] layout."""

    xs: np.ndarray  # (n,)
    ys: np.ndarray  # (n,)
    label: np.ndarray  # (n, n) int: index into minima, or -1 not converged, -2 diverged,
    #                    -3 stopped elsewhere (gradient ~0 away from every known minimum)
    end: np.ndarray  # (n, n, 2) last weights (non-finite for some diverged runs)
    epochs_taken: np.ndarray  # (n, n) int: see basins()
    minima: np.ndarray  # (m, 2)
    optimizer: str
    lr: float
    epochs: int
    tol: float


class RaceEntry(NamedTuple):
    label: str
    optimizer: str
    hyper: dict
    lr: float | None  # the tuned learning rate; None when every rate diverged
    final_loss: float
    best_loss: float
    epochs_to_tol: int | None
    status: str
    sweep: SweepResult | None  # None: not run (OverBudget, its status says why)


class RaceResult(NamedTuple):
    entries: list  # [RaceEntry], in the order given
    rule: str  # the tuning rule in plain words
    lrs: np.ndarray
    epochs: int
    tol: float
    start: np.ndarray


class OptimizerSpec(NamedTuple):
    """An optimizer to race: a label for the table, the torch name and the hyperparameters other
    than lr (an ``optimizers.Optimizer`` is accepted as well: its name labels it)."""

    label: str
    name: str
    hyper: dict


# --------------------------------------------------------------------------- the batch runner


def _take(state, keep: np.ndarray, k: int):
    """The optimizer state of the runs `keep` only (fields with a leading axis of k runs)."""
    return state._replace(**{
        name: value[keep] for name, value in state._asdict().items()
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == k})


class _Batch(NamedTuple):
    final_loss: np.ndarray
    best_loss: np.ndarray
    epochs_to_tol: np.ndarray
    diverged_epoch: np.ndarray
    stop_epoch: np.ndarray
    status: np.ndarray
    final_params: np.ndarray
    final_grad_norm: np.ndarray
    settled_epoch: np.ndarray  # first epoch from which the run stayed near its final minimum
    params: np.ndarray | None  # (k, epochs+1, 2) when recorded, NaN after a run stopped
    loss: np.ndarray | None  # (k, epochs+1) likewise


class _Training(NamedTuple):
    """How every run of a batch trains, as engine.train's arguments of the same names."""

    batch_size: int | None = None
    seed: int = 0
    clip: object = None  # the clipping function of engine.train.make_clip, or None
    schedule: object = None


def _training(surface, batch_size, seed, clip, schedule) -> _Training:
    return _Training(check_batch_size(surface, batch_size), seed, make_clip(clip), schedule)


def _run_batch(surface, opt, starts: np.ndarray, lr, epochs: int, tol: float,
               training: _Training = _Training(), minima: np.ndarray | None = None,
               radius: np.ndarray | None = None, record: bool = False) -> _Batch:
    """Run k trajectories together through engine.train.step_epoch, as engine.train runs each:
    the same seeded mini-batches for all, the same clipping, schedule and stopping rules. `lr`
    is one base rate for all runs (a float) or one per run, (k,).

    With `minima` and `radius`, also track for each run the minimum it is near (within that
    minimum's radius) and since which epoch, for the basin map. With `record`, keep every
    epoch's weights and loss.

    Per-run results live in arrays that shrink with the batch (`b_*`); a run's values are written
    out to the (k,) results when it stops and at the end."""
    params = np.array(starts, dtype=np.float64).reshape(-1, 2)
    k = len(params)
    limits = far_limits(surface)
    loss_fn, grad_fn = surface.loss_fn, surface.grad_fn
    n = int(surface.n_samples)
    rng = np.random.default_rng(training.seed)
    minimum_loss = float(surface.minimum_loss)
    track_tol = math.isfinite(minimum_loss)
    tracking = minima is not None and len(minima) > 0

    out = _Batch(
        final_loss=np.full(k, np.nan), best_loss=np.full(k, np.nan),
        epochs_to_tol=np.full(k, -1, dtype=np.int64), diverged_epoch=np.full(k, -1, dtype=np.int64),
        stop_epoch=np.full(k, epochs, dtype=np.int64), status=np.full(k, FINISHED, dtype=object),
        final_params=np.full((k, 2), np.nan), final_grad_norm=np.full(k, np.nan),
        settled_epoch=np.zeros(k, dtype=np.int64),
        params=np.full((k, epochs + 1, 2), np.nan) if record else None,
        loss=np.full((k, epochs + 1), np.nan) if record else None)

    rows = np.arange(k)  # which original run each batch row is
    base_lr = (float(lr) if np.ndim(lr) == 0
               else np.array(lr, dtype=np.float64).reshape(-1, 1))  # a column: one rate per run
    with np.errstate(all="ignore"):
        state = opt.init(params)
        loss = loss_fn(params, None)
        grad = grad_fn(params, None)
        gnorm = np.sqrt(grad[:, 0] * grad[:, 0] + grad[:, 1] * grad[:, 1])
        if record:
            out.params[:, 0], out.loss[:, 0] = params, loss
        finite = np.isfinite(loss)
        b_best = np.where(finite, loss, np.inf)
        b_reached = np.where(finite & (loss - minimum_loss <= tol), 0, -1) if track_tol else None
        b_near = _nearest_within(params, minima, radius) if tracking else None
        b_since = np.zeros(k, dtype=np.int64)

        def write(sel):
            """Copy the batch rows `sel` (an index array) out to the results."""
            r = rows[sel]
            out.final_loss[r] = loss[sel]
            out.final_params[r] = params[sel]
            out.final_grad_norm[r] = gnorm[sel]
            out.best_loss[r] = b_best[sel]
            if track_tol:
                out.epochs_to_tol[r] = b_reached[sel]
            out.settled_epoch[r] = b_since[sel]

        for epoch in range(1, epochs + 1):
            end = step_epoch(loss_fn, grad_fn, opt, params, state, grad,
                             scheduled_lr(training.schedule, epoch - 1, base_lr),
                             epoch_batches(rng, n, training.batch_size), training.clip, limits,
                             hess_fn=getattr(surface, "hessian", None))  # Newton's Hessian
            params, state, loss, grad, gnorm = end.params, end.state, end.loss, end.grad, end.grad_norm
            diverged, converged = epoch_status(end.left, loss, gnorm)
            if record:
                out.params[rows, epoch], out.loss[rows, epoch] = params, loss

            finite = np.isfinite(loss)
            b_best = np.where(finite & (loss < b_best), loss, b_best)
            if track_tol:
                b_reached = np.where((b_reached < 0) & finite & (loss - minimum_loss <= tol),
                                     epoch, b_reached)
            if tracking:
                now = _nearest_within(params, minima, radius)
                b_since = np.where(now != b_near, epoch, b_since)
                b_near = now

            stopped = converged | diverged
            if stopped.any():
                sel = np.flatnonzero(stopped)
                write(sel)
                r = rows[sel]
                out.stop_epoch[r] = epoch
                div = diverged[sel]
                out.status[r[div]] = DIVERGED
                out.diverged_epoch[r[div]] = epoch
                out.status[r[~div]] = CONVERGED
                keep = np.flatnonzero(~stopped)
                if keep.size == 0:
                    break
                state = _take(state, keep, len(rows))
                rows, params, grad = rows[keep], params[keep], grad[keep]
                loss, gnorm, b_best, b_since = loss[keep], gnorm[keep], b_best[keep], b_since[keep]
                if track_tol:
                    b_reached = b_reached[keep]
                if tracking:
                    b_near = b_near[keep]
                if isinstance(base_lr, np.ndarray):
                    base_lr = base_lr[keep]
        else:
            write(np.arange(len(rows)))
    out.best_loss[~np.isfinite(out.best_loss)] = np.nan
    return out._replace(status=out.status.astype(str))


def _nearest_within(params: np.ndarray, minima: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Index of the known minimum each point lies within the radius of, else -1 (radii are at
    most a third of the distance between minima, so at most one can hold a point)."""
    p0, p1 = params[:, 0], params[:, 1]
    near = np.full(len(params), -1, dtype=np.int64)
    for i, ((m0, m1), r) in enumerate(zip(minima, radius)):
        d0, d1 = p0 - m0, p1 - m1
        near[d0 * d0 + d1 * d1 <= r * r] = i
    return near


def _optimizer(opt_name: str, hyper: dict | None, lr: float = 1.0):
    hyper = dict(hyper or {})
    hyper.pop("lr", None)  # the sweep sets it
    return optimizers.create(opt_name, lr=lr, **hyper), hyper


def _check_lrs(lrs) -> np.ndarray:
    lrs = np.asarray(lrs, dtype=np.float64).reshape(-1)
    if lrs.size == 0 or not np.all(np.isfinite(lrs) & (lrs > 0)):
        raise ValueError(f"Invalid learning rates: {lrs.tolist()[:8]} (need finite numbers > 0)")
    return lrs


def _check_epochs(epochs) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"Invalid epochs: {epochs!r} (need a whole number >= 1)")
    return int(epochs)


def _start(surface, start) -> np.ndarray:
    start = np.array(surface.start if start is None else start, dtype=np.float64)
    if start.shape != (2,) or not np.all(np.isfinite(start)):
        raise ValueError(f"Invalid start: {start.tolist()} (need 2 finite numbers)")
    return start


# --------------------------------------------------------------------------- the public API


class OverBudget(ValueError):
    """Even the smallest plan of a looped family's sweep or basin map is over the budget."""


def _steps_per_epoch(surface, training: _Training) -> int:
    size = training.batch_size
    return 1 if size is None else -(-int(surface.n_samples) // int(size))


def _over_budget(opt_name: str, what: str) -> OverBudget:
    return OverBudget(f"{what} of {opt_name} would take too long here even cut down (it steps "
                      f"each run alone): lower max_iter or history_size, or use the full batch")


def lr_sweep(surface, opt_name: str, hyper: dict | None = None, lrs=DEFAULT_LRS, start=None,
             epochs: int = 500, tol: float = DEFAULT_TOL, batch_size: int | None = None,
             seed: int = 0, clip=None, schedule=None, budget: int | None = None) -> SweepResult:
    """Runs of one optimizer from one start, one per learning rate, as one batch.

    Each run gives what ``engine.compare.summarize`` gives for ``engine.train`` on its own with
    the same batch_size, seed, clip and schedule (the schedule scales each run's own rate):
    final and best loss, the first epoch within `tol` of the surface's minimum loss (-1 when
    never, or when the surface has no known minimum), the epoch it diverged (-1 when not) and
    its status.

    With a `budget`, a looped family (L-BFGS) runs sweep_plan's stops and epochs: the result's
    lrs and epochs are those it ran (OverBudget when even the smallest plan is over)."""
    lrs = _check_lrs(lrs)
    epochs = _check_epochs(epochs)
    opt, hyper = _optimizer(opt_name, hyper)
    start = _start(surface, start)
    training = _training(surface, batch_size, seed, clip, schedule)
    if budget is not None and opt_name in optimizers.LOOPED:
        plan = sweep_plan(opt_name, hyper, len(lrs), epochs, _steps_per_epoch(surface, training),
                          budget)
        if not plan.fits:
            raise _over_budget(opt_name, "A learning-rate sweep")
        lrs, epochs = lrs[plan.stops], plan.epochs
    batch = _run_batch(surface, opt, np.broadcast_to(start, (len(lrs), 2)), lrs, epochs, tol,
                       training)
    return SweepResult(opt_name, hyper, lrs, batch.final_loss, batch.best_loss,
                       batch.epochs_to_tol, batch.diverged_epoch, batch.stop_epoch, batch.status,
                       batch.final_params, epochs, float(tol), float(surface.minimum_loss))


def lr_trajectories(surface, opt_name: str, hyper: dict | None = None, lrs=DEFAULT_LRS,
                    start=None, epochs: int = 500, batch_size: int | None = None, seed: int = 0,
                    clip=None, schedule=None) -> LrTrajectories:
    """Every learning rate of one optimizer from one start, epoch by epoch, as one batch.

    Row i is ``collect(train(surface, create(opt_name, lr=lrs[i], **hyper), epochs, batch_size,
    start, seed, clip, schedule))``, number for number: every run sees the same seeded
    mini-batches, and the schedule scales each run's own rate. A run that stopped (converged or
    diverged) ends at its stop_epoch; its later rows are NaN, so a view drawing row e as the dot
    of epoch e draws nothing after it. lr_batch_fits says when this is cheap enough to compute
    ahead for the page."""
    lrs = _check_lrs(lrs)
    epochs = _check_epochs(epochs)
    opt, hyper = _optimizer(opt_name, hyper)
    start = _start(surface, start)
    training = _training(surface, batch_size, seed, clip, schedule)
    batch = _run_batch(surface, opt, np.broadcast_to(start, (len(lrs), 2)), lrs, epochs,
                       DEFAULT_TOL, training, record=True)
    return LrTrajectories(opt_name, hyper, lrs, batch.params, batch.loss, batch.status,
                          batch.diverged_epoch, batch.stop_epoch, epochs)


def lr_batch_cost(n_optimizers: int, epochs: int, steps_per_epoch: int,
                  n_stops: int = len(DEFAULT_LRS), *, data_samples: int = 0) -> int:
    """An upper bound on the work of lr_trajectories for `n_optimizers` optimizers, in optimizer
    steps × runs: steps_per_epoch is 1 for the full batch and ceil(n / batch_size) otherwise; on
    a data surface give its `data_samples`, whose full-batch loss and gradient at each epoch's
    end count as one step per SAMPLES_PER_STEP samples. Runs that stop early only make it cheaper."""
    per_epoch = int(steps_per_epoch) + math.ceil(int(data_samples) / SAMPLES_PER_STEP)
    return int(n_optimizers) * int(n_stops) * int(epochs) * per_epoch


def lr_set_cost(steps_per_epoch: Sequence[int], epochs: int, n_stops: int = len(DEFAULT_LRS), *,
                data_samples: int = 0) -> int:
    """lr_batch_cost of several optimizers, each with its own steps per epoch (1 for the full
    batch, ceil(n / batch_size) otherwise): their sum, in optimizer steps × runs."""
    return sum(lr_batch_cost(1, epochs, steps, n_stops, data_samples=data_samples)
               for steps in steps_per_epoch)


def lr_batch_fits(n_optimizers: int, epochs: int, steps_per_epoch: int,
                  n_stops: int = len(DEFAULT_LRS), *, data_samples: int = 0) -> bool:
    """Whether every η stop fits the page's ahead budget: lr_batch_cost at most LR_BATCH_BUDGET
    (a batch that fits takes ≲ 300 ms here). The page's whole rule, with the set computed after
    the first paint up to LR_SET_LATER_BUDGET, is lab.runs.lr_set_plan."""
    return lr_batch_cost(n_optimizers, epochs, steps_per_epoch, n_stops,
                         data_samples=data_samples) <= LR_BATCH_BUDGET


def run_cost(opt_name: str, hyper: dict | None, steps: int) -> int:
    """An upper bound on the work of one run of `steps` optimizer steps, in lr_batch_cost's
    units (a vectorized step of one run): `steps` for the vectorized families. An L-BFGS step
    runs up to max_iter inner iterations, and iteration i (counted over the whole run) walks
    min(i, history_size) stored pairs twice: LOOPED_PAIR_COST·(2·min(i, h) + 5) each, which
    tends to lab.runs.looped_step_cost's max_iter·(2·h + 5)·1.5 per step once the history is
    full. The page's η set, sweep, race and basin map all budget by this."""
    steps = int(steps)
    if opt_name not in optimizers.LOOPED:
        return steps
    hyper = optimizers.create(opt_name, **{k: v for k, v in (hyper or {}).items() if k != "lr"}).hyper
    total, h = steps * int(hyper["max_iter"]), int(hyper["history_size"])
    # Σ_{i<T} min(i, h): a triangle while the history fills, then h a step
    filled = total * (total - 1) // 2 if total <= h + 1 else h * (h + 1) // 2 + h * (total - 1 - h)
    return math.ceil(LOOPED_PAIR_COST * (2 * filled + 5 * total))


class SweepPlan(NamedTuple):
    """Which η stops (indices) and how many epochs a sweep runs within a budget."""

    stops: np.ndarray  # (m,) int indices into the full set of stops
    epochs: int
    cost: int  # run_cost of the plan, all stops together
    fits: bool  # False: even the smallest plan (every 6th stop, one epoch) is over the budget
    cut: bool  # the plan runs fewer stops or epochs than asked


def _largest_epochs(per_epochs, runs: int, epochs: int, budget: int) -> int:
    """The most epochs (≤ epochs) whose cost for `runs` runs fits the budget, or 0 (bisection:
    run_cost grows with the epochs)."""
    lo, hi = 0, epochs
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if runs * per_epochs(mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def sweep_plan(opt_name: str, hyper: dict | None, n_stops: int, epochs: int,
               steps_per_epoch: int = 1, budget: int = EXPLORE_BUDGET) -> SweepPlan:
    """The η stops and epochs a sweep (or a race's tuning sweep) of this optimizer runs within
    `budget` (run_cost summed over the stops): all of them when they fit; else every k-th stop
    (k in SWEEP_STRIDES) at the full epochs; else every 6th stop at the most epochs that fit."""
    def cost(epochs_):
        return run_cost(opt_name, hyper, epochs_ * steps_per_epoch)

    everything = np.arange(n_stops)
    for stride in SWEEP_STRIDES:
        stops = everything[::stride]
        if len(stops) * cost(epochs) <= budget:
            return SweepPlan(stops, epochs, len(stops) * cost(epochs), True, stride > 1)
    stops = everything[::SWEEP_STRIDES[-1]]
    fit = _largest_epochs(cost, len(stops), epochs, budget)
    return SweepPlan(stops, max(fit, 1), len(stops) * cost(max(fit, 1)), fit >= 1, True)


class BasinPlan(NamedTuple):
    grid_n: int
    epochs: int
    cost: int
    fits: bool  # False: even the smallest grid for one epoch is over the budget
    cut: bool  # a coarser grid or fewer epochs than asked


def basin_plan(opt_name: str, hyper: dict | None, grid_n: int, epochs: int,
               steps_per_epoch: int = 1, budget: int = EXPLORE_BUDGET) -> BasinPlan:
    """The grid and epochs a basin map of this optimizer runs within `budget`: as asked for the
    vectorized families; for a looped one the largest grid of BASIN_GRIDS (≤ grid_n) that runs
    at least MIN_BASIN_EPOCHS epochs (or all asked, if fewer), at the most epochs that fit."""
    if opt_name not in optimizers.LOOPED:
        return BasinPlan(grid_n, epochs, grid_n * grid_n * epochs * steps_per_epoch, True, False)

    def cost(epochs_):
        return run_cost(opt_name, hyper, epochs_ * steps_per_epoch)

    grids = [g for g in BASIN_GRIDS if g <= grid_n] or [grid_n]
    for g in grids:
        fit = _largest_epochs(cost, g * g, epochs, budget)
        if fit >= min(epochs, MIN_BASIN_EPOCHS):
            return BasinPlan(g, fit, g * g * cost(fit), True, g < grid_n or fit < epochs)
    g = grids[-1]
    fit = _largest_epochs(cost, g * g, epochs, budget)
    return BasinPlan(g, max(fit, 1), g * g * cost(max(fit, 1)), fit >= 1, True)


def basin_radius(minima: np.ndarray, bounds) -> np.ndarray:
    """For each known minimum, how close a run must end to count as ending in it: 5% of the
    box's diagonal, or less where minima are close (a third of the distance to the nearest)."""
    (x0, x1), (y0, y1) = bounds
    radius = np.full(len(minima), 0.05 * math.hypot(x1 - x0, y1 - y0))
    if len(minima) > 1:
        d = np.linalg.norm(minima[:, None] - minima[None], axis=-1)
        np.fill_diagonal(d, np.inf)
        radius = np.minimum(radius, d.min(axis=1) / 3)
    return radius


def basins(surface, opt_name: str, hyper: dict | None, lr: float, grid_n: int = 100,
           epochs: int = 300, tol: float = 1e-4, bounds=None, batch_size: int | None = None,
           seed: int = 0, clip=None, schedule=None,
           budget: int | None = EXPLORE_BUDGET) -> BasinResult:
    """Start a run of one optimizer (trained as ``engine.train`` trains it with the same
    batch_size, seed, clip and schedule) from every point of a grid_n × grid_n grid over
    the bounds, all at once, and label each start by where it ends.

    A start is labelled with minimum i when its run ends within basin_radius of that known
    minimum and has converged (gradient norm < 1e-8) or ended within `tol` of that minimum's
    loss; -2 when it diverged; -3 when it converged somewhere else (another stationary point);
    -1 otherwise (not converged within the epochs). `epochs_taken` is, for a labelled start, the
    epoch from which the run stayed within the radius of its minimum; for a diverged one the
    epoch it diverged; otherwise the epochs run.

    A looped family (L-BFGS, each run stepped alone) runs basin_plan's grid and epochs within
    `budget` (the result's xs and epochs say which; OverBudget when even the smallest is over);
    budget None: at most LOOPED_BASIN_GRID a side, all the epochs."""
    epochs = _check_epochs(epochs)
    if isinstance(grid_n, bool) or not isinstance(grid_n, (int, np.integer)) or grid_n < 2:
        raise ValueError(f"Invalid grid_n: {grid_n!r} (need a whole number >= 2)")
    lr = float(_check_lrs([lr])[0])
    opt, hyper = _optimizer(opt_name, hyper, lr)
    training = _training(surface, batch_size, seed, clip, schedule)
    if opt_name in optimizers.LOOPED:  # its runs are stepped one by one: a coarser map
        grid_n = min(grid_n, LOOPED_BASIN_GRID)
        if budget is not None:
            plan = basin_plan(opt_name, hyper, grid_n, epochs, _steps_per_epoch(surface, training),
                              budget)
            if not plan.fits:
                raise _over_budget(opt_name, "A basin map")
            grid_n, epochs = plan.grid_n, plan.epochs
    (x0, x1), (y0, y1) = surface.bounds if bounds is None else bounds
    xs, ys = np.linspace(x0, x1, grid_n), np.linspace(y0, y1, grid_n)
    X, Y = np.meshgrid(xs, ys, indexing="xy")
    starts = np.stack([X.ravel(), Y.ravel()], -1)
    minima = np.asarray(surface.minima, dtype=np.float64).reshape(-1, 2)
    radius = basin_radius(minima, surface.bounds)
    batch = _run_batch(surface, opt, starts, lr, epochs, tol, training, minima=minima,
                       radius=radius)

    label = np.full(len(starts), NOT_CONVERGED, dtype=np.int64)
    taken = batch.stop_epoch.copy()
    if len(minima):
        with np.errstate(all="ignore"):
            minima_loss = surface.loss_fn(minima, None)
            near = _nearest_within(np.where(np.isfinite(batch.final_params),
                                            batch.final_params, np.inf), minima, radius)
            gap = batch.final_loss - minima_loss[np.maximum(near, 0)]
            settled = (batch.status == CONVERGED) | (gap <= tol)
        ends_in = (near >= 0) & settled & (batch.status != DIVERGED)
        label[ends_in] = near[ends_in]
        taken[ends_in] = batch.settled_epoch[ends_in]
    elsewhere = (label == NOT_CONVERGED) & (batch.status == CONVERGED)
    label[elsewhere] = ELSEWHERE
    label[batch.status == DIVERGED] = DIVERGED_LABEL
    n = grid_n
    return BasinResult(xs, ys, label.reshape(n, n), batch.final_params.reshape(n, n, 2),
                       taken.reshape(n, n), minima, opt_name, lr, epochs, float(tol))


def stability_limit(surface, start=None) -> float | None:
    """2/λ_max of the Hessian at the known minimum nearest the start: plain gradient descent
    with a larger learning rate overshoots that minimum and diverges from it. None when the
    surface has no known minimum or no positive curvature there."""
    minima = np.asarray(surface.minima, dtype=np.float64).reshape(-1, 2)
    if len(minima) == 0:
        return None
    start = _start(surface, start)
    nearest = minima[np.argmin(np.linalg.norm(minima - start, axis=-1))]
    limit = curvature(surface, nearest).lr_limit
    if not (math.isfinite(limit) and limit > 0):
        return None
    return float(limit)


def _beats(a: int, b: int, sweep: SweepResult) -> bool:
    """Whether learning rate a is preferred to b under the race rule (see race())."""
    fa, fb = sweep.final_loss[a], sweep.final_loss[b]
    ok_a = sweep.status[a] != DIVERGED and math.isfinite(fa)
    ok_b = sweep.status[b] != DIVERGED and math.isfinite(fb)
    if ok_a != ok_b:
        return ok_a
    if not ok_a:
        return False
    if not _tied(fa, fb, sweep):
        return fa < fb
    ea = sweep.epochs_to_tol[a] if sweep.epochs_to_tol[a] >= 0 else math.inf
    eb = sweep.epochs_to_tol[b] if sweep.epochs_to_tol[b] >= 0 else math.inf
    if ea != eb:
        return ea < eb
    return sweep.lrs[a] < sweep.lrs[b]


def _tied(fa: float, fb: float, sweep: SweepResult) -> bool:
    if abs(fa - fb) <= TIE_RTOL * max(abs(fa), abs(fb)):
        return True
    m = sweep.minimum_loss
    return math.isfinite(m) and fa - m <= sweep.tol and fb - m <= sweep.tol


def tuned_index(sweep: SweepResult) -> int | None:
    """The learning rate the race picks on this sweep (an index into sweep.lrs), or None when
    every rate diverged."""
    ok = (sweep.status != DIVERGED) & np.isfinite(sweep.final_loss)
    if not ok.any():
        return None
    best_loss = np.min(sweep.final_loss[ok])
    candidates = [i for i in np.flatnonzero(ok) if _tied(sweep.final_loss[i], best_loss, sweep)]
    best = candidates[0]
    for i in candidates[1:]:
        if _beats(i, best, sweep):
            best = i
    return int(best)


def race_rule(lrs: np.ndarray, epochs: int, tol: float, batch_size: int | None = None) -> str:
    """The tuning rule in plain words, with this race's numbers."""
    budget = ("full-batch epochs" if batch_size is None
              else f"epochs of mini-batches of {batch_size}")
    return (f"Each optimizer gets its own learning rate, tuned on the same {len(lrs)} "
            f"log-spaced rates from {lrs.min():g} to {lrs.max():g}, from the same start and with "
            f"the same budget of {epochs} {budget}. The rate with the lowest final loss "
            f"wins. Final losses within a relative {TIE_RTOL:g} of each other, or both within "
            f"{tol:g} of the minimum, count as a tie; a tie goes to the rate that reached the "
            f"tolerance {tol:g} in fewer epochs, then to the smaller rate. A rate whose run "
            f"diverged is never chosen.")


def race(surface, specs: Sequence, start=None, epochs: int = 500, tol: float = DEFAULT_TOL,
         lrs=DEFAULT_LRS, batch_size: int | None = None, seed: int = 0, clip=None,
         schedule=None, budget: int | None = None) -> RaceResult:
    """Tune each optimizer's learning rate on its own sweep (race_rule says how) and report each
    at its tuned rate. `specs` are OptimizerSpec(label, name, hyper), (label, name, hyper)
    tuples or engine Optimizers. Every run trains with the same batch_size, seed, clip and
    schedule, as in lr_sweep. With a `budget`, a looped family's sweep runs lr_sweep's cut plan:
    its entry's sweep holds the rates and epochs it was tuned on (fewer than the race's), and its
    tuned rate is one of them."""
    lrs = _check_lrs(lrs)
    epochs = _check_epochs(epochs)
    start = _start(surface, start)
    batch_size = check_batch_size(surface, batch_size)
    entries = []
    for spec in specs:
        if isinstance(spec, optimizers.Optimizer):
            spec = OptimizerSpec(spec.name, spec.name, spec.hyper)
        label, name, hyper = spec
        try:
            sweep = lr_sweep(surface, name, hyper, lrs, start, epochs, tol, batch_size, seed,
                             clip, schedule, budget)
        except OverBudget as err:  # the others still race; this row says why it has no rate
            entries.append(RaceEntry(label, name, dict(hyper or {}), None, math.nan, math.nan,
                                     None, f"not run: {err}", None))
            continue
        i = tuned_index(sweep)
        if i is None:
            entries.append(RaceEntry(label, name, sweep.hyper, None, math.nan, math.nan, None,
                                     DIVERGED, sweep))
            continue
        reached = int(sweep.epochs_to_tol[i])
        entries.append(RaceEntry(label, name, sweep.hyper, float(sweep.lrs[i]),
                                 float(sweep.final_loss[i]), float(sweep.best_loss[i]),
                                 reached if reached >= 0 else None, str(sweep.status[i]), sweep))
    return RaceResult(entries, race_rule(lrs, epochs, tol, batch_size), lrs, epochs, float(tol),
                      start)
