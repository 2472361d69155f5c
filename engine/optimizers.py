"""torch.optim's update rules as pairs of pure NumPy functions, so a run here follows torch's trajectory.

Each optimizer is built like an optax transformation: a factory captures the hyperparameters in
closures and returns an ``Optimizer`` holding ``init(params) -> state`` and
``update(params, grad, state, lr=None) -> (params, state)``. The state is a small NamedTuple of
arrays plus a scalar step count; nothing is mutated, every update returns new arrays.

Every rule follows torch.optim 2.x (CPU, single-tensor path) to the order of operations, as
written out in the design notes' OPTIMIZER_RULES.md: the names, defaults and ValueErrors are
torch's, except that a learning rate must be > 0 here (torch accepts 0).

Leading axes are independent runs: params of shape ``(k, d)`` are k trajectories stepped together
by the same elementwise arithmetic, so each row is bit-identical to running it alone.

``update``'s optional ``lr`` plays the part of a torch LR scheduler setting ``group['lr']``
(decoupled weight decay uses it too). It is checked cheaply: it must be finite and >= 0, because a
schedule such as cosine annealing to ``eta_min=0`` legitimately reaches 0.

Example::

    >>> opt = create("adam", lr=0.1)
    >>> w = np.array([1.0, -2.0]); state = opt.init(w)
    >>> for _ in range(3):
    ...     w, state = opt.update(w, 2 * w, state)     # f(w) = sum(w**2)
"""
from __future__ import annotations

import inspect
import math
import numbers
from typing import Any, Callable, NamedTuple

import numpy as np

from engine.rounding import fma_float, fma, newton_schulz_row

_INF = math.inf


class Optimizer(NamedTuple):
    """An optimizer: its torch name, configured lr, every hyperparameter, and the (init, update) pair.

    ``hyper`` is a copy for reading (e.g. ``create(opt.name, **opt.hyper)`` rebuilds it); changing it
    changes nothing, the values live in the closures of ``init`` and ``update``.
    """

    name: str
    lr: float
    hyper: dict
    init: Callable[[np.ndarray], Any]
    update: Callable[..., tuple]
    # ``step(params, objective, state, lr=None) -> (params, state)`` for the methods that need the
    # loss at trial points or the Hessian (LBFGS, Newton); None for the gradient-only rules.
    step: Callable[..., tuple] | None = None


class SGDState(NamedTuple):
    count: int
    momentum_buffer: np.ndarray  # meaningful only after the first step (torch: None until then)


class AdagradState(NamedTuple):
    count: int
    sum: np.ndarray


class RMSpropState(NamedTuple):
    count: int
    square_avg: np.ndarray
    grad_avg: np.ndarray  # used when centered
    momentum_buffer: np.ndarray  # used when momentum > 0


class AdadeltaState(NamedTuple):
    count: int
    square_avg: np.ndarray
    acc_delta: np.ndarray


class AdamState(NamedTuple):
    count: int
    mu: np.ndarray  # exp_avg
    nu: np.ndarray  # exp_avg_sq
    nu_max: np.ndarray  # max_exp_avg_sq, used when amsgrad


class NAdamState(NamedTuple):
    count: int
    mu_product: float  # Π_t = μ_1·…·μ_t, a float64 scalar
    mu: np.ndarray
    nu: np.ndarray


class AdamaxState(NamedTuple):
    count: int
    mu: np.ndarray  # exp_avg
    inf_norm: np.ndarray  # exp_inf


class RAdamState(NamedTuple):
    count: int
    mu: np.ndarray
    nu: np.ndarray


# --------------------------------------------------------------------------- validation


def _real(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"Invalid {name} value: {value!r}; {name} must be a real number")
    return float(value)


def _check_lr(lr) -> float:
    x = _real("lr", lr)
    if not 0.0 < x < _INF:
        raise ValueError(f"Invalid learning rate: {lr}")
    return x


def _check(name: str, value, low: float, high: float = _INF, *, low_open=False, high_open=True) -> float:
    """A finite number in the interval; the message names the parameter, the value and the interval."""
    x = _real(name, value)
    ok = (low < x if low_open else low <= x) and (x < high if high_open else x <= high)
    if not (ok and math.isfinite(x)):
        if low == -_INF:
            allowed = "finite"
        elif high == _INF:
            allowed = f"finite and {'>' if low_open else '>='} {low:g}"
        else:
            allowed = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"Invalid {name} value: {value}; {name} must be {allowed}")
    return x


def _check_betas(betas) -> tuple[float, float]:
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"Invalid betas value: {betas!r}; betas must be a pair (beta1, beta2)") from None
    out = []
    for index, beta in enumerate((b1, b2)):
        x = _real(f"betas[{index}]", beta)
        if not 0.0 <= x < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}; "
                             f"betas[{index}] must be in [0, 1)")
        out.append(x)
    return out[0], out[1]


def _check_flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"Invalid {name} value: {value!r}; {name} must be True or False")
    return bool(value)


def _step_lr(lr, base_lr):
    """The learning rate of one step: the configured one, or an override (a scheduler's float,
    or a column of one rate per run, shape (k, 1), for sweeps). An override must be finite and
    >= 0, as a scheduler may anneal it to exactly 0."""
    if lr is None:
        return base_lr
    if isinstance(lr, np.ndarray):
        if not np.all((lr >= 0.0) & (lr < _INF)):
            _bad_override(lr)
    elif not 0.0 <= lr < _INF:
        _bad_override(lr)
    return lr


def _bad_override(lr):
    raise ValueError(f"Invalid learning rate override: {lr}; lr must be finite and >= 0 (or None)")


def _c(x: float) -> np.ndarray:
    """A scalar as a 0-d float64 array: the same number, but NumPy 2 combines a small array with
    a 0-d array about a third faster than with a Python float, and scalar-array products are most
    of an update's cost on two weights. Per-step scalars are wrapped inline with ``np.array``."""
    return np.array(x, dtype=np.float64)


def _zeros(params) -> np.ndarray:
    return np.zeros(np.shape(params), dtype=np.float64)


# --------------------------------------------------------------------------- the rules


