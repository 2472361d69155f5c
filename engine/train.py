"""The training loop: a generator of per-epoch records (forward, loss, backward, update, repeat).

Its stepping code (step_epoch, epoch_status, far_limits, scheduled_lr, epoch_batches) works on
one run or on k runs at once, and ``engine.sweep`` steps its batches with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, NamedTuple

import numpy as np

from engine.clipping import clip_grad_norm, clip_grad_value
from engine.schedules import Schedule

RUNNING, CONVERGED, DIVERGED, FINISHED = "running", "converged", "diverged", "finished"

# A run has converged when the full-batch gradient is this small: below it, the
# dots would no longer move visibly on any registered surface.
CONVERGED_GRAD_NORM = 1e-8
# A run has diverged when it leaves its surface's box by this many box widths
# (or, without a box, when a weight exceeds FAR_AWAY).
DIVERGE_SPANS = 100.0
FAR_AWAY = 1e6
# Beyond this the loss is no longer a number a person can read.
HUGE_LOSS = 1e100


@dataclass(frozen=True)
class Record:
    """One epoch of a run. Record 0 is the start, before any update."""

    epoch: int
    params: np.ndarray  # (d,) weights at the end of the epoch
    loss: float  # full-batch loss at `params`
    grad_norm: float  # full-batch gradient norm at `params`
    lr: float  # learning rate used during this epoch (the scheduled one)
    status: str  # running, converged, diverged or finished
    steps: int  # optimizer steps taken so far
    # Gradient evaluations so far: one per step for the gradient-only rules, every closure call
    # for LBFGS (its line search evaluates the loss and gradient several times per step).
    evals: int = 0
    probes: np.ndarray | None = None  # (m, d) every point LBFGS evaluated during the epoch
    probe_loss: np.ndarray | None = None  # (m,) the mini-batch loss at each probe
    averaged: np.ndarray | None = None  # (d,) ASGD's averaged iterate ax at the end of the epoch


class Trajectory(NamedTuple):
    """A whole run as arrays, for views and tables: one row per record."""

    params: np.ndarray  # (epochs+1, d), fewer rows if the run stopped early
    loss: np.ndarray
    grad_norm: np.ndarray
    lr: np.ndarray
    status: str
    diverged_epoch: int | None
    evals: np.ndarray | None = None  # gradient evaluations so far at each record


def check_batch_size(surface, batch_size) -> int | None:
    """`batch_size` checked against the data set size n: a whole number from 1 to n, or None for
    the full batch (n itself is returned as None)."""
    n = int(surface.n_samples)
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise ValueError(f"Invalid batch_size: {batch_size!r} (need a whole number or None)")
    if not 1 <= batch_size <= n:
        raise ValueError(f"Invalid batch_size: {batch_size} (need 1 to {n}, the data set size)")
    return None if batch_size == n else int(batch_size)


def _validate(surface, epochs, batch_size, start) -> tuple[int, int | None, np.ndarray]:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"Invalid epochs: {epochs!r} (need a whole number >= 1)")
    batch_size = check_batch_size(surface, batch_size)
    start = np.array(surface.start if start is None else start, dtype=np.float64)
    if start.shape != np.shape(surface.start):
        raise ValueError(f"Invalid start: {start.tolist()} (need {np.size(surface.start)} numbers)")
    if not np.all(np.isfinite(start)):
        raise ValueError(f"Invalid start: {start.tolist()} (need finite numbers)")
    return int(epochs), batch_size, start


def far_limits(surface) -> tuple[np.ndarray, np.ndarray]:
    """The box (lo, hi) that a run's weights must stay in: 100 widths around the surface's
    bounds, each (2,), or ±1e6 for every weight (0-d) without bounds. Leaving it is divergence."""
    bounds = getattr(surface, "bounds", None)
    if bounds is None:
        return np.array(-FAR_AWAY), np.array(FAR_AWAY)
    lo = np.array([b[0] for b in bounds], dtype=np.float64)
    hi = np.array([b[1] for b in bounds], dtype=np.float64)
    span = hi - lo
    return lo - DIVERGE_SPANS * span, hi + DIVERGE_SPANS * span


def make_clip(clip) -> Callable[[np.ndarray], np.ndarray] | None:
    """`clip` is None, ("norm", max_norm) or ("value", clip_value); the limit is checked here."""
    if clip is None:
        return None
    kind, limit = clip
    if kind == "norm":
        clip_grad_norm(np.zeros(1), limit)  # validates the limit once, up front
        return lambda g: clip_grad_norm(g, limit)
    if kind == "value":
        clip_grad_value(np.zeros(1), limit)
        return lambda g: clip_grad_value(g, limit)
    raise ValueError(f"Invalid clip kind: {kind!r}; choose one of: norm, value")


def scheduled_lr(schedule, epoch: int, base_lr):
    """The learning rate used during `epoch` (0-based): `schedule(epoch, base_lr)`, or base_lr
    without a schedule. base_lr is a float, or an array of one base rate per run; an
    ``engine.schedules.Schedule`` then computes every run's rate at once, with the same float
    operations as for each rate alone (the caller has checked the rates are > 0)."""
    if schedule is None:
        return base_lr if isinstance(base_lr, np.ndarray) else float(base_lr)
    if not isinstance(base_lr, np.ndarray):
        return float(schedule(epoch, base_lr))
    if isinstance(schedule, Schedule):
        return np.asarray(schedule.lr_at(int(epoch), base_lr), dtype=np.float64)
    return np.array([float(schedule(epoch, float(b))) for b in base_lr.ravel()]).reshape(base_lr.shape)


def epoch_batches(rng: np.random.Generator, n: int, batch_size: int | None) -> list:
    """The mini-batches of one epoch: a fresh permutation of the n samples from `rng`, cut into
    ceil(n / batch_size) slices; [None] (one full-batch step, no draw) when batch_size is None."""
    if batch_size is None:
        return [None]
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _outside(params: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    # NaN fails every comparison, so this also catches non-finite weights.
    if params.shape[-1] != 2:
        return ~((params >= lo) & (params <= hi)).all(axis=-1)
    # Two weights are compared as columns: reductions over the last axis of a (k, 2) array are
    # slow in NumPy.
    lo0, lo1 = (lo, lo) if lo.ndim == 0 else lo
    hi0, hi1 = (hi, hi) if hi.ndim == 0 else hi
    p0, p1 = params[..., 0], params[..., 1]
    return ~((p0 >= lo0) & (p0 <= hi0) & (p1 >= lo1) & (p1 <= hi1))


def _norm(grad: np.ndarray) -> np.ndarray:
    if grad.shape[-1] != 2:
        return np.sqrt(np.sum(grad ** 2, axis=-1))
    return np.sqrt(grad[..., 0] * grad[..., 0] + grad[..., 1] * grad[..., 1])


class EpochEnd(NamedTuple):
    """What one epoch of step_epoch leaves: arrays with the runs' leading shape."""

    params: np.ndarray  # (..., d) weights at the end of the epoch (see step_epoch)
    state: object  # the optimizer state after the epoch's last step
    loss: np.ndarray  # (...) full-batch loss at `params`
    grad: np.ndarray  # (..., d) full-batch gradient at `params`
    grad_norm: np.ndarray  # (...)
    left: np.ndarray  # (...) bool: the run left the far box (far_limits) during the epoch
    steps: int  # optimizer steps taken: all of the epoch's, or up to where every run had left
    evals: int = 0  # gradient evaluations (objective calls, summed over runs, for LBFGS)
    probes: tuple = ()  # (point, loss) of every objective call, for a single run's picture


