"""The losses over two weights: a registry of named surfaces, classic functions first.

    import surfaces
    s = surfaces.get("rosenbrock")
    s.loss(w), s.grad(w), s.loss(w, idx), s.grad(w, idx), s.hessian(w), s.grid(100)

Mini-batches are real on every surface: a data surface averages its loss over the samples in a
mini-batch; an analytic surface is the average of `n_samples` noisy copies f(w) + a_i·w with
Σ a_i = 0, so a mini-batch gradient ∇f + mean(a_idx) is noisy but right on average.
"""

from __future__ import annotations

from . import analytic, data, models
from .base import Surface

KINDS = ("classic", "data")
_REGISTRY: dict[str, Surface] = {s.name: s for s in [*analytic.SURFACES, *models.SURFACES]}


def names(kind: str | None = None) -> list[str]:
    """Surface names in registry order (classic first, then data), optionally of one kind."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"Unknown surface kind {kind!r}; choose one of: {', '.join(KINDS)}")
    return [name for name, s in _REGISTRY.items() if kind is None or s.kind == kind]


def get(name: str) -> Surface:
    """The surface called `name`; KeyError listing the valid names otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise KeyError(f"Unknown surface {name!r}; choose one of: {', '.join(_REGISTRY)}") from None


__all__ = ["Surface", "get", "names", "data", "models", "analytic", "KINDS"]
