"""Seeded toy data sets for the network lessons: five classification sets and a noisy sine.

Made with NumPy alone and deterministic: the same (n, noise, seed) always gives the same arrays.
Inputs X have shape (n, 2) (classification) or (n, 1) (the sine); classification labels y are
integers 0 … classes−1 with the classes as equal in size as n allows; the sine's targets y are
floats of shape (n,). Samples come shuffled, so no class sits in one block of the data. Every
input lies roughly within [−2, 2] on each axis, a box that suits a decision-boundary plot.
(The two-weight surfaces keep their own data in surfaces/data.py.)
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np


class DataSet(NamedTuple):
    name: str
    title: str
    task: str  # classification or regression
    classes: int  # 0 for regression
    about: str
    make: Callable[..., tuple[np.ndarray, np.ndarray]]


def _check(n, noise):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4:
        raise ValueError(f"Invalid number of samples: {n!r} (need a whole number >= 4)")
    if not (isinstance(noise, (int, float, np.floating)) and 0 <= noise < np.inf):
        raise ValueError(f"Invalid noise: {noise!r} (need a finite number >= 0)")


def _class_sizes(n, classes):
    return [n // classes + (1 if c < n % classes else 0) for c in range(classes)]


def _finish(rng, X, y):
    """Shuffle the samples and freeze the arrays (they are shared, never to be edited)."""
    order = rng.permutation(len(y))
    X, y = np.ascontiguousarray(X[order]), np.ascontiguousarray(y[order])
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def two_moons(n: int = 200, noise: float = 0.15, seed: int = 0):
    """Two interleaving half circles (as sklearn's make_moons), centred on the origin."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    n0, n1 = _class_sizes(n, 2)
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    X = np.concatenate([upper, lower]) - [0.5, 0.25]
    X = X + noise * rng.standard_normal(X.shape)
    y = np.repeat([0, 1], [n0, n1])
    return _finish(rng, X, y)


def circles(n: int = 200, noise: float = 0.08, factor: float = 0.5, seed: int = 0):
    """A small circle (class 1) inside a big one (class 0), radii `factor` and 1."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    n0, n1 = _class_sizes(n, 2)
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n1, endpoint=False)
    X = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                        factor * np.stack([np.cos(t1), np.sin(t1)], 1)])
    X = X + noise * rng.standard_normal(X.shape)
    y = np.repeat([0, 1], [n0, n1])
    return _finish(rng, X, y)


def spirals(n: int = 300, noise: float = 0.05, turns: float = 1.5, seed: int = 0):
    """Two spirals winding around each other `turns` times, radius up to 1.5."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    parts, labels = [], []
    for c, size in enumerate(_class_sizes(n, 2)):
        s = np.linspace(0.05, 1.0, size)  # how far along the arm, from the centre out
        angle = 2 * np.pi * turns * s + c * np.pi
        parts.append(1.5 * s[:, None] * np.stack([np.cos(angle), np.sin(angle)], 1))
        labels.append(np.full(size, c))
    X = np.concatenate(parts)
    X = X + noise * rng.standard_normal(X.shape)
    return _finish(rng, X, np.concatenate(labels))


def xor(n: int = 200, noise: float = 0.0, seed: int = 0):
    """Points uniform in [−1, 1]²; class 1 where x₁ and x₂ have different signs.

    Points within 0.05 of an axis are pushed off it so the four quadrants are clearly apart;
    `noise` jitters the points after they are labelled.
    """
    _check(n, noise)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    X = np.sign(X) * (0.05 + 0.95 * np.abs(X))
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    X = X + noise * rng.standard_normal(X.shape)
    return _finish(rng, X, y)


def blobs(n: int = 200, noise: float = 0.3, classes: int = 3, seed: int = 0):
    """Gaussian blobs with standard deviation `noise`, centres evenly on a circle of radius 1.2."""
    _check(n, noise)
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or not 2 <= classes <= 8:
        raise ValueError(f"Invalid number of classes: {classes!r} (need 2 to 8)")
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(classes) / classes + np.pi / 2
    centres = 1.2 * np.stack([np.cos(angles), np.sin(angles)], 1)
    y = np.repeat(np.arange(classes), _class_sizes(n, classes))
    X = centres[y] + noise * rng.standard_normal((n, 2))
    return _finish(rng, X, y)


def noisy_sine(n: int = 100, noise: float = 0.1, seed: int = 0):
    """Regression: y = sin(πx) + noise for x uniform on [−1.5, 1.5]; X (n, 1), y (n,)."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, n)
    y = np.sin(np.pi * x) + noise * rng.standard_normal(n)
    return _finish(rng, x[:, None], y)


DATASETS = {d.name: d for d in [
    DataSet("two_moons", "Two moons", "classification", 2,
            "Two interleaving half circles. A straight line cannot separate them; a small "
            "network bends its boundary around each moon.", two_moons),
    DataSet("circles", "Circles", "classification", 2,
            "A ring of points around a smaller ring. The boundary must close into a loop.",
            circles),
    DataSet("spirals", "Spirals", "classification", 2,
            "Two spiral arms wound around each other: hard, and a good test of depth and "
            "width.", spirals),
    DataSet("xor", "XOR", "classification", 2,
            "Opposite quadrants share a class. No single line works; one hidden layer is "
            "enough.", xor),
    DataSet("blobs", "Gaussian blobs", "classification", 3,
            "Three round clouds of points, one per class: the easy case, with three outputs.",
            blobs),
    DataSet("noisy_sine", "Noisy sine", "regression", 0,
            "Fit the curve y = sin(πx) through noisy points with mean squared error.",
            noisy_sine),
]}


def names(task: str | None = None) -> list[str]:
    """Data set names, optionally only those of one task (classification or regression)."""
    return [name for name, d in DATASETS.items() if task is None or d.task == task]


def get(name: str) -> DataSet:
    """The data set called `name`; KeyError listing the valid names otherwise."""
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise KeyError(f"Unknown data set {name!r}; choose one of: {', '.join(DATASETS)}") from None


def load(name: str, n: int | None = None, noise: float | None = None, seed: int = 0):
    """(X, y) of the named data set; n and noise default to the data set's own defaults."""
    make = get(name).make
    kwargs = {"seed": seed}
    if n is not None:
        kwargs["n"] = n
    if noise is not None:
        kwargs["noise"] = noise
    return make(**kwargs)


# The held-out share of all samples (training + held out) a page may choose.
TEST_SHARES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
# The held-out samples come from their own random stream, named by the seed and this tag, so no
# seed's held-out points are another seed's training points.
HELD_OUT_STREAM = 1


def held_out_size(n_train: int, share: float) -> int:
    """How many held-out samples make `share` of all samples beside n_train training samples."""
    if not 0 <= share < 1:
        raise ValueError(f"Invalid held-out share: {share!r} (need 0 <= share < 1)")
    return int(round(n_train * share / (1 - share)))


def held_out(name: str, n_train: int, share: float, seed: int = 0):
    """Held-out samples (X, y) of the named data set: fresh draws from the same distribution
    (same generator and noise) from a stream of their own, seeded by `seed`, sized so that they
    are `share` of all samples. The training set (load(name, seed=seed)) is left exactly as it
    is. None when the share is 0. At least 4 samples, and at least one per class."""
    n = held_out_size(n_train, share)
    if n == 0:
        return None
    d = get(name)
    n = max(n, 4, 2 * d.classes)
    return d.make(n=n, seed=(int(seed), HELD_OUT_STREAM))
