"""The training loop: a generator of per-epoch records (forward, loss, backward, update, repeat)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator, NamedTuple

import numpy as np

from engine.clipping import clip_grad_norm, clip_grad_value

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


class Trajectory(NamedTuple):
    """A whole run as arrays, for views and tables: one row per record."""

    params: np.ndarray  # (epochs+1, d), fewer rows if the run stopped early
    loss: np.ndarray
    grad_norm: np.ndarray
    lr: np.ndarray
    status: str
    diverged_epoch: int | None


def _validate(surface, epochs, batch_size, start) -> tuple[int, int | None, np.ndarray]:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"Invalid epochs: {epochs!r} (need a whole number >= 1)")
    n = int(surface.n_samples)
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise ValueError(f"Invalid batch_size: {batch_size!r} (need a whole number or None)")
        if not 1 <= batch_size <= n:
            raise ValueError(f"Invalid batch_size: {batch_size} (need 1 to {n}, the data set size)")
        if batch_size == n:
            batch_size = None
    start = np.array(surface.start if start is None else start, dtype=np.float64)
    if start.shape != np.shape(surface.start):
        raise ValueError(f"Invalid start: {start.tolist()} (need {np.size(surface.start)} numbers)")
    if not np.all(np.isfinite(start)):
        raise ValueError(f"Invalid start: {start.tolist()} (need finite numbers)")
    return int(epochs), batch_size, start


def _far_limits(surface) -> tuple[np.ndarray, np.ndarray]:
    bounds = getattr(surface, "bounds", None)
    if bounds is None:
        return np.array(-FAR_AWAY), np.array(FAR_AWAY)
    lo = np.array([b[0] for b in bounds], dtype=np.float64)
    hi = np.array([b[1] for b in bounds], dtype=np.float64)
    span = hi - lo
    return lo - DIVERGE_SPANS * span, hi + DIVERGE_SPANS * span


def _make_clip(clip) -> Callable[[np.ndarray], np.ndarray] | None:
    """`clip` is None, ("norm", max_norm) or ("value", clip_value)."""
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
    """
    yield from _run(surface, opt, epochs, batch_size, start, seed, clip, schedule, False)


def trace(surface, opt, epochs: int = 100, batch_size: int | None = None, start=None,
          seed: int = 0, clip=None, schedule=None) -> Iterator[Record | Step]:
    """The same run as `train`, with every Step yielded before the Record of its epoch."""
    return _run(surface, opt, epochs, batch_size, start, seed, clip, schedule, True)


def _run(surface, opt, epochs, batch_size, start, seed, clip, schedule, with_steps):
    epochs, batch_size, params = _validate(surface, epochs, batch_size, start)
    clip_fn = _make_clip(clip)
    n = int(surface.n_samples)
    rng = np.random.default_rng(seed)
    lo, hi = _far_limits(surface)
    state = opt.init(params)
    steps = 0

    def lr_for(epoch: int) -> float:
        return float(schedule(epoch, opt.lr)) if schedule is not None else float(opt.lr)

    full_grad = None  # the full-batch gradient at `params`, kept for the next full-batch step

    def measure(p: np.ndarray) -> tuple[float, float]:
        nonlocal full_grad
        loss = float(surface.loss(p))
        full_grad = surface.grad(p)
        return loss, float(np.sqrt(np.sum(full_grad ** 2)))

    def broken(p: np.ndarray) -> bool:
        # NaN fails both comparisons and ±inf fails one, so this also catches non-finite weights.
        return not ((p >= lo) & (p <= hi)).all()

    with np.errstate(all="ignore"):
        loss, grad_norm = measure(params)
        yield Record(0, params, loss, grad_norm, lr_for(0), RUNNING, 0)
        for epoch in range(1, epochs + 1):
            lr = lr_for(epoch - 1)
            if batch_size is None:
                batches = [None]
            else:
                order = rng.permutation(n)
                batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
            diverged = False
            for index, idx in enumerate(batches):
                # The full batch's gradient at these weights was just measured: reuse it.
                grad = full_grad if idx is None else surface.grad(params, idx)
                clipped = clip_fn(grad) if clip_fn is not None else grad
                new_params, new_state = opt.update(params, clipped, state, lr=lr)
                if with_steps:
                    yield Step(epoch, index, idx, params, grad, clipped, lr, state, new_state,
                               new_params)
                params, state = new_params, new_state
                steps += 1
                if broken(params):
                    diverged = True
                    break
            loss, grad_norm = measure(params)
            if diverged or not (math.isfinite(loss) and loss < HUGE_LOSS and math.isfinite(grad_norm)):
                status = DIVERGED
            elif grad_norm < CONVERGED_GRAD_NORM:
                status = CONVERGED
            elif epoch == epochs:
                status = FINISHED
            else:
                status = RUNNING
            yield Record(epoch, params, loss, grad_norm, lr, status, steps)
            if status in (DIVERGED, CONVERGED):
                return


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
    )