class Objective:
    """The loss of one mini-batch as torch's closure computes it: ``objective(w) -> (loss,
    grad)`` with the gradient clipped as a training step would, and ``objective.hessian(w)``
    (the surface's full-batch Hessian) for Newton. It counts its calls and keeps every point
    it was asked about (``probes``), so a run can show where LBFGS's line search looked."""

    def __init__(self, loss_fn, grad_fn, idx, clip_fn=None, hess_fn=None, keep=False):
        self._loss, self._grad, self._idx, self._clip, self._hess = loss_fn, grad_fn, idx, clip_fn, hess_fn
        self.calls, self.keep, self.probes = 0, keep, []
        self.first_grad = None

    def __call__(self, w):
        loss, grad = self._loss(w, self._idx), self._grad(w, self._idx)
        if self._clip is not None:
            grad = self._clip(grad)
        self.calls += 1 if np.ndim(w) == 1 else len(w)
        if self.first_grad is None:
            self.first_grad = grad
        if self.keep:
            self.probes.append((np.array(w, dtype=np.float64), float(np.sum(loss))))
        return loss, grad

    def hessian(self, w):
        if self._hess is None:
            raise ValueError("newton needs the surface's exact Hessian, and this surface has none")
        return self._hess(w)


def step_epoch(loss_fn, grad_fn, opt, params, state, grad, lr, batches, clip_fn, limits,
               on_step=None, hess_fn=None, keep_probes=False) -> EpochEnd:
    """One epoch of training for the runs in `params`, (d,) or (k, d), all on the same `batches`.

    Each step is gradient on the mini-batch -> clipping -> ``opt.update`` with `lr` (a float, or
    a (k, 1) column of one rate per run); `grad` is the full-batch gradient at `params`, which a
    full-batch step (batch None) uses. A run that leaves the box `limits` stops there: its
    weights stay those of the step that took it out (its state is no longer meaningful), and the
    epoch ends once every run has left. Then the full-batch loss and gradient at the weights.
    ``on_step(index, idx, params, grad, clipped, state, new_state, new_params)`` sees each step.
    An optimizer with ``step`` (LBFGS, Newton) is given the batch's Objective instead of a
    gradient; ``hess_fn`` is the Hessian Newton asks it for; with ``keep_probes`` every point
    the objective evaluated comes back in ``probes``.
    Call it inside ``np.errstate(all="ignore")``."""
    lo, hi = limits
    left = held = None
    steps = 0
    evals, probes = 0, []
    for index, idx in enumerate(batches):
        if opt.step is None:
            g = grad if idx is None else grad_fn(params, idx)
            clipped = g if clip_fn is None else clip_fn(g)
            new_params, new_state = opt.update(params, clipped, state, lr=lr)
            evals += 1 if params.ndim == 1 else len(params)
        else:
            objective = Objective(loss_fn, grad_fn, idx, clip_fn, hess_fn, keep_probes)
            new_params, new_state = opt.step(params, objective, state, lr=lr)
            g = clipped = objective.first_grad
            evals += objective.calls
            probes += objective.probes
        if on_step is not None:
            on_step(index, idx, params, g, clipped, state, new_state, new_params)
        params, state = new_params, new_state
        steps += 1
        out = _outside(params, lo, hi)
        if out.any():
            fresh = out if left is None else out & ~left
            held = params if held is None else np.where(fresh[..., None], params, held)
            left = out if left is None else left | out
            if left.all():
                break
    if held is not None:
        params = np.where(left[..., None], held, params)
    else:
        left = np.zeros(params.shape[:-1], dtype=bool)
    grad = grad_fn(params, None)
    return EpochEnd(params, state, loss_fn(params, None), grad, _norm(grad), left, steps, evals,
                    tuple(probes))