def sgd(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
        maximize=False) -> Optimizer:
    """Stochastic gradient descent with optional (Nesterov) momentum, torch.optim.SGD.

        g ← g + wd·p
        if momentum ≠ 0:
            buf ← g (first step, no dampening)   else   buf ← momentum·buf + (1 − dampening)·g
            g ← g + momentum·buf (nesterov)        else   g ← buf
        p ← p − lr·g

    torch's momentum, which "subtly differs from Sutskever et al.": lr multiplies the whole
    direction and is not folded into the buffer, and the buffer starts as a copy of the first
    gradient.
    """
    hyper = dict(lr=_check_lr(lr), momentum=_check("momentum", momentum, 0.0),
                 dampening=_check("dampening", dampening, -_INF),
                 weight_decay=_check("weight_decay", weight_decay, 0.0),
                 nesterov=_check_flag("nesterov", nesterov), maximize=_check_flag("maximize", maximize))
    if hyper["nesterov"] and (hyper["momentum"] <= 0 or hyper["dampening"] != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening "
                         f"(got momentum={momentum}, dampening={dampening})")
    base_lr, wd, momentum = hyper["lr"], hyper["weight_decay"], hyper["momentum"]
    nesterov, maximize = hyper["nesterov"], hyper["maximize"]
    wd_c, mom, damp = _c(wd), _c(momentum), _c(1.0 - hyper["dampening"])

    def init(params):
        return SGDState(0, _zeros(params))

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        if maximize:
            grad = -grad
        if wd != 0:
            grad = grad + wd_c * params
        buf = state.momentum_buffer
        if momentum != 0:
            buf = grad.copy() if state.count == 0 else mom * buf + damp * grad
            grad = grad + mom * buf if nesterov else buf
        return params - np.array(lr) * grad, SGDState(state.count + 1, buf)

    return Optimizer("sgd", base_lr, hyper, init, update)


def adagrad(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
            maximize=False) -> Optimizer:
    """Adagrad, torch.optim.Adagrad.

        t ← t + 1 ;  g ← g + wd·p
        clr = lr / (1 + (t − 1)·lr_decay)
        sum ← sum + g²                 (sum starts at initial_accumulator_value)
        p ← p − clr · g / (sqrt(sum) + eps)

    eps is outside the square root, as in torch.
    """
    hyper = dict(lr=_check_lr(lr), lr_decay=_check("lr_decay", lr_decay, 0.0),
                 weight_decay=_check("weight_decay", weight_decay, 0.0),
                 initial_accumulator_value=_check("initial_accumulator_value", initial_accumulator_value, 0.0),
                 eps=_check("eps", eps, 0.0), maximize=_check_flag("maximize", maximize))
    base_lr, lr_decay, initial = hyper["lr"], hyper["lr_decay"], hyper["initial_accumulator_value"]
    wd, maximize = hyper["weight_decay"], hyper["maximize"]
    wd_c, eps = _c(wd), _c(hyper["eps"])

    def init(params):
        return AdagradState(0, np.full(np.shape(params), initial, dtype=np.float64))

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        t = state.count + 1
        if maximize:
            grad = -grad
        if wd != 0:
            grad = grad + wd_c * params
        clr = lr / (1 + (t - 1) * lr_decay)
        total = state.sum + grad * grad
        return params - np.array(clr) * (grad / (np.sqrt(total) + eps)), AdagradState(t, total)

    return Optimizer("adagrad", base_lr, hyper, init, update)


def rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
            maximize=False) -> Optimizer:
    """RMSprop, torch.optim.RMSprop.

        g ← g + wd·p
        v ← alpha·v + (1 − alpha)·g²
        avg = sqrt(v − gbar²) with gbar ← lerp(gbar, g, 1 − alpha)   if centered   else sqrt(v)
        avg ← avg + eps
        buf ← momentum·buf + g/avg ; p ← p − lr·buf    if momentum > 0   else   p ← p − lr·g/avg

    No bias correction, and eps outside the square root (Hinton's lecture and TensorFlow put it
    inside).
    """
    hyper = dict(lr=_check_lr(lr), alpha=_check("alpha", alpha, 0.0, 1.0, high_open=False),
                 eps=_check("eps", eps, 0.0), weight_decay=_check("weight_decay", weight_decay, 0.0),
                 momentum=_check("momentum", momentum, 0.0), centered=_check_flag("centered", centered),
                 maximize=_check_flag("maximize", maximize))
    base_lr, alpha, w = hyper["lr"], _c(hyper["alpha"]), _c(1.0 - hyper["alpha"])
    wd, momentum = hyper["weight_decay"], hyper["momentum"]
    centered, maximize = hyper["centered"], hyper["maximize"]
    eps, wd_c, mom = _c(hyper["eps"]), _c(wd), _c(momentum)

    def init(params):
        return RMSpropState(0, _zeros(params), _zeros(params), _zeros(params))

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        if maximize:
            grad = -grad
        if wd != 0:
            grad = grad + wd_c * params
        v = alpha * state.square_avg + w * grad * grad
        gbar, buf = state.grad_avg, state.momentum_buffer
        if centered:
            gbar = gbar + w * (grad - gbar)
            avg = np.sqrt(v - gbar * gbar) + eps
        else:
            avg = np.sqrt(v) + eps
        if momentum > 0:
            buf = mom * buf + grad / avg
            params = params - np.array(lr) * buf
        else:
            params = params - np.array(lr) * (grad / avg)
        return params, RMSpropState(state.count + 1, v, gbar, buf)

    return Optimizer("rmsprop", base_lr, hyper, init, update)


def adadelta(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False) -> Optimizer:
    """Adadelta, torch.optim.Adadelta.

        g ← g + wd·p
        v ← rho·v + (1 − rho)·g²
        delta = sqrt(u + eps) / sqrt(v + eps) · g      (u from the previous step; eps inside both)
        u ← rho·u + (1 − rho)·delta²
        p ← p − lr·delta

    Zeiler's paper has no lr; torch multiplies the step by lr (default 1.0, which is the paper).
    """
    hyper = dict(lr=_check_lr(lr), rho=_check("rho", rho, 0.0, 1.0, high_open=False),
                 eps=_check("eps", eps, 0.0), weight_decay=_check("weight_decay", weight_decay, 0.0),
                 maximize=_check_flag("maximize", maximize))
    base_lr, rho, w = hyper["lr"], _c(hyper["rho"]), _c(1.0 - hyper["rho"])
    wd, maximize = hyper["weight_decay"], hyper["maximize"]
    wd_c, eps = _c(wd), _c(hyper["eps"])

    def init(params):
        return AdadeltaState(0, _zeros(params), _zeros(params))

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        if maximize:
            grad = -grad
        if wd != 0:
            grad = grad + wd_c * params
        v = rho * state.square_avg + w * grad * grad
        delta = np.sqrt(state.acc_delta + eps) / np.sqrt(v + eps) * grad
        u = rho * state.acc_delta + w * delta * delta
        return params - np.array(lr) * delta, AdadeltaState(state.count + 1, v, u)

    return Optimizer("adadelta", base_lr, hyper, init, update)


def adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
         decoupled_weight_decay=False) -> Optimizer:
    """Adam, torch.optim.Adam (and AdamW through ``decoupled_weight_decay``).

        t ← t + 1
        p ← p·(1 − lr·wd)  if decoupled   else   g ← g + wd·p
        m ← lerp(m, g, 1 − β1) ;  v ← β2·v + (1 − β2)·g²
        v_max ← max(v_max, v)  and use v_max below instead of v    (amsgrad; the max of the raw v)
        p ← p − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)

    This is torch's form, not the paper's m̂/(sqrt(v̂) + eps): eps is added after the division by
    sqrt(1 − β2^t), so eps itself is not bias-corrected (optax's ``eps_root=0`` matches it).
    """
    b1, b2 = _check_betas(betas)
    hyper = dict(lr=_check_lr(lr), betas=(b1, b2), eps=_check("eps", eps, 0.0),
                 weight_decay=_check("weight_decay", weight_decay, 0.0),
                 amsgrad=_check_flag("amsgrad", amsgrad), maximize=_check_flag("maximize", maximize),
                 decoupled_weight_decay=_check_flag("decoupled_weight_decay", decoupled_weight_decay))
    base_lr, wd, amsgrad = hyper["lr"], hyper["weight_decay"], hyper["amsgrad"]
    decoupled, maximize = hyper["decoupled_weight_decay"], hyper["maximize"]
    w1, beta2, w2, eps, wd_c = _c(1.0 - b1), _c(b2), _c(1.0 - b2), _c(hyper["eps"]), _c(wd)

    def init(params):
        return AdamState(0, _zeros(params), _zeros(params), _zeros(params))

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        t = state.count + 1
        if maximize:
            grad = -grad
        if wd != 0:
            if decoupled:
                params = params * np.array(1 - lr * wd)
            else:
                grad = grad + wd_c * params
        m = state.mu + w1 * (grad - state.mu)
        v = beta2 * state.nu + w2 * grad * grad
        v_max = np.maximum(state.nu_max, v) if amsgrad else state.nu_max
        denom = np.sqrt(v_max if amsgrad else v) / np.array((1 - b2**t) ** 0.5) + eps  # eps after bc2
        return params - np.array(lr / (1 - b1**t)) * (m / denom), AdamState(t, m, v, v_max)

    return Optimizer("adam", base_lr, hyper, init, update)


def adamw(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
          maximize=False) -> Optimizer:
    """AdamW, torch.optim.AdamW: Adam with decoupled weight decay, weight_decay=0.01 by default.

        p ← p·(1 − lr·wd)  first, then Adam's step with the unchanged gradient.

    Like torch (and optax), the decay is multiplied by lr; Loshchilov & Hutter scale it by the
    schedule multiplier only.
    """
    opt = adam(lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay=True)
    hyper = {k: v for k, v in opt.hyper.items() if k != "decoupled_weight_decay"}
    return opt._replace(name="adamw", hyper=hyper)


def nadam(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
          decoupled_weight_decay=False, maximize=False) -> Optimizer:
    """NAdam, torch.optim.NAdam (Dozat's Nesterov Adam with the μ-schedule).

        t ← t + 1 ;  p ← p·(1 − lr·wd) if decoupled else g ← g + wd·p
        μ_t = β1·(1 − 0.5·0.96^(t·ψ)) ;  μ_t+1 = β1·(1 − 0.5·0.96^((t+1)·ψ)) ;  Π_t = Π_t−1·μ_t
        m ← lerp(m, g, 1 − β1) ;  v ← β2·v + (1 − β2)·g² ;  denom = sqrt(v / (1 − β2^t)) + eps
        p ← p − lr·(1 − μ_t)/(1 − Π_t) · g/denom
        p ← p − lr·μ_t+1/(1 − Π_t·μ_t+1) · m/denom

    Π is kept as a float64 scalar, as torch does in a float64 run. m has no bias correction: the
    μ-schedule takes its place.
    """
    b1, b2 = _check_betas(betas)
    hyper = dict(lr=_check_lr(lr), betas=(b1, b2), eps=_check("eps", eps, 0.0),
                 weight_decay=_check("weight_decay", weight_decay, 0.0),
                 momentum_decay=_check("momentum_decay", momentum_decay, 0.0),
                 decoupled_weight_decay=_check_flag("decoupled_weight_decay", decoupled_weight_decay),
                 maximize=_check_flag("maximize", maximize))
    base_lr, wd, psi = hyper["lr"], hyper["weight_decay"], hyper["momentum_decay"]
    decoupled, maximize = hyper["decoupled_weight_decay"], hyper["maximize"]
    w1, beta2, w2, eps, wd_c = _c(1.0 - b1), _c(b2), _c(1.0 - b2), _c(hyper["eps"]), _c(wd)

    def init(params):
        return NAdamState(0, 1.0, _zeros(params), _zeros(params))

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        t = state.count + 1
        if maximize:
            grad = -grad
        if wd != 0:
            if decoupled:
                params = params * np.array(1 - lr * wd)
            else:
                grad = grad + wd_c * params
        mu_t = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        product = state.mu_product * mu_t
        m = state.mu + w1 * (grad - state.mu)
        v = beta2 * state.nu + w2 * grad * grad
        denom = np.sqrt(v / np.array(1 - b2**t)) + eps
        params = params + np.array(-lr * (1.0 - mu_t) / (1.0 - product)) * (grad / denom)
        params = params + np.array((-lr * mu_next) / (1.0 - product * mu_next)) * (m / denom)
        return params, NAdamState(t, product, m, v)

    return Optimizer("nadam", base_lr, hyper, init, update)


