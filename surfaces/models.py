"""Losses made from data: linear regression, logistic regression and a network with two weights.

Each model is written as the lesson's steps. `forward(w, x)` is the forward pass and returns its
named intermediates (z, a, yhat, ...); `loss(cache, y)` gives the per-sample loss ℓ_i;
`backward(cache, y)` is the backward pass and returns every chain-rule factor, one value per
sample, plus 'grad', the mean over the samples of their products. The surface's gradient is
exactly that 'grad', so the page can show each factor that made it.

The loss of a surface is L = mean_i ℓ_i, so the factors are derivatives of the per-sample ℓ_i
(named dL_... as in the lesson) and the gradient of L is their mean.

Shapes: w is (..., 2) and x, y are (n,); every intermediate is (..., n) and 'grad' is (..., 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import data as datasets
from .base import Surface


@dataclass(frozen=True)
class Model:
    """A two-weight model: forward and backward passes, the per-sample loss, and closed forms."""

    name: str
    weight_names: tuple[str, str]
    forward: Callable[[np.ndarray, np.ndarray], dict]
    loss: Callable[[dict, np.ndarray], np.ndarray]
    backward: Callable[[dict, np.ndarray], dict]
    hessian: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    grid_loss: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _mean_grad(d_first, d_second):
    return np.stack([d_first.mean(axis=-1), d_second.mean(axis=-1)], axis=-1)


def _hessian_from(hxx, hxy, hyy):
    return np.stack([np.stack([hxx, hxy], -1), np.stack([hxy, hyy], -1)], -2)


# --- linear regression: yhat = w·x + b, ℓ = (yhat − y)² (mean squared error, no ½) -------------

def linear_forward(w, x):
    weight, bias = w[..., 0, None], w[..., 1, None]
    z = weight * x + bias
    return {"x": x, "w": weight, "b": bias, "z": z, "yhat": z}


def linear_loss(cache, y):
    return (cache["yhat"] - y) ** 2


def linear_backward(cache, y):
    x = cache["x"]
    dL_dyhat = 2 * (cache["yhat"] - y)
    dyhat_dw = np.broadcast_to(x, dL_dyhat.shape)
    dyhat_db = np.ones_like(dL_dyhat)
    return {"dL_dyhat": dL_dyhat, "dyhat_dw": dyhat_dw, "dyhat_db": dyhat_db,
            "grad": _mean_grad(dL_dyhat * dyhat_dw, dL_dyhat * dyhat_db)}


def linear_hessian(w, x, y):
    mx, mxx = x.mean(), (x * x).mean()
    shape = w.shape[:-1]
    return _hessian_from(np.full(shape, 2 * mxx), np.full(shape, 2 * mx), np.full(shape, 2.0))


def linear_grid_loss(ws, bs, x, y):
    """Z[i, j] = L(ws[j], bs[i]) from the sufficient statistics: cost independent of n."""
    mx, my, mxx, mxy, myy = x.mean(), y.mean(), (x * x).mean(), (x * y).mean(), (y * y).mean()
    W, B = np.meshgrid(ws, bs, indexing="xy")
    return W * W * mxx + 2 * W * B * mx + B * B - 2 * W * mxy - 2 * B * my + myy


LINEAR = Model("linear_regression", ("w", "b"), linear_forward, linear_loss, linear_backward,
               linear_hessian, linear_grid_loss)


# --- logistic regression: z = w·x + b, p = sigmoid(z), ℓ = cross-entropy ------------------------

def _softplus(z):
    return np.logaddexp(0.0, z)


def logistic_forward(w, x):
    weight, bias = w[..., 0, None], w[..., 1, None]
    z = weight * x + bias
    e = np.exp(-np.abs(z))  # never overflows; sigmoid written for each sign of z
    p = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return {"x": x, "w": weight, "b": bias, "z": z, "p": p, "_e": e}


def logistic_loss(cache, y):
    # −[y·log p + (1−y)·log(1−p)] with log p = −softplus(−z), log(1−p) = −softplus(z): no log(0).
    z = cache["z"]
    return y * _softplus(-z) + (1 - y) * _softplus(z)


def logistic_backward(cache, y):
    z, p, e, x = cache["z"], cache["p"], cache["_e"], cache["x"]
    zc = np.clip(z, -700.0, 700.0)  # 1/p = 1 + e^−z and 1/(1−p) = 1 + e^z, kept finite
    dL_dp = -y * (1 + np.exp(-zc)) + (1 - y) * (1 + np.exp(zc))
    dp_dz = e / (1 + e) ** 2  # = p·(1 − p)
    # dL_dp · dp_dz simplifies to p − y; the simplified form stays exact when p saturates at 0 or 1.
    dL_dz = p - y
    dz_dw = np.broadcast_to(x, z.shape)
    dz_db = np.ones_like(z)
    return {"dL_dp": dL_dp, "dp_dz": dp_dz, "dL_dz": dL_dz, "dz_dw": dz_dw, "dz_db": dz_db,
            "grad": _mean_grad(dL_dz * dz_dw, dL_dz * dz_db)}


def logistic_hessian(w, x, y):
    cache = logistic_forward(w, x)
    e = cache["_e"]
    s = e / (1 + e) ** 2  # p(1 − p)
    return _hessian_from((s * x * x).mean(-1), (s * x).mean(-1), s.mean(-1))


def logistic_grid_loss(ws, bs, x, y):
    """Z[i, j] = L(ws[j], bs[i]) = mean softplus(z) − mean(y·z), with z = w·x + b.

    mean(y·z) is linear in (w, b). softplus(w·x + b) = log(1 + e^{w·x}·e^{b}) factorizes, so the
    grid needs one log per (grid point, sample) and no exp; far outside any sensible box, where
    e^z could overflow, it falls back to logaddexp.
    """
    n = x.size
    W, B = np.meshgrid(ws, bs, indexing="xy")
    linear_part = W * (x * y).mean() + B * y.mean()
    z_max = np.abs(ws).max() * np.abs(x).max() + np.abs(bs).max()
    if z_max < 600:
        t = np.exp(bs)[:, None, None] * np.exp(np.outer(ws, x))[None, :, :]
        t += 1
        np.log(t, out=t)
        return t.sum(axis=-1) / n - linear_part
    out = np.empty(W.shape)
    for i, b in enumerate(bs):
        out[i] = _softplus(np.outer(ws, x) + b).mean(axis=-1)
    return out - linear_part


LOGISTIC = Model("logistic_regression", ("w", "b"), logistic_forward, logistic_loss,
                 logistic_backward, logistic_hessian, logistic_grid_loss)


# --- a network with two weights: z = w1·x, a = tanh(z), yhat = w2·a, ℓ = (yhat − y)² -----------

def tanh_net_forward(w, x):
    w1, w2 = w[..., 0, None], w[..., 1, None]
    z = w1 * x
    a = np.tanh(z)
    return {"x": x, "w1": w1, "w2": w2, "z": z, "a": a, "yhat": w2 * a}


def tanh_net_loss(cache, y):
    return (cache["yhat"] - y) ** 2


def tanh_net_backward(cache, y):
    a, x = cache["a"], cache["x"]
    dL_dyhat = 2 * (cache["yhat"] - y)
    dyhat_dw2 = a
    dyhat_da = np.broadcast_to(cache["w2"], a.shape)
    da_dz = 1 - a * a
    dz_dw1 = np.broadcast_to(x, a.shape)
    return {"dL_dyhat": dL_dyhat, "dyhat_dw2": dyhat_dw2, "dyhat_da": dyhat_da, "da_dz": da_dz,
            "dz_dw1": dz_dw1,
            "grad": _mean_grad(dL_dyhat * dyhat_da * da_dz * dz_dw1, dL_dyhat * dyhat_dw2)}


def tanh_net_hessian(w, x, y):
    c = tanh_net_forward(w, x)
    a, w2 = c["a"], c["w2"]
    r = c["yhat"] - y
    da_dw1 = x * (1 - a * a)
    d2a_dw1 = -2 * x * x * a * (1 - a * a)
    h11 = 2 * ((w2 * da_dw1) ** 2 + r * w2 * d2a_dw1)
    h12 = 2 * da_dw1 * (w2 * a + r)
    h22 = 2 * a * a
    return _hessian_from(h11.mean(-1), h12.mean(-1), h22.mean(-1))


def tanh_net_grid_loss(w1s, w2s, x, y):
    """Z[i, j] = L(w1s[j], w2s[i]) = w2²·mean(a²) − 2·w2·mean(y·a) + mean(y²), a = tanh(w1·x).

    Only the two means depend on w1, so the work is one row of tanh per w1, not per grid point.
    """
    a = np.tanh(np.outer(w1s, x))
    mean_aa, mean_ya, mean_yy = (a * a).mean(-1), (a @ y) / x.size, (y * y).mean()
    W2 = w2s[:, None]
    return W2 * W2 * mean_aa[None, :] - 2 * W2 * mean_ya[None, :] + mean_yy


TANH_NET = Model("two_weight_net", ("w1", "w2"), tanh_net_forward, tanh_net_loss,
                 tanh_net_backward, tanh_net_hessian, tanh_net_grid_loss)


# --- surfaces --------------------------------------------------------------------------------

def data_surface(*, name, title, about, lesson, model, data, bounds, minima_guess, start,
                 default_lr, log_scale=False) -> Surface:
    """Build a Surface whose loss is the mean of model.loss over the data (or the samples idx)."""
    x, y = data
    n = x.size

    def batch(idx):
        return (x, y) if idx is None else (x[idx], y[idx])

    def loss_fn(w, idx):
        xb, yb = batch(idx)
        return model.loss(model.forward(w, xb), yb).mean(axis=-1)

    def grad_fn(w, idx):
        xb, yb = batch(idx)
        return model.backward(model.forward(w, xb), yb)["grad"]

    def hessian_fn(w):
        return model.hessian(w, x, y)

    def grid_fn(xs, ys):
        return model.grid_loss(xs, ys, x, y)

    minima = _newton(grad_fn, hessian_fn, minima_guess)
    minima.setflags(write=False)
    start = np.array(start, dtype=np.float64)
    start.setflags(write=False)
    return Surface(
        name=name, title=title, about=about, kind="data", lesson=lesson, bounds=bounds,
        minima=minima, minimum_loss=float(loss_fn(minima, None).min()), start=start,
        default_lr=default_lr, log_scale=log_scale, n_samples=n,
        batch_note=(f"This surface has {n} data points; a mini-batch estimates the gradient from "
                    f"only some of them, so each step is cheaper and noisier but right on "
                    f"average."),
        loss_fn=loss_fn, grad_fn=grad_fn, hessian_fn=hessian_fn, grid_fn=grid_fn,
        data=(x, y), model=model,
    )


def _newton(grad_fn, hessian_fn, guesses, steps=50):
    """The minima nearest the guesses, by Newton's method on the exact gradient and Hessian."""
    w = np.array(guesses, dtype=np.float64).reshape(-1, 2)
    for _ in range(steps):
        w = w - np.linalg.solve(hessian_fn(w), grad_fn(w, None)[..., None])[..., 0]
    return w