def epoch_status(left, loss, grad_norm) -> tuple[np.ndarray, np.ndarray]:
    """(diverged, converged) for each run at the end of an epoch: diverged when it left the far
    box or its loss or gradient is not finite or the loss exceeds 1e100; converged when it has
    not diverged and the full-batch gradient norm is below 1e-8."""
    healthy = ~left & np.isfinite(loss) & (loss < HUGE_LOSS) & np.isfinite(grad_norm)
    return ~healthy, healthy & (grad_norm < CONVERGED_GRAD_NORM)


@dataclass(frozen=True)
class Step:
    """One optimizer step, as the engine took it: what the anatomy panel shows."""

    epoch: int  # the epoch this step belongs to (1-based)
    index: int  # the step's place within its epoch (0-based)
    batch: np.ndarray | None  # the samples of this mini-batch; None for the full batch
    params: np.ndarray  # weights before the step
    grad: np.ndarray  # the mini-batch gradient at `params`
    clipped: np.ndarray  # the gradient after clipping (the same array when there is none)
    lr: float
    state_before: object
    state_after: object
    new_params: np.ndarray


def train(surface, opt, epochs: int = 100, batch_size: int | None = None, start=None,
          seed: int = 0, clip=None, schedule=None) -> Iterator[Record]:
    """Train `opt` on `surface`, yielding one Record per epoch (record 0 is the start).

    Each epoch shuffles the samples with a generator seeded by `seed` and takes
    ceil(n / batch_size) steps, each on one mini-batch; `batch_size=None` (or n)
    is the full batch: one step per epoch with the exact gradient. A step is
    gradient -> clipping -> optimizer update, as in a torch training loop, with the
    learning rate from `schedule(epoch, opt.lr)` when a schedule is given.

    The run stops early when it converges (gradient norm below 1e-8) or diverges
    (a non-finite value, or the weights leave a box 100 widths around the
    surface's bounds); that record carries the status. No NumPy warning escapes.
    The epochs are stepped by step_epoch, as every run of ``engine.sweep`` is.
    """
    yield from _run(surface, opt, epochs, batch_size, start, seed, clip, schedule, False)


