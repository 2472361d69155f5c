"""The edge of stability: the sharpness of the full-batch loss, epoch by epoch, beside 2/η.

Sharpness is the largest eigenvalue λ_max of the Hessian H of the full-batch training loss.
Gradient descent with step η is stable on a quadratic only while λ_max < 2/η; Cohen et al. (2021,
"Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability") saw that on
neural networks the sharpness rises until it reaches 2/η and then hovers there.

How it is computed here:
- H·v by `MLP.hvp`: exact forward-over-reverse products (Pearlmutter's R-operator) through the
  network's hand-written backward pass, about two gradients' work, no finite differences;
- λ_max by power iteration on those products, warm-started from the previous epoch's
  eigenvector, until the Rayleigh quotient changes by less than `tol` (relative). Power
  iteration finds the eigenvalue of largest magnitude; when that is negative, it runs again on
  H + |λ|·I, whose largest eigenvalue is λ_max + |λ|.
- For an adaptive optimizer the step is η·P⁻¹·(its direction) with a diagonal P from its state,
  so the quantity that meets a threshold is the preconditioned sharpness λ_max(P⁻¹H), the
  largest eigenvalue of the symmetric P^{-1/2}·H·P^{-1/2} (Cohen et al. 2022, "Adaptive Gradient
  Methods at the Edge of Stability"). P is read from the optimizer state after the epoch's last
  step: for Adam, P = (1 − β1^t)·(sqrt(v_t/(1 − β2^t)) + ε), the paper's convention, whose
  threshold is (2 + 2β1)/((1 − β1)·η) = 38/η for β1 = 0.9.

`sharpness_run` replays a training run with `engine.train.trace` (the same steps, bit for bit)
to read the optimizer state at each epoch, on every k-th epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from engine.train import Step, trace

MAX_POINTS = 100  # at most this many epochs are measured: every k-th with k = ceil(epochs / 100)
TOL = 1e-3
MAX_ITERS = 60


@dataclass(frozen=True)
class Eigen:
    value: float
    vector: np.ndarray
    iterations: int
    converged: bool


def power_iteration(matvec: Callable[[np.ndarray], np.ndarray], d: int, v0=None, *, tol=TOL,
                    max_iters=MAX_ITERS, seed=0) -> Eigen:
    """The largest (algebraic) eigenvalue of the symmetric operator `matvec` on R^d."""
    first = _power(matvec, d, v0, tol, max_iters, seed, shift=0.0)
    if first.value >= 0 or not math.isfinite(first.value):
        return first
    shift = -first.value  # the dominant eigenvalue was negative: look above it
    second = _power(lambda v: matvec(v) + shift * v, d, None, tol, max_iters, seed + 1, shift)
    return Eigen(second.value - shift, second.vector, first.iterations + second.iterations,
                 second.converged)


def _power(matvec, d, v0, tol, max_iters, seed, shift) -> Eigen:
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(d) if v0 is None else np.array(v0, dtype=np.float64)
    norm = np.linalg.norm(v)
    if not (norm > 0 and math.isfinite(norm)):
        v, norm = rng.standard_normal(d), None
        norm = np.linalg.norm(v)
    v = v / norm
    value = math.nan
    for it in range(1, max_iters + 1):
        hv = matvec(v)
        new = float(v @ hv)  # the Rayleigh quotient of the unit vector v
        size = float(np.linalg.norm(hv))
        if not (math.isfinite(new) and math.isfinite(size)):
            return Eigen(math.nan, v, it, False)
        if size == 0.0:
            return Eigen(0.0, v, it, True)
        if math.isfinite(value) and abs(new - value) <= tol * max(abs(new) + shift, 1e-12):
            return Eigen(new, v, it, True)
        value, v = new, hv / size
    return Eigen(value, v, max_iters, False)


# --- preconditioners of the adaptive optimizers ------------------------------------------------

ADAPTIVE = ("adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam", "adamax", "radam")


def preconditioner(opt, state) -> np.ndarray | None:
    """The diagonal P of an adaptive optimizer's step η·P⁻¹·(direction), from `state` (after a
    step); None for SGD (P = I) or before the first step."""
    name, hyper = opt.name, opt.hyper
    t = int(getattr(state, "count", 0))
    if name not in ADAPTIVE or t == 0:
        return None
    eps = float(hyper.get("eps", 0.0))
    if name in ("adam", "adamw", "nadam", "radam"):
        b1, b2 = hyper["betas"]
        v = state.nu_max if name in ("adam", "adamw") and hyper.get("amsgrad") else state.nu
        denom = np.sqrt(v / (1 - b2**t)) + eps
        if name == "radam":
            rho_inf = 2 / (1 - b2) - 1
            rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
            if rho_t <= 5.0:
                return None  # RAdam's first steps are plain momentum: no preconditioning
            denom = (np.sqrt(v) + eps) / math.sqrt(1 - b2**t)
        return (1 - b1**t) * denom
    if name == "adamax":
        b1, _ = hyper["betas"]
        return (1 - b1**t) * state.inf_norm
    if name == "adagrad":
        return np.sqrt(state.sum) + eps
    if name == "rmsprop":
        v = state.square_avg
        if hyper.get("centered"):
            v = v - state.grad_avg ** 2
        return np.sqrt(v) + eps
    # adadelta: Δ = sqrt(u + ε)/sqrt(v + ε)·g, with u the running mean of squared updates
    return np.sqrt(state.square_avg + eps) / np.sqrt(state.acc_delta + eps)


# Families whose step is not η times a (preconditioned, averaged) gradient: no stability limit
# of the 2/η kind is known for them, and the chart draws none (a 2/η line would be wrong).
NO_LIMIT = {
    "rprop": "its steps are signs times per-weight step sizes, whatever the curvature",
    "adafactor": "its step is clipped and scaled by the weights' size and a relative step size",
    "muon": "its step is an orthogonalized matrix of fixed size (and AdamW's on the other "
            "weights)",
    "lbfgs": "its step is a quasi-Newton direction with a line search, not η times the gradient",
    "newton": "its step solves the local quadratic, whatever the curvature",
}


def limit_known(opt) -> bool:
    """Whether a stability limit is known (and drawn) for this optimizer: not for NO_LIMIT's
    families, nor for Nesterov momentum with dampening."""
    hyper = opt.hyper
    if opt.name == "sgd" and hyper.get("nesterov") and hyper.get("dampening", 0):
        return False
    return opt.name not in NO_LIMIT


def threshold(opt, lr: float, state=None) -> tuple[float, str]:
    """The stability threshold this optimizer's (preconditioned) sharpness meets, and its words;
    (nan, why) when none is known (limit_known).

    Each is where a step on a quadratic with curvature λ stops shrinking: plain gradient descent
    2/η; heavy-ball momentum μ with dampening τ (2 + 2μ)/((1 − τ)·η); Nesterov momentum μ
    (2 + 2μ)/((1 + 2μ)·η) (its iteration matrix [[1 − (1+μ)h, −μ²], [h, μ]], h = ηλ, has a root
    at −1 there); Adam-like with β1: (2 + 2β1)/((1 − β1)·η) (Cohen et al. 2022); ASGD, whose
    live weights take p ← p·(1 − λ_d·η_t) − η_t·(g + wd·p) with its own decayed η_t (read from
    `state`): 2/η_t − λ_d − wd. Others (Adagrad, RMSprop, Adadelta, preconditioned): 2/η."""
    hyper = opt.hyper
    if not limit_known(opt):
        why = NO_LIMIT.get(opt.name, "Nesterov momentum with dampening has no simple limit")
        return math.nan, f"no stability limit known: {why}"
    if opt.name == "sgd" and hyper.get("momentum", 0):
        mu = float(hyper["momentum"])
        if hyper.get("nesterov"):
            return (2 + 2 * mu) / ((1 + 2 * mu) * lr), f"(2 + 2μ)/((1 + 2μ)η), Nesterov μ = {mu:g}"
        tau = float(hyper.get("dampening", 0.0))
        if tau < 1:
            damped = f", dampening {tau:g}" if tau else ""
            return (2 + 2 * mu) / ((1 - tau) * lr), f"(2 + 2μ)/{'((1 − τ)η)' if tau else 'η'}, momentum μ = {mu:g}{damped}"
    if opt.name in ("adam", "adamw", "nadam", "adamax", "radam"):
        b1 = float(hyper["betas"][0])
        if b1 < 1:
            return (2 + 2 * b1) / ((1 - b1) * lr), f"(2 + 2β1)/((1 − β1)η), β1 = {b1:g}"
    if opt.name == "asgd":
        eta = float(np.max(state.eta)) if state is not None and getattr(state, "count", 0) else lr
        shrink = float(hyper["lambd"]) + float(hyper["weight_decay"])
        return 2.0 / eta - shrink, "2/η_t − λ − wd, ASGD's own decayed η_t"
    return 2.0 / lr, "2/η"


def sharpness(mlp, w, precond: np.ndarray | None = None, v0=None, *, tol=TOL,
              max_iters=MAX_ITERS) -> Eigen:
    """λ_max of the full-batch Hessian at w, or of P^{-1/2} H P^{-1/2} when `precond` P is given."""
    w = np.asarray(w, dtype=np.float64)
    if precond is None:
        return power_iteration(lambda v: mlp.hvp(w, v), mlp.d, v0, tol=tol, max_iters=max_iters)
    s = 1.0 / np.sqrt(np.asarray(precond, dtype=np.float64))
    return power_iteration(lambda v: s * mlp.hvp(w, s * v), mlp.d, v0, tol=tol, max_iters=max_iters)


@dataclass(frozen=True)
class SharpnessCurve:
    """The sharpness at the end of the measured epochs of one run."""

    epochs: np.ndarray  # the measured epochs (0 = the start)
    values: np.ndarray  # λ_max (preconditioned for an adaptive optimizer); nan where not finite
    lr: np.ndarray  # η during each measured epoch
    two_over_lr: np.ndarray
    threshold: np.ndarray  # the optimizer's own threshold (equal to 2/η for plain SGD)
    threshold_words: str
    preconditioned: bool
    every: int
    iterations: int  # Hessian-vector products used, in all
    matches_run: bool  # the replay's weights equal the run's (when the run was given)
    limit_known: bool = True  # False: no stability limit is known for this family; none drawn


def every_for(epochs: int, max_points: int = MAX_POINTS) -> int:
    return max(1, math.ceil(epochs / max_points))


def sharpness_run(mlp, opt, *, epochs: int, batch_size=None, start=None, seed: int = 0, clip=None,
                  schedule=None, every: int | None = None, expected: np.ndarray | None = None,
                  run=None, tol=TOL, max_iters=MAX_ITERS) -> SharpnessCurve:
    """Replay a run (one pass of `trace`) and measure its sharpness at the start, at the end of
    every `every`-th epoch, and at the last epoch. `expected` (the run's weights per epoch) is
    compared with the replay, so a curve is never shown for a different run. Given the run's
    Trajectory as `run`, an optimizer without state to read (SGD) is measured at its recorded
    weights with no replay; an adaptive one is replayed and checked against it."""
    every = every_for(epochs) if every is None else max(1, int(every))
    adaptive = opt.name in ADAPTIVE
    if not adaptive and opt.name != "asgd" and run is not None:  # ASGD's limit needs its state
        return _from_trajectory(mlp, opt, run, epochs, every, tol, max_iters)
    expected = run.params if expected is None and run is not None else expected
    out_epochs, values, lrs, limits = [], [], [], []
    iterations, matches, vector, state = 0, True, None, None
    expected = None if expected is None else np.asarray(expected)
    count = 0
    for item in trace(mlp, opt, epochs=epochs, batch_size=batch_size, start=start, seed=seed,
                      clip=clip, schedule=schedule):
        if isinstance(item, Step):
            state = item.state_after
            continue
        rec = item
        if expected is not None and (rec.epoch >= len(expected)
                                     or not np.array_equal(rec.params, expected[rec.epoch])):
            matches = False
        count += 1
        last = rec.status not in ("running",) or rec.epoch == epochs
        if (rec.epoch % every and not last) or not np.all(np.isfinite(rec.params)):
            continue
        precond = preconditioner(opt, state) if adaptive else None
        with np.errstate(all="ignore"):
            eig = sharpness(mlp, rec.params, precond, vector, tol=tol, max_iters=max_iters)
        iterations += eig.iterations
        if math.isfinite(eig.value):
            vector = eig.vector
        out_epochs.append(rec.epoch)
        values.append(eig.value if math.isfinite(eig.value) else math.nan)
        lrs.append(rec.lr)
        limits.append(threshold(opt, rec.lr, state)[0] if rec.lr > 0 else math.inf)
    if expected is not None and count != len(expected):
        matches = False
    lr = np.array(lrs, dtype=np.float64)
    two = np.array([2.0 / v if v > 0 else math.inf for v in lrs])
    return SharpnessCurve(np.array(out_epochs, dtype=np.int64), np.array(values, dtype=np.float64),
                          lr, two, np.array(limits, dtype=np.float64),
                          threshold(opt, float(opt.lr))[1], adaptive, every, iterations, matches,
                          limit_known(opt))


def _from_trajectory(mlp, opt, run, epochs, every, tol, max_iters) -> SharpnessCurve:
    """SGD's sharpness at the weights a run recorded: no optimizer state is needed."""
    out_epochs, values, lrs = [], [], []
    iterations, vector = 0, None
    last = len(run.params) - 1
    for epoch in range(len(run.params)):
        params = run.params[epoch]
        if (epoch % every and epoch != last) or not np.all(np.isfinite(params)):
            continue
        with np.errstate(all="ignore"):
            eig = sharpness(mlp, params, None, vector, tol=tol, max_iters=max_iters)
        iterations += eig.iterations
        if math.isfinite(eig.value):
            vector = eig.vector
        out_epochs.append(epoch)
        values.append(eig.value if math.isfinite(eig.value) else math.nan)
        lrs.append(float(run.lr[epoch]))
    two = np.array([2.0 / v if v > 0 else math.inf for v in lrs])
    limits = np.array([threshold(opt, v)[0] if v > 0 else math.inf for v in lrs])
    return SharpnessCurve(np.array(out_epochs, dtype=np.int64), np.array(values, dtype=np.float64),
                          np.array(lrs, dtype=np.float64), two, limits,
                          threshold(opt, float(opt.lr))[1], False, every, iterations, True,
                          limit_known(opt))
