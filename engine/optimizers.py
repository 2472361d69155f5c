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


# --------------------------------------------------------------------------- registry

_FACTORIES: dict[str, Callable[..., Optimizer]] = {
    "sgd": sgd, "adagrad": adagrad, "rmsprop": rmsprop, "adadelta": adadelta, "adam": adam,
    "adamw": adamw, "nadam": nadam, "adamax": adamax, "radam": radam,
}


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