def trace(surface, opt, epochs: int = 100, batch_size: int | None = None, start=None,
          seed: int = 0, clip=None, schedule=None) -> Iterator[Record | Step]:
    """The same run as `train`, with every Step yielded before the Record of its epoch."""
    return _run(surface, opt, epochs, batch_size, start, seed, clip, schedule, True)


def _run(surface, opt, epochs, batch_size, start, seed, clip, schedule, with_steps):
    epochs, batch_size, params = _validate(surface, epochs, batch_size, start)
    clip_fn = make_clip(clip)
    n = int(surface.n_samples)
    rng = np.random.default_rng(seed)
    limits = far_limits(surface)
    state = opt.init(params)
    steps = evals = 0
    hess_fn = getattr(surface, "hessian", None)
    with np.errstate(all="ignore"):
        grad = surface.grad(params)
        yield Record(0, params, float(surface.loss(params)), float(_norm(grad)),
                     scheduled_lr(schedule, 0, opt.lr), RUNNING, 0, 0, None, None,
                     _averaged(state, params))
        for epoch in range(1, epochs + 1):
            lr = scheduled_lr(schedule, epoch - 1, opt.lr)
            taken = []

            def on_step(index, idx, p, g, clipped, s0, s1, p1):
                taken.append(Step(epoch, index, idx, p, g, clipped, lr, s0, s1, p1))

            end = step_epoch(surface.loss, surface.grad, opt, params, state, grad, lr,
                             epoch_batches(rng, n, batch_size), clip_fn, limits,
                             on_step if with_steps else None, hess_fn, opt.step is not None)
            yield from taken
            params, state, grad, steps = end.params, end.state, end.grad, steps + end.steps
            evals += end.evals
            diverged, converged = epoch_status(end.left, end.loss, end.grad_norm)
            if diverged:
                status = DIVERGED
            elif converged:
                status = CONVERGED
            elif epoch == epochs:
                status = FINISHED
            else:
                status = RUNNING
            probes = (np.array([p for p, _ in end.probes]).reshape(-1, params.shape[-1]),
                      np.array([f for _, f in end.probes], dtype=np.float64)) if end.probes else (None, None)
            yield Record(epoch, params, float(end.loss), float(end.grad_norm), lr, status, steps,
                         evals, *probes, _averaged(state, params))
            if status in (DIVERGED, CONVERGED):
                return


def _averaged(state, params) -> np.ndarray | None:
    """ASGD's averaged iterate ax (before its first step, the start itself); None for others."""
    ax = getattr(state, "ax", None)
    if ax is None:
        return None
    return params.copy() if getattr(state, "count", 0) == 0 else ax.copy()


def collect(records) -> Trajectory:
    """Consume a run (an iterable of Records) into arrays."""
    records = list(records)
    last = records[-1]
    return Trajectory(
        params=np.stack([r.params for r in records]),
        loss=np.array([r.loss for r in records]),
        grad_norm=np.array([r.grad_norm for r in records]),
        lr=np.array([r.lr for r in records]),
        status=last.status,
        diverged_epoch=last.epoch if last.status == DIVERGED else None,
        evals=np.array([r.evals for r in records], dtype=np.int64),
    )
