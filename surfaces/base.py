"""The Surface object: one definition of a loss over two weights, for training and for plotting.

Mini-batches are real on every surface. A surface's loss is the mean of n_samples per-sample
losses, and a mini-batch `idx` averages only those samples:

- a surface learned from data averages its per-sample losses over the data points in idx;
- an analytic surface is treated as the average of per-sample copies f(w) + a_i·w with
  sum_i a_i = 0. The full batch is exactly f and ∇f; a mini-batch gets ∇f + mean(a_idx), which is
  right on average (unbiased) and whose spread shrinks as the batch grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

Bounds = tuple[tuple[float, float], tuple[float, float]]


def as_weights(w: Any) -> np.ndarray:
    """Return w as a float64 array of shape (..., 2), or raise ValueError naming the shape."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 0 or w.shape[-1] != 2:
        raise ValueError(f"Weights must have shape (..., 2); got shape {w.shape}")
    return w


def as_index(idx: Any, n_samples: int) -> np.ndarray | None:
    """Return a mini-batch index as a 1-D int array inside [0, n_samples), or None (full batch)."""
    if idx is None:
        return None
    idx = np.asarray(idx)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(
            f"A mini-batch must be a non-empty 1-D array of integer sample indices; "
            f"got dtype {idx.dtype} and shape {idx.shape}"
        )
    if idx.min() < 0 or idx.max() >= n_samples:
        raise IndexError(
            f"Mini-batch indices must lie in [0, {n_samples}); got {idx.min()}..{idx.max()}"
        )
    return idx


@dataclass(frozen=True, eq=False)
class Surface:
    """A loss over two weights (w[..., 0], w[..., 1]), vectorized over leading axes.

    The callables take validated arrays: `loss_fn(w, idx)` and `grad_fn(w, idx)` with idx None
    for the full batch, `hessian_fn(w)` for the full-batch Hessian, and `grid_fn(xs, ys)` giving
    Z[i, j] = loss at (xs[j], ys[i]) by a closed form that is fast on a grid.

    `minimum_loss` is the full-batch loss at the best entry of `minima` (nan when the surface has
    no minimum). `log_scale` asks the page for a log colour scale of loss − minimum_loss.
    """

    name: str
    title: str
    about: str
    kind: str
    lesson: str
    bounds: Bounds
    minima: np.ndarray
    minimum_loss: float
    start: np.ndarray
    default_lr: float
    log_scale: bool
    n_samples: int
    batch_note: str
    loss_fn: Callable[[np.ndarray, np.ndarray | None], np.ndarray]
    grad_fn: Callable[[np.ndarray, np.ndarray | None], np.ndarray]
    hessian_fn: Callable[[np.ndarray], np.ndarray]
    grid_fn: Callable[[np.ndarray, np.ndarray], np.ndarray]
    data: tuple[np.ndarray, np.ndarray] | None = None
    model: Any = None

    def loss(self, w, idx=None) -> np.ndarray:
        """Loss at w (..., 2) → (...): full batch, or the mean over the samples idx."""
        return self.loss_fn(as_weights(w), as_index(idx, self.n_samples))

    def grad(self, w, idx=None) -> np.ndarray:
        """Exact gradient at w (..., 2) → (..., 2), full batch or over the samples idx."""
        return self.grad_fn(as_weights(w), as_index(idx, self.n_samples))

    def hessian(self, w) -> np.ndarray:
        """Exact Hessian of the full-batch loss at w (..., 2) → (..., 2, 2)."""
        return self.hessian_fn(as_weights(w))

    def grid(self, n: int = 100, ny: int | None = None, bounds: Bounds | None = None):
        """Loss on a regular grid: (xs (n,), ys (ny,), Z (ny, n)) with Z[i, j] = loss(xs[j], ys[i]).

        This is Plotly's layout (z[row=y][col=x]) and np.meshgrid's 'xy' indexing. `bounds`
        defaults to the surface's own box.
        """
        ny = n if ny is None else ny
        if n < 2 or ny < 2:
            raise ValueError(f"A grid needs at least 2 points per axis; got n={n}, ny={ny}")
        (x0, x1), (y0, y1) = self.bounds if bounds is None else bounds
        xs = np.linspace(x0, x1, n)
        ys = np.linspace(y0, y1, ny)
        Z = self.grid_fn(xs, ys)
        assert Z.shape == (ny, n), Z.shape
        return xs, ys, Z

    def __repr__(self) -> str:
        return f"Surface({self.name!r}, kind={self.kind!r}, lesson={self.lesson!r})"