def adamax(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False) -> Optimizer:
    """Adamax, torch.optim.Adamax (Adam with the infinity norm).

        t ← t + 1 ;  g ← g + wd·p
        m ← lerp(m, g, 1 − β1) ;  u ← max(β2·u, |g| + eps)
        p ← p − (lr / (1 − β1^t)) · m / u

    torch puts eps inside the max (the paper has no eps); u has no bias correction.
    """
    b1, b2 = _check_betas(betas)
    hyper = dict(lr=_check_lr(lr), betas=(b1, b2), eps=_check("eps", eps, 0.0),
                 weight_decay=_check("weight_decay", weight_decay, 0.0),
                 maximize=_check_flag("maximize", maximize))
    base_lr, wd, maximize = hyper["lr"], hyper["weight_decay"], hyper["maximize"]
    w1, beta2, eps, wd_c = _c(1.0 - b1), _c(b2), _c(hyper["eps"]), _c(wd)

    def init(params):
        return AdamaxState(0, _zeros(params), _zeros(params))

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        t = state.count + 1
        if maximize:
            grad = -grad
        if wd != 0:
            grad = grad + wd_c * params
        m = state.mu + w1 * (grad - state.mu)
        u = np.maximum(beta2 * state.inf_norm, np.abs(grad) + eps)
        return params - np.array(lr / (1 - b1**t)) * (m / u), AdamaxState(t, m, u)

    return Optimizer("adamax", base_lr, hyper, init, update)


def radam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
          maximize=False) -> Optimizer:
    """RAdam, torch.optim.RAdam (Liu et al., rectified Adam).

        t ← t + 1 ;  p ← p·(1 − lr·wd) if decoupled else g ← g + wd·p
        m ← lerp(m, g, 1 − β1) ;  v ← β2·v + (1 − β2)·g² ;  m̂ = m / (1 − β1^t)
        ρ∞ = 2/(1 − β2) − 1 ;  ρ_t = ρ∞ − 2t·β2^t / (1 − β2^t)
        if ρ_t > 5:  r = sqrt((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t))
                     p ← p − m̂·lr · sqrt(1 − β2^t)/(sqrt(v) + eps) · r
        else:        p ← p − m̂·lr          (plain momentum; steps 1–5 with β2 = 0.999)

    torch's threshold is ρ_t > 5 (the paper uses 4), and eps is added before the bias correction.
    """
    b1, b2 = _check_betas(betas)
    hyper = dict(lr=_check_lr(lr), betas=(b1, b2), eps=_check("eps", eps, 0.0),
                 weight_decay=_check("weight_decay", weight_decay, 0.0),
                 decoupled_weight_decay=_check_flag("decoupled_weight_decay", decoupled_weight_decay),
                 maximize=_check_flag("maximize", maximize))
    base_lr, wd = hyper["lr"], hyper["weight_decay"]
    decoupled, maximize = hyper["decoupled_weight_decay"], hyper["maximize"]
    w1, beta2, w2, eps, wd_c = _c(1.0 - b1), _c(b2), _c(1.0 - b2), _c(hyper["eps"]), _c(wd)
    rho_inf = 2 / (1 - b2) - 1

    def init(params):
        return RAdamState(0, _zeros(params), _zeros(params))

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        t = state.count + 1
        if maximize:
            grad = -grad
        if wd != 0:
            if decoupled:
                params = params * np.array(1 - lr * wd)
            else:
                grad = grad + wd_c * params
        m = state.mu + w1 * (grad - state.mu)
        v = beta2 * state.nu + w2 * grad * grad
        bc2 = 1 - b2**t
        m_hat = m / np.array(1 - b1**t)
        rho_t = rho_inf - 2 * t * (b2**t) / bc2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = np.array(bc2**0.5) / (np.sqrt(v) + eps)  # eps before the bias correction
            params = params - m_hat * np.array(lr) * adaptive * np.array(rect)
        else:
            params = params - m_hat * np.array(lr)
        return params, RAdamState(t, m, v)

    return Optimizer("radam", base_lr, hyper, init, update)


# --------------------------------------------------------------------------- turn 3: five more


class RpropState(NamedTuple):
    count: int
    prev: np.ndarray  # the gradient of the previous step, zeroed where its sign flipped
    step_size: np.ndarray  # one step size per weight


class ASGDState(NamedTuple):
    count: int
    eta: float | np.ndarray  # the step size of the next step (one per run for a column of lrs)
    mu: float  # the averaging weight of the next step
    ax: np.ndarray  # the averaged iterate


class AdafactorState(NamedTuple):
    count: int
    variance: np.ndarray  # the unfactored second moment of a vector parameter


class MuonState(NamedTuple):
    count: int
    momentum_buffer: np.ndarray


def _lerp(a, b, weight: float):
    """torch.lerp's two forms, fused as its CPU kernel: from `a` for a small weight, from `b`
    otherwise (each is exact at its own end)."""
    if abs(weight) < 0.5:
        return fma(weight, b - a, a)
    return fma(a - b, 1.0 - weight, b)


def _row_norm(x: np.ndarray) -> np.ndarray:
    """The 2-norm of each run's weights, (..., 1), accumulated as torch's norm kernel does: each
    square fused into the running sum (for two weights sqrt(fma(x1, x1, x0·x0)))."""
    total = x[..., :1] * x[..., :1]
    for i in range(1, x.shape[-1]):
        total = fma(x[..., i:i + 1], x[..., i:i + 1], total)
    return np.sqrt(total)


def _pair(name: str, value, low: float = -_INF) -> tuple[float, float]:
    try:
        first, second = value
    except (TypeError, ValueError):
        raise ValueError(f"Invalid {name} value: {value!r}; {name} must be a pair of numbers") from None
    return _check(f"{name}[0]", first, low), _check(f"{name}[1]", second, low)


def rprop(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0), maximize=False) -> Optimizer:
    """Rprop, torch.optim.Rprop (resilient backpropagation): only the sign of the gradient is used,
    and every weight has its own step size.

        s = sign(g·prev)                   per weight: +1, −1 or 0
        f = etaplus if s > 0, etaminus if s < 0, 1 if s = 0
        step_size ← clamp(step_size·f, step_size_min, step_size_max)
        g ← 0 where f = etaminus           after a sign change the weight rests one step
        p ← p − sign(g)·step_size ;  prev ← g

    As in torch, the step sizes start at the lr of the first step and lr is not read again
    (a scheduler changes nothing after that). This is torch's Rprop without weight backtracking
    (Riedmiller & Braun's "Rprop−").
    """
    minus, plus = _pair("etas", etas)
    if not 0.0 < minus < 1.0 < plus < _INF:
        raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
    low, high = _pair("step_sizes", step_sizes, 0.0)
    hyper = dict(lr=_check_lr(lr), etas=(minus, plus), step_sizes=(low, high),
                 maximize=_check_flag("maximize", maximize))
    base_lr, maximize = hyper["lr"], hyper["maximize"]

    def init(params):
        return RpropState(0, _zeros(params), np.full(np.shape(params), base_lr))

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        if maximize:
            grad = -grad
        step_size = state.step_size if state.count else np.broadcast_to(lr, params.shape) + _zeros(params)
        s = np.sign(grad * state.prev)
        factor = np.where(s > 0, plus, np.where(s < 0, minus, 1.0))
        step_size = np.minimum(np.maximum(step_size * factor, low), high)
        grad = np.where(factor == minus, 0.0, grad)
        return params - np.sign(grad) * step_size, RpropState(state.count + 1, grad, step_size)

    return Optimizer("rprop", base_lr, hyper, init, update)


