"""Two-dimensional slices of a many-weight loss surface (Li et al., NeurIPS 2018), and how honest they are.

A network with d weights has a loss surface in d dimensions. A slice shows it over a plane

    w(α, β) = center + α·d1 + β·d2

through `center` (the final weights), spanned by two directions of d numbers each:

- `pca_plane`: the top two principal directions of a trajectory's weights, so the path can be
  drawn on the slice. They are orthonormal; each axis comes with the share of the trajectory's
  variance it explains. Several runs from the same start share one plane (PCA of all of them).
- `filter_normalized_directions`: random directions whose every filter is scaled to the norm of
  the same filter in the weights, which makes slices of differently scaled networks comparable.

The grid is Z[i, j] = loss(center + alphas[j]·d1 + betas[i]·d2), shape (len(betas), len(alphas)):
rows follow β (the y axis) and columns α (the x axis), which is Plotly's z[row][col] layout and
np.meshgrid's default 'xy' indexing.

A slice can mislead: the path really moves in d dimensions, and the dots are its shadow on the
plane. `honesty` measures how much: per epoch, the true loss beside the slice's loss at the
projected point, and the share of the movement the plane holds.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

# loss_grid hands the model this many weight values (grid points × d) at a time: 2^21 float64
# values are 16 MB, whatever the size of the network.
GRID_CHUNK_VALUES = 1 << 21


class Plane(NamedTuple):
    """A plane through `center` spanned by the rows of `directions` (2, d).

    `explained` is the share of the trajectories' variance along each axis (PCA), or NaN for
    random directions, which are not fitted to any trajectory.
    """

    center: np.ndarray  # (d,)
    directions: np.ndarray  # (2, d): d1, d2
    explained: np.ndarray  # (2,)
    kind: str  # "pca" or "filter_normalized"


def _stack(trajectories) -> list[np.ndarray]:
    """A (T, d) array, a (k, T, d) array or a list of (T_i, d) arrays → a list of (T_i, d) arrays."""
    if isinstance(trajectories, np.ndarray) and trajectories.ndim == 3:
        trajectories = list(trajectories)
    elif isinstance(trajectories, np.ndarray) or not isinstance(trajectories, (list, tuple)):
        trajectories = [trajectories]
    out = [np.asarray(t, dtype=np.float64) for t in trajectories]
    if not out:
        raise ValueError("No trajectories given: need at least one array of shape (epochs+1, d)")
    d = out[0].shape[-1] if out[0].ndim == 2 else None
    for t in out:
        if t.ndim != 2 or t.shape[0] < 1 or t.shape[1] != d:
            raise ValueError(f"Each trajectory must have shape (epochs+1, d) with one d for all; "
                             f"got shapes {[t.shape for t in out]}")
        if not np.all(np.isfinite(t)):
            raise ValueError("A trajectory contains non-finite weights; build the plane from the "
                             "epochs before the divergence (see before_divergence)")
    return out


def before_divergence(trajectory) -> np.ndarray:
    """The weights (T, d) of a run (an engine Trajectory) up to the last record before it diverged.

    A diverged run's last record holds weights that left the box or stopped being numbers; a
    plane or a grid built on them would show nothing but that blow-up.
    """
    params = np.asarray(trajectory.params)
    if trajectory.status == "diverged":
        params = params[:-1]
    return params


def pca_plane(trajectories, seed: int = 0) -> Plane:
    """The plane of the top two principal directions of the trajectories' weights.

    trajectories: a (T, d) array of weights, one row per epoch, or several runs (a list of
    (T_i, d) arrays or a (k, T, d) array) from the same start, which then share one plane.
    The center is the final weights of the first run. As in Li et al.'s code (sklearn's PCA of
    the rows θ_t − θ_final), the principal directions are those of the mean-centred differences;
    `explained` is each axis's share of their total variance.

    The signs are fixed so that the first run's start has coordinates <= 0: its path comes in
    from the lower left. When the runs move in fewer than two dimensions (one epoch, or a
    straight line), a seeded random direction orthogonal to the others fills the plane, with an
    explained share of 0.
    """
    runs = _stack(trajectories)
    center = runs[0][-1].copy()
    diffs = np.concatenate([run - center for run in runs])
    centred = diffs - diffs.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    variance = s ** 2
    total = variance.sum()
    # Directions whose variance is rounding noise are not directions of the path.
    rank = int(np.sum(variance > 1e-24 * max(total, 1e-300))) if total > 0 else 0
    directions = list(vt[:min(rank, 2)])
    explained = [float(v / total) for v in variance[:len(directions)]]
    rng = np.random.default_rng(seed)
    while len(directions) < 2:
        extra = rng.standard_normal(center.size)
        for u in directions:
            extra -= (extra @ u) * u
        directions.append(extra / np.linalg.norm(extra))
        explained.append(0.0)
    directions = np.stack(directions)
    start = runs[0][0] - center
    for k in range(2):
        if directions[k] @ start > 0:
            directions[k] = -directions[k]
    return Plane(center, directions, np.array(explained), "pca")


def filter_normalized_directions(mlp, w, seed: int = 0) -> Plane:
    """Two random directions around the weights w, filter-normalized (Li et al. 2018, sec. 4).

    Each direction is drawn from a standard normal, then every filter of it (a row of a weight
    matrix: the weights into one unit) is scaled to the norm of the same filter in w:
        d_filter ← d_filter / ‖d_filter‖ · ‖w_filter‖.
    The biases of the directions are set to zero, as the paper does for biases ("we do not
    perturb" them, its option ignore='biasbn'). The directions are not orthogonalised; in many
    dimensions two random directions are nearly orthogonal anyway. `explained` is NaN.
    """
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (mlp.d,):
        raise ValueError(f"Weights must have shape ({mlp.d},); got {w.shape}")
    rng = np.random.default_rng(seed)
    directions = np.zeros((2, mlp.d))
    for k in range(2):
        for (W, _), (D, _) in zip(mlp.unflatten(w), mlp.unflatten(directions[k])):
            draw = rng.standard_normal(W.shape)
            draw_norms = np.linalg.norm(draw, axis=1, keepdims=True)
            D[...] = draw / draw_norms * np.linalg.norm(W, axis=1, keepdims=True)
    return Plane(w.copy(), directions, np.full(2, np.nan), "filter_normalized")


def project(plane: Plane, W) -> np.ndarray:
    """Coordinates (α, β) of weights W (..., d) on the plane: (..., 2).

    The least-squares solution of center + α·d1 + β·d2 ≈ w, which for orthonormal directions
    (PCA) is the dot products (w − center)·d1 and (w − center)·d2.
    """
    W = np.asarray(W, dtype=np.float64)
    D = plane.directions
    along = (W - plane.center) @ D.T  # (..., 2) dot products with d1 and d2
    return along @ np.linalg.inv(D @ D.T)  # the Gram matrix is symmetric; I for a PCA plane


def weights_at(plane: Plane, coords) -> np.ndarray:
    """The weights center + α·d1 + β·d2 at coordinates (..., 2): (..., d)."""
    coords = np.asarray(coords, dtype=np.float64)
    return plane.center + coords @ plane.directions


def loss_grid(loss_many: Callable[[np.ndarray], np.ndarray], plane: Plane, alphas, betas,
              chunk: int | None = None) -> np.ndarray:
    """Z of shape (len(betas), len(alphas)) with Z[i, j] = loss(center + alphas[j]·d1 + betas[i]·d2).

    `loss_many` maps weights (k, d) to losses (k,), e.g. MLP.loss_many. The grid's weight vectors
    are built and evaluated `chunk` at a time (by default, as many as fit in 16 MB), so memory
    stays bounded however large the grid or the network.
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    betas = np.asarray(betas, dtype=np.float64)
    if alphas.ndim != 1 or betas.ndim != 1 or alphas.size < 1 or betas.size < 1:
        raise ValueError(f"alphas and betas must be 1-D and non-empty; got shapes "
                         f"{alphas.shape} and {betas.shape}")
    d = plane.center.size
    if chunk is None:
        chunk = max(1, GRID_CHUNK_VALUES // d)
    A, B = np.meshgrid(alphas, betas, indexing="xy")  # (len(betas), len(alphas)) each
    coords = np.stack([A.ravel(), B.ravel()], axis=-1)
    Z = np.empty(coords.shape[0])
    for start in range(0, coords.shape[0], chunk):
        block = weights_at(plane, coords[start:start + chunk])
        Z[start:start + chunk] = loss_many(block)
    Z = Z.reshape(betas.size, alphas.size)
    assert Z.shape == (betas.size, alphas.size), Z.shape
    return Z


def axis_range(coords, margin: float = 0.25, n: int = 41, min_span: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Grid axes (alphas, betas), `n` points each, covering projected paths coords (..., 2) plus a margin.

    The margin is a share of each axis's span on both sides; the two axes get the same span when
    one is much shorter (so a nearly straight path is not drawn on a needle-thin strip).
    """
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    coords = coords[np.all(np.isfinite(coords), axis=1)]
    if coords.size == 0:
        coords = np.zeros((1, 2))
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    span = np.maximum(hi - lo, max(min_span, 0.5 * float(np.max(hi - lo))))
    mid = (lo + hi) / 2
    half = span * (0.5 + margin)
    return (np.linspace(mid[0] - half[0], mid[0] + half[0], n),
            np.linspace(mid[1] - half[1], mid[1] + half[1], n))


class Honesty(NamedTuple):
    """How faithfully a plane shows a run, per epoch (arrays of length T) and overall."""

    coords: np.ndarray  # (T, 2) projected coordinates: the dots on the slice
    true_loss: np.ndarray  # (T,) loss at the real weights
    plane_loss: np.ndarray  # (T,) the slice's loss at the projected point, where the dot is drawn
    off_plane: np.ndarray  # (T,) distance from the real weights to the plane
    in_plane: np.ndarray  # (T,) share of ‖w_t − center‖² that lies in the plane (1 at the center)
    explained: float  # share of the run's variance that the plane explains


def variance_explained(plane: Plane, trajectories) -> float:
    """Share of the trajectories' variance (of their weights about their mean) inside the plane.

    For a PCA plane of these same trajectories it equals plane.explained.sum(); it also measures
    a random or another run's plane. 1.0 when the trajectories do not move at all.
    """
    runs = _stack(trajectories)
    centred = np.concatenate(runs)
    centred = centred - centred.mean(axis=0)
    total = float(np.sum(centred ** 2))
    if total == 0:
        return 1.0
    basis, _ = np.linalg.qr(plane.directions.T)  # (d, 2), orthonormal
    return float(np.sum((centred @ basis) ** 2) / total)


def honesty(loss_many: Callable[[np.ndarray], np.ndarray], plane: Plane, trajectory,
            true_loss=None) -> Honesty:
    """Per epoch, the true loss next to the slice's value at the projected point, and more.

    trajectory: weights (T, d). true_loss: the losses already known (e.g. the records' loss),
    else they are computed with loss_many.
    """
    (trajectory,) = _stack([trajectory])
    coords = project(plane, trajectory)
    on_plane = weights_at(plane, coords)
    plane_loss = loss_many(on_plane)
    true_loss = loss_many(trajectory) if true_loss is None else np.asarray(true_loss, dtype=np.float64)
    offset = trajectory - plane.center
    total = np.sum(offset ** 2, axis=1)
    captured = np.sum((on_plane - plane.center) ** 2, axis=1)
    in_plane = np.ones_like(total)
    moved = total > 0
    in_plane[moved] = captured[moved] / total[moved]
    return Honesty(coords, true_loss, plane_loss, np.sqrt(np.sum((trajectory - on_plane) ** 2, axis=1)),
                   in_plane, variance_explained(plane, trajectory))


# Below this share of the variance, most of the path's movement is invisible in the slice.
MISLEADING_SHARE = 0.5


def honesty_note(report: Honesty) -> str:
    """One or two plain sentences for the page: how much of the path the slice shows."""
    share = report.explained
    if share >= 0.8:
        first = f"This slice holds {share:.0%} of the path's movement."
    elif share >= MISLEADING_SHARE:
        first = (f"This slice holds {share:.0%} of the path's movement; the rest happens in "
                 f"directions it cannot show.")
    else:
        first = (f"This slice misleads: it holds only {share:.0%} of the path's movement, and most "
                 f"of it lies in directions the picture cannot show. The dots are a shadow of the "
                 f"real path.")
    gap = np.abs(report.plane_loss - report.true_loss)
    worst = int(np.nanargmax(gap)) if np.any(np.isfinite(gap)) else 0
    if np.isfinite(gap[worst]) and gap[worst] > 0.25 * max(abs(float(report.true_loss[worst])), 1e-12):
        first += (f" Even so, the surface under a dot is not the network's loss: at epoch {worst} "
                  f"it reads {report.plane_loss[worst]:.3g}, but the real loss was "
                  f"{report.true_loss[worst]:.3g}.")
    return first