def _build():
    return [
        data_surface(
            name="linear_regression", title="Linear regression (MSE)",
            about="Fit a line ŷ = w·x + b to 64 points with mean squared error "
                  "L = mean((ŷ − y)²). The loss is a bowl; because the inputs are not centred "
                  "it is a tilted, stretched bowl, and w and b must move together.",
            lesson="convex bowl from data",
            model=LINEAR, data=datasets.regression(), bounds=((-1.0, 5.0), (-4.0, 2.0)),
            minima_guess=[[2.0, -1.0]], start=(-0.5, 1.5), default_lr=0.1,
        ),
        data_surface(
            name="logistic_regression", title="Logistic regression (cross-entropy)",
            about="Classify 64 points with p = sigmoid(w·x + b) and cross-entropy loss. The loss "
                  "is convex with one minimum, but it flattens out where the model is already "
                  "confident, so progress slows there.",
            lesson="convex, flat where confident",
            model=LOGISTIC, data=datasets.classification(), bounds=((-2.0, 6.0), (-6.0, 2.0)),
            minima_guess=[[0.0, 0.0]], start=(-1.5, 1.5), default_lr=0.5,
        ),
        data_surface(
            name="two_weight_net", title="Two-weight network",
            about="A network with one hidden unit, ŷ = w2·tanh(w1·x), fit to 80 points with "
                  "mean squared error. Flipping both signs gives the same network, so there are "
                  "two mirror-image minima and a saddle point between them at (0, 0).",
            lesson="mirror-image minima, saddle point",
            model=TANH_NET, data=datasets.teacher_tanh(), bounds=((-3.0, 3.0), (-3.0, 3.0)),
            minima_guess=[[1.5, 2.0], [-1.5, -2.0]], start=(0.1, -0.1), default_lr=0.05,
        ),
    ]


SURFACES = _build()