def asgd(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, maximize=False) -> Optimizer:
    """Averaged SGD, torch.optim.ASGD (Polyak–Juditsky averaging, with a decaying step size).

        t ← t + 1 ;  g ← g + wd·p
        p ← p·(1 − lambd·eta) ;  p ← p − eta·g            eta, mu from the previous step
        ax ← p  if mu = 1   else   ax + mu·(p − ax)
        eta ← lr / (1 + lambd·lr·t)^alpha ;  mu ← 1 / max(1, t − t0)

    eta starts at the lr of the first step and mu at 1. The state's ``ax`` is the averaged
    iterate: a copy of p until step t0 + 1, then the running mean of the iterates since t0
    (with torch's default t0 = 1e6, a copy in any run a page shows). torch reports p, not ax,
    as the weights; so does this.
    """
    hyper = dict(lr=_check_lr(lr), lambd=_check("lambd", lambd, 0.0), alpha=_check("alpha", alpha, 0.0),
                 t0=_check("t0", t0, 0.0), maximize=_check_flag("maximize", maximize))
    wd = _real("weight_decay", weight_decay)
    if not 0.0 <= wd < _INF:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    hyper["weight_decay"] = wd
    base_lr, lambd, alpha_, t0 = hyper["lr"], hyper["lambd"], hyper["alpha"], hyper["t0"]
    maximize, wd_c = hyper["maximize"], _c(wd)

    def init(params):
        return ASGDState(0, base_lr, 1.0, _zeros(params))

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        t = state.count + 1
        eta = lr if state.count == 0 else state.eta
        if maximize:
            grad = -grad
        if wd != 0:
            grad = fma(wd, params, grad)
        params = params * np.array(1 - lambd * eta)
        params = fma(-np.asarray(eta), grad, params)  # torch's fused add_(grad, alpha=-eta)
        ax = params.copy() if state.mu == 1 else state.ax + (params - state.ax) * np.array(state.mu)
        eta = lr / (1 + lambd * lr * t) ** alpha_
        return params, ASGDState(t, eta, 1 / max(1.0, t - t0), ax)

    return Optimizer("asgd", base_lr, hyper, init, update)


def adafactor(lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0,
              maximize=False) -> Optimizer:
    """Adafactor, torch.optim.Adafactor (Shazeer & Stern 2018), on a vector parameter.

        t ← t + 1 ;  eps1 = float64 machine epsilon if eps[0] is None ;  eps2 = eps[1]
        β = t^beta2_decay ;  ρ = min(lr, 1/√t) ;  α = max(eps2, ‖p‖/√n)·ρ     (p before decay)
        p ← p·(1 − lr·wd)
        v ← lerp(v, g², β)                 starts at 0; β = 1 at t = 1, so v = g² then
        u = g / sqrt(max(v, eps1²))
        p ← p − α / max(1, ‖u‖/(√n·d)) · u

    Our two weights are one vector of n = 2, and torch does not factor a vector's second moment
    (``variance`` in its state): that is the rule above, what torch does on a parameter of shape
    (2,). On a (1, 2) matrix torch would keep a row factor (1, 1) and a column factor (1, 2) whose
    product over the row mean gives back the same v up to rounding, so the factoring shows only
    in network mode's matrices. The step is relative: its size is about ρ·‖p‖/√n, never below
    ρ·eps2, and the update's RMS is clipped to d.
    """
    try:
        given1, given2 = eps
    except (TypeError, ValueError):
        raise ValueError(f"Invalid eps value: {eps!r}; eps must be a pair (eps1 or None, eps2)") from None
    eps1 = None if given1 is None else _real("eps[0]", given1)
    if eps1 is not None and not 0.0 <= eps1 < _INF:
        raise ValueError(f"epsilon1 should be >= 0 but is: {given1}")
    eps2 = _real("eps[1]", given2)
    if not 0.0 <= eps2 < _INF:
        raise ValueError(f"epsilon2 should be >= 0 but is: {given2}")
    x = _real("lr", lr)
    if not 0.0 < x < _INF:
        raise ValueError(f"Learning rate should be > 0 but is: {lr}")
    decay, d_, wd = _real("beta2_decay", beta2_decay), _real("d", d), _real("weight_decay", weight_decay)
    if not -_INF < decay <= 0.0:
        raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
    if not 1.0 <= d_ < _INF:
        raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
    if not 0.0 <= wd < _INF:
        raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
    hyper = dict(lr=x, beta2_decay=decay, eps=(eps1, eps2), d=d_, weight_decay=wd,
                 maximize=_check_flag("maximize", maximize))
    base_lr, maximize = x, hyper["maximize"]
    floor = _c((np.finfo(np.float64).eps if eps1 is None else eps1) ** 2)

    def init(params):
        return AdafactorState(0, _zeros(params))

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        t = state.count + 1
        if maximize:
            grad = -grad
        root_n = params.shape[-1] ** 0.5
        beta = float(t) ** decay
        rho = np.minimum(lr, 1 / float(t) ** 0.5)
        alpha = np.maximum(eps2, _row_norm(params) / root_n) * rho
        if wd != 0:
            params = params * np.array(1 - lr * wd)
        v = _lerp(state.variance, grad * grad, beta)
        u = 1.0 / np.sqrt(np.maximum(v, floor)) * grad
        denom = np.maximum(1.0, _row_norm(u) / (root_n * d_))
        return fma(-alpha / denom, u, params), AdafactorState(t, v)

    return Optimizer("adafactor", base_lr, hyper, init, update)


MUON_COEFFICIENTS = (3.4445, -4.775, 2.0315)


