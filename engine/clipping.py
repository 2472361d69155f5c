"""Gradient clipping with torch.nn.utils semantics, one run per row of the last axis.

Clipping acts on the raw gradient, before the optimizer adds weight decay: call it between the
backward pass and ``opt.update``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < value < math.inf:
        raise ValueError(f"Invalid {name} value: {value!r}; {name} must be finite and > 0")
    return float(value)


def clip_grad_norm(g: np.ndarray, max_norm: float) -> np.ndarray:
    """Scale each run's gradient to a 2-norm of at most ``max_norm``, as ``clip_grad_norm_``.

        g ← g · min(1, max_norm / (‖g‖ + 1e-6))      (‖·‖ over the last axis)

    The multiply always happens, as in torch; below the threshold the factor is exactly 1.
    Because of the 1e-6, a clipped gradient's norm comes out slightly below max_norm.
    For a finite gradient so large that ‖g‖² overflows, the norm is computed with scaling
    (torch would get inf and zero the gradient); a non-finite gradient gives a non-finite result.
    """
    max_norm = _positive("max_norm", max_norm)
    g = np.asarray(g, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        norm = np.sqrt(np.sum(g * g, axis=-1, keepdims=True))
        if not np.isfinite(norm).all():
            scale = np.max(np.abs(g), axis=-1, keepdims=True)
            safe = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
            scaled = scale * np.sqrt(np.sum((g / safe) ** 2, axis=-1, keepdims=True))
            norm = np.where(np.isfinite(norm), norm, scaled)
        return g * np.minimum(max_norm / (norm + 1e-6), 1.0)


def clip_grad_value(g: np.ndarray, clip_value: float) -> np.ndarray:
    """Clamp every component to [−clip_value, clip_value], as ``clip_grad_value_``; NaN stays NaN."""
    clip_value = _positive("clip_value", clip_value)
    g = np.asarray(g, dtype=np.float64)
    return np.minimum(np.maximum(g, -clip_value), clip_value)
