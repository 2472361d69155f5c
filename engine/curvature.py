"""Curvature at a point: the Hessian's eigenvalues, the condition number, and the learning rate
above which plain gradient descent diverges (η < 2/λ_max)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Curvature(NamedTuple):
    eigenvalues: np.ndarray  # ascending
    condition: float  # λ_max/λ_min where both are positive, else inf
    lr_limit: float  # 2/λ_max where λ_max > 0, else inf (no curvature to overshoot)


def curvature(surface, w) -> Curvature:
    """The curvature of the full-batch loss at w. Near a minimum, plain gradient descent with
    learning rate η multiplies the error along each eigenvector by (1 − η·λ): it shrinks only when
    |1 − η·λ| < 1, that is η < 2/λ, for every eigenvalue λ."""
    with np.errstate(all="ignore"):
        hessian = np.asarray(surface.hessian(np.asarray(w, dtype=np.float64)))
        if not np.all(np.isfinite(hessian)):
            nan = float("nan")
            return Curvature(np.array([nan, nan]), nan, nan)
        eigenvalues = np.linalg.eigvalsh(hessian)
    low, high = float(eigenvalues[0]), float(eigenvalues[-1])
    condition = high / low if low > 0 else float("inf")
    lr_limit = 2.0 / high if high > 0 else float("inf")
    return Curvature(eigenvalues, condition, lr_limit)