def muon(lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, ns_coefficients=MUON_COEFFICIENTS,
         eps=1e-7, ns_steps=5, adjust_lr_fn=None) -> Optimizer:
    """Muon, torch.optim.Muon: momentum, orthogonalized by a Newton–Schulz iteration in bfloat16.

        buf ← lerp(buf, g, 1 − momentum)                  starts at 0
        u = lerp(g, buf, momentum)  if nesterov  else  buf
        O = NS(u): X = bf16(u)/max(‖X‖, eps), then ns_steps × {A = XXᵀ; X ← aX + (bA + cA²)X}
        p ← p·(1 − lr·wd) ;  p ← p − lr'·O          lr' = lr·sqrt(max(1, rows/cols)) ("original"
                                                     or None), 0.2·sqrt(max(rows, cols))·lr
                                                     ("match_rms_adamw")

    torch takes 2-D parameters only; our two weights are the 1×2 matrix torch would be given
    (a (k, 2) batch is k such matrices, each its own Muon run). On a 1×n matrix X·Xᵀ is the
    scalar ‖X‖², so O is u/‖u‖ scaled by the iteration's polynomial: a normalized momentum step
    whose length (about 0.7 with the default coefficients) hardly depends on the gradient's.

    bfloat16 exactly as torch: ``engine.rounding`` rounds float32 bit patterns to the nearest
    even bfloat16 (add 0x7FFF plus the lowest kept bit, clear the low 16 bits) after every
    operation torch does in bfloat16, with each operation computed in float32 as torch's CPU
    kernels do; the result O is a bfloat16 value, exact in float64.
    """
    x = _real("lr", lr)
    if not 0.0 < x < _INF:
        raise ValueError(f"Learning rate should be > 0 but is: {lr}")
    mom, wd = _real("momentum", momentum), _real("weight_decay", weight_decay)
    if not 0.0 <= mom < _INF:
        raise ValueError(f"momentum should be >= 0 but is: {momentum}")
    if not 0.0 <= wd < _INF:
        raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
    if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
        raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
    if isinstance(ns_coefficients, (str, bytes)) or not hasattr(ns_coefficients, "__len__") \
            or len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    coefficients = tuple(_check(f"ns_coefficients[{i}]", v, -_INF) for i, v in enumerate(ns_coefficients))
    if isinstance(ns_steps, bool) or not isinstance(ns_steps, numbers.Integral) or ns_steps < 0:
        raise ValueError(f"Invalid ns_steps value: {ns_steps!r}; ns_steps must be a whole number >= 0")
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    hyper = dict(lr=x, weight_decay=wd, momentum=mom, nesterov=_check_flag("nesterov", nesterov),
                 ns_coefficients=coefficients, eps=_check("eps", eps, 0.0), ns_steps=int(ns_steps),
                 adjust_lr_fn=adjust_lr_fn)
    base_lr, nesterov, eps_ = x, hyper["nesterov"], hyper["eps"]

    def ratio(cols: int) -> float:
        rows = 1  # each run's weights are one 1×n matrix
        if adjust_lr_fn is None or adjust_lr_fn == "original":
            return math.sqrt(max(1, rows / cols))
        return 0.2 * math.sqrt(max(rows, cols))

    def init(params):
        return MuonState(0, _zeros(params))

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        buf = _lerp(state.momentum_buffer, grad, 1 - mom)
        u = _lerp(grad, buf, mom) if nesterov else buf
        ortho = newton_schulz_row(u, coefficients, ns_steps, eps_)
        params = params * np.array(1 - lr * wd)
        params = fma(-(lr * ratio(params.shape[-1])), ortho, params)
        return params, MuonState(state.count + 1, buf)

    return Optimizer("muon", base_lr, hyper, init, update)


# --------------------------------------------------------------------------- methods that need the loss
#
# LBFGS evaluates the loss at trial points inside one step, and Newton needs the Hessian, so a
# gradient alone cannot drive them. They have ``step(params, objective, state, lr=None)`` beside
# ``update``: ``objective(w) -> (loss, grad)`` is torch's closure (the loss and gradient on this
# step's mini-batch, clipped as a training loop would), and ``objective.hessian(w)`` the exact
# Hessian. ``update`` raises for them; ``engine.train.step_epoch`` calls whichever the
# optimizer has.


class LBFGSState(NamedTuple):
    """torch's LBFGS state for one run: counters, the last direction d and step t, the (s, y)
    history with ro = 1/yᵀs, H_diag, the previous gradient and loss."""

    func_evals: int
    n_iter: int
    d: np.ndarray | None = None
    t: float | None = None
    old_dirs: tuple = ()  # the y's
    old_stps: tuple = ()  # the s's
    ro: tuple = ()
    H_diag: float = 1.0
    prev_flat_grad: np.ndarray | None = None
    prev_loss: float | None = None


class LBFGSRuns(NamedTuple):
    """The states of k independent LBFGS runs, an object array (k,) of LBFGSState."""

    runs: np.ndarray

    @property
    def func_evals(self) -> np.ndarray:
        return np.array([run.func_evals for run in self.runs], dtype=np.int64)


class NewtonState(NamedTuple):
    count: int


def _needs_objective(name: str):
    def update(params, grad, state, lr=None):
        raise ValueError(f"{name} needs the loss, not just a gradient: call "
                         "step(params, objective, state) with objective(w) -> (loss, grad)")
    return update


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # torch's dot of two weights is a0·b0 + a1·b1 unfused (np.dot's BLAS fuses it); Python
    # floats, as LBFGS steps one run at a time and NumPy is slow on 2-element arrays
    return sum(x * y for x, y in zip(a.tolist(), b.tolist()))


def _two_loop(flat_grad, dirs, stps, ro, h_diag) -> np.ndarray:
    """d = −H·g by L-BFGS's two-loop recursion over the (s, y) pairs, oldest last then oldest
    first, from H_diag·I; the vector updates fused as torch's add_ is. A run's few weights are
    done on Python floats (the recursion is sequential, and NumPy is slow on tiny arrays)."""
    if flat_grad.size == 2:  # two weights, the page's case: the same steps on plain floats
        return _two_loop_pair(flat_grad, dirs, stps, ro, h_diag)
    small = flat_grad.size <= 8
    if small:
        dirs, stps = [y.tolist() for y in dirs], [s.tolist() for s in stps]
    dot = (lambda a, b: sum(x * y for x, y in zip(a, b))) if small else _dot
    axpy = (lambda a, x, y: [fma_float(a, u, v) for u, v in zip(x, y)]) if small else fma
    q, al = (-flat_grad).tolist() if small else -flat_grad, [0.0] * len(dirs)
    for i in range(len(dirs) - 1, -1, -1):
        al[i] = dot(stps[i], q) * ro[i]
        q = axpy(-al[i], dirs[i], q)
    r = [x * h_diag for x in q] if small else q * np.array(h_diag)
    for i in range(len(dirs)):
        be_i = dot(dirs[i], r) * ro[i]
        r = axpy(al[i] - be_i, stps[i], r)
    return np.array(r, dtype=np.float64).reshape(flat_grad.shape)


