"""Summaries that compare runs on one surface: final and best loss, time to tolerance, divergence."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine.train import Trajectory


class Summary(NamedTuple):
    final_loss: float
    best_loss: float
    epochs_to_tolerance: int | None  # first epoch within `tol` of the best minimum's loss
    diverged_epoch: int | None
    distance_to_minimum: float  # from the last finite weights to the nearest known minimum
    status: str


def summarize(traj: Trajectory, minima: np.ndarray, minimum_loss: float, tol: float) -> Summary:
    """Summarize one run. Non-finite losses (a diverged run) are left out of best and final."""
    loss = np.asarray(traj.loss, dtype=np.float64)
    finite = np.isfinite(loss)
    final = float(loss[-1])
    best = float(loss[finite].min()) if finite.any() else float("nan")
    reached = None
    if np.isfinite(minimum_loss):
        with np.errstate(invalid="ignore"):
            hits = np.flatnonzero(finite & (loss - minimum_loss <= tol))
        reached = int(hits[0]) if hits.size else None
    params = np.asarray(traj.params)
    ok_rows = np.flatnonzero(np.all(np.isfinite(params), axis=-1))
    distance = float("nan")
    if len(minima) and ok_rows.size:
        last = params[ok_rows[-1]]
        distance = float(np.min(np.linalg.norm(np.asarray(minima) - last, axis=-1)))
    return Summary(final, best, reached, traj.diverged_epoch, distance, traj.status)
