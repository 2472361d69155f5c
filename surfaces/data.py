"""Seeded synthetic data sets for the surfaces learned from data (NumPy only, deterministic)."""

from __future__ import annotations

import numpy as np


def _frozen(*arrays):
    for a in arrays:
        a.setflags(write=False)
    return arrays


def regression(seed: int = 0, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Points around the line y = 2x − 1 with noise 0.5; x uniform on [−1, 3] (not centred)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 3.0, n)
    y = 2.0 * x - 1.0 + 0.5 * rng.standard_normal(n)
    return _frozen(x, y)


def classification(seed: int = 0, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping classes on a line: label 0 around x = 0, label 1 around x = 2 (sd 1)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(np.float64)
    x = 2.0 * y + rng.standard_normal(n)
    return _frozen(x, y)


def teacher_tanh(seed: int = 2, n: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """Targets from a tiny 'teacher' network y = 2·tanh(1.5·x) plus noise 0.1; x uniform [−2, 2]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, n)
    y = 2.0 * np.tanh(1.5 * x) + 0.1 * rng.standard_normal(n)
    return _frozen(x, y)