def _two_loop_pair(flat_grad, dirs, stps, ro, h_diag) -> np.ndarray:
    """_two_loop for two weights, written out on floats (about 3x faster than the lists)."""
    ys, ss = [y.tolist() for y in dirs], [s.tolist() for s in stps]
    q0, q1 = (-flat_grad).tolist()
    al = [0.0] * len(ys)
    for i in range(len(ys) - 1, -1, -1):
        (y0, y1), (s0, s1) = ys[i], ss[i]
        al[i] = a = (s0 * q0 + s1 * q1) * ro[i]
        q0, q1 = fma_float(-a, y0, q0), fma_float(-a, y1, q1)
    r0, r1 = q0 * h_diag, q1 * h_diag
    for i in range(len(ys)):
        (y0, y1), (s0, s1) = ys[i], ss[i]
        c = al[i] - (y0 * r0 + y1 * r1) * ro[i]
        r0, r1 = fma_float(c, s0, r0), fma_float(c, s1, r1)
    return np.array([r0, r1], dtype=np.float64)


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """The minimizer of the cubic through two points with their slopes, kept inside `bounds`
    (torch's, from minFunc)."""
    xmin, xmax = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    if x1 == x2:
        # A bracket of zero width (tolerance_change = 0 lets the zoom shrink it to a point):
        # torch divides by zero here and raises ZeroDivisionError from step(). There is nowhere
        # else to go, so the point itself, kept inside the bounds; the search then runs out.
        return min(max(x1, xmin), xmax)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(pos, xmin), xmax)
    return (xmin + xmax) / 2.0


def _strong_wolfe(evaluate, t, d, f, g, gtd, tolerance_change, max_ls, c1=1e-4, c2=0.9):
    """torch's strong-Wolfe line search along d from loss f, gradient g, slope gtd: bracket a
    step, then zoom by cubic interpolation. Returns (loss, grad, t, evaluations)."""
    d_norm = float(np.max(np.abs(d)))
    f_new, g_new = evaluate(t)
    evals, gtd_new = 1, _dot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done, ls_iter = False, 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bf, bg, bgtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bf, bg, done = [t], [f_new], [g_new], True
            break
        if gtd_new >= 0:
            bracket, bf, bg, bgtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = t, _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                          bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = evaluate(t)
        evals, gtd_new, ls_iter = evals + 1, _dot(g_new, d), ls_iter + 1
    if ls_iter == max_ls:
        bracket, bf, bg = [0, t], [f, f_new], [g, g_new]
    insuf_progress = False
    low, high = (0, 1) if bf[0] <= bf[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bf[0], bgtd[0], bracket[1], bf[1], bgtd[1])
        top, bottom = max(bracket), min(bracket)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:  # too close to an end: move away from it
            if insuf_progress or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = evaluate(t)
        evals, gtd_new, ls_iter = evals + 1, _dot(g_new, d), ls_iter + 1
        if f_new > (f + c1 * t * gtd) or f_new >= bf[low]:
            bracket[high], bf[high], bg[high], bgtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if bf[0] <= bf[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bf[high], bg[high], bgtd[high] = bracket[low], bf[low], bg[low], bgtd[low]
            bracket[low], bf[low], bg[low], bgtd[low] = t, f_new, g_new, gtd_new
    return bf[low], bg[low], bracket[low], evals


def _whole(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"Invalid {name} value: {value!r}; {name} must be a whole number >= {low}")
    return int(value)


def lbfgs(lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
          history_size=100, line_search_fn=None) -> Optimizer:
    """L-BFGS, torch.optim.LBFGS: one step runs up to max_iter quasi-Newton iterations.

        once per step:   (f, g) = objective(p) ;  stop if max|g| ≤ tolerance_grad
        each iteration:  y = g − g_prev ;  s = t·d ;  keep (s, y) if yᵀs > 1e-10 (oldest dropped
                         past history_size), H_diag = yᵀs / yᵀy
                         d = −H·g by the two-loop recursion (H_diag·I as the initial H)
                         t = min(1, 1/‖g‖₁)·lr on the very first iteration, else lr
                         stop if gᵀd > −tolerance_change
                         strong_wolfe: t from the line search (cubic interpolation, c1 = 1e-4,
                         c2 = 0.9, at most max_eval − evaluations so far); p ← p + t·d
                         None: p ← p + t·d, then (f, g) = objective(p) unless it is the last
                         iteration
                         stop at max_iter, at max_eval evaluations, when max|g| ≤ tolerance_grad,
                         when max|t·d| ≤ tolerance_change or |f − f_prev| < tolerance_change

    The state (history, direction, previous gradient) carries over from one step to the next, as
    torch's does, and ``func_evals`` counts every evaluation. Runs in a (k, d) batch cannot share
    a line search, so they are stepped one after another (LBFGSRuns holds their states). torch
    raises "only 'strong_wolfe' is supported" at the step; here at creation.
    """
    hyper = dict(lr=_check_lr(lr), max_iter=_whole("max_iter", max_iter, 1))
    hyper["max_eval"] = (hyper["max_iter"] * 5 // 4 if max_eval is None
                         else _whole("max_eval", max_eval, 1))
    hyper.update(tolerance_grad=_check("tolerance_grad", tolerance_grad, 0.0),
                 tolerance_change=_check("tolerance_change", tolerance_change, 0.0),
                 history_size=_whole("history_size", history_size, 1))
    if line_search_fn is not None and line_search_fn != "strong_wolfe":
        raise ValueError(f"Invalid line_search_fn value: {line_search_fn!r}; "
                         "only 'strong_wolfe' is supported (or None)")
    hyper["line_search_fn"] = line_search_fn
    base_lr, max_iter, max_eval = hyper["lr"], hyper["max_iter"], hyper["max_eval"]
    tol_grad, tol_change, history = hyper["tolerance_grad"], hyper["tolerance_change"], hyper["history_size"]

    def init(params):
        if np.ndim(params) == 1:
            return LBFGSState(0, 0)
        runs = np.empty(len(params), dtype=object)
        runs[:] = [LBFGSState(0, 0) for _ in range(len(params))]
        return LBFGSRuns(runs)

    def step(params, objective, state, lr=None):
        lr = _step_lr(lr, base_lr)
        if isinstance(state, LBFGSRuns):
            rates = np.broadcast_to(lr, (len(params), 1))
            out, runs = np.empty_like(params), np.empty(len(params), dtype=object)
            for i in range(len(params)):
                out[i], runs[i] = step_one(params[i], objective, state.runs[i], float(rates[i, 0]))
            return out, LBFGSRuns(runs)
        return step_one(params, objective, state, float(lr))

    def step_one(p, objective, state, lr):
        loss, flat_grad = objective(p)
        loss, evals, state = float(loss), 1, state._replace(func_evals=state.func_evals + 1)
        if np.max(np.abs(flat_grad)) <= tol_grad:
            return p, state
        d, t, dirs, stps, ro, h_diag = state.d, state.t, state.old_dirs, state.old_stps, state.ro, state.H_diag
        prev_grad, prev_loss, n_iter, total_iter = state.prev_flat_grad, state.prev_loss, 0, state.n_iter
        while n_iter < max_iter:
            n_iter, total_iter = n_iter + 1, total_iter + 1
            if total_iter == 1:
                d, dirs, stps, ro, h_diag = -flat_grad, (), (), (), 1.0
            else:
                y, s = flat_grad - prev_grad, d * np.array(t)
                ys = _dot(y, s)
                if ys > 1e-10:
                    keep = slice(1, None) if len(dirs) == history else slice(None)
                    dirs, stps, ro = dirs[keep] + (y,), stps[keep] + (s,), ro[keep] + (1.0 / ys,)
                    h_diag = ys / _dot(y, y)
                d = _two_loop(flat_grad, dirs, stps, ro, h_diag)
            prev_grad, prev_loss = flat_grad.copy(), loss
            t = min(1.0, 1.0 / float(np.sum(np.abs(flat_grad)))) * lr if total_iter == 1 else lr
            gtd = _dot(flat_grad, d)
            if gtd > -tol_change:
                break
            ls_evals = 0
            if line_search_fn is not None:
                x = p

                def evaluate(step_t):
                    f_t, g_t = objective(fma(step_t, d, x))
                    return float(f_t), g_t

                loss, flat_grad, t, ls_evals = _strong_wolfe(evaluate, t, d, loss, flat_grad, gtd,
                                                             tol_change, max_eval - evals)
                p = fma(t, d, x)
                opt_cond = np.max(np.abs(flat_grad)) <= tol_grad
            else:
                p = fma(t, d, p)
                opt_cond = False
                if n_iter != max_iter:
                    loss, flat_grad = objective(p)
                    loss, ls_evals = float(loss), 1
                    opt_cond = np.max(np.abs(flat_grad)) <= tol_grad
            evals += ls_evals
            if n_iter == max_iter or evals >= max_eval or opt_cond:
                break
            if np.max(np.abs(d * np.array(t))) <= tol_change or abs(loss - prev_loss) < tol_change:
                break
        return p, LBFGSState(state.func_evals + evals - 1, total_iter, d, t, dirs, stps, ro, h_diag,
                             prev_grad, prev_loss)

    return Optimizer("lbfgs", base_lr, hyper, init, _needs_objective("lbfgs"), step)


def newton(lr=1.0, damping=0.0) -> Optimizer:
    """Newton's method with the surface's exact Hessian H, damped: NOT a torch optimizer; a
    teaching reference for the second-order story.

        p ← p − lr·(H + damping·I)⁻¹·g

    On a quadratic bowl with lr = 1 and no damping it lands on the minimum in one step. It goes
    just as happily to a saddle point or a maximum: the step solves ∇f = 0 for the local
    quadratic whatever the signs of H's eigenvalues (Dauphin et al. 2014). Damping (the
    Levenberg–Marquardt idea) shortens the step towards a gradient step of size 1/damping; it
    keeps the step downhill only once damping exceeds −λ_min. The Hessian is the full-batch one
    (on the analytic surfaces a mini-batch adds only a linear term, so it is the same Hessian).
    """
    hyper = dict(lr=_check_lr(lr), damping=_check("damping", damping, 0.0))
    base_lr, damping_ = hyper["lr"], hyper["damping"]

    def init(params):
        return NewtonState(0)

    def step(params, objective, state, lr=None):
        lr = _step_lr(lr, base_lr)
        _, grad = objective(params)
        h = np.asarray(objective.hessian(params), dtype=np.float64)
        a, b, c, e = h[..., 0, 0] + damping_, h[..., 0, 1], h[..., 1, 0], h[..., 1, 1] + damping_
        det = a * e - b * c  # the 2×2 inverse in closed form, vectorized over runs
        g0, g1 = grad[..., 0], grad[..., 1]
        direction = np.stack([(e * g0 - b * g1) / det, (a * g1 - c * g0) / det], axis=-1)
        return params - np.array(lr) * direction, NewtonState(state.count + 1)

    return Optimizer("newton", base_lr, hyper, init, _needs_objective("newton"), step)


# --------------------------------------------------------------------------- registry

_FACTORIES: dict[str, Callable[..., Optimizer]] = {
    "sgd": sgd, "adagrad": adagrad, "rmsprop": rmsprop, "adadelta": adadelta, "adam": adam,
    "adamw": adamw, "nadam": nadam, "adamax": adamax, "radam": radam,
    "rprop": rprop, "asgd": asgd, "adafactor": adafactor, "muon": muon, "lbfgs": lbfgs,
    "newton": newton,
}

# Teaching references that torch.optim does not have: labelled so on screen and left out of
# the torch script.
NOT_TORCH = frozenset({"newton"})
# Steps its runs one at a time (a line search cannot be shared by runs): sweeps budget it apart.
LOOPED = frozenset({"lbfgs"})


def names() -> list[str]:
    """The optimizer names, torch's class names in lower case."""
    return list(_FACTORIES)


def _factory(name: str) -> Callable[..., Optimizer]:
    try:
        return _FACTORIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown optimizer {name!r}; choose one of: {', '.join(_FACTORIES)}") from None


def defaults(name: str) -> dict:
    """torch's default hyperparameters for the named optimizer (lr included).

    Numbers are floats (torch writes some as the int 0), so a number widget built from them
    accepts fractions."""
    return {k: p.default for k, p in inspect.signature(_factory(name)).parameters.items()}


def create(name: str, **hyper) -> Optimizer:
    """The named optimizer with torch's defaults for every hyperparameter not given.

    >>> create("sgd", lr=0.1, momentum=0.9).hyper["nesterov"]
    False
    """
    factory = _factory(name)
    accepted = defaults(name)
    unknown = [k for k in hyper if k not in accepted]
    if unknown:
        raise ValueError(f"Unknown hyperparameter {unknown[0]!r} for {name}; "
                         f"accepted: {', '.join(accepted)}")
    return factory(**hyper)
