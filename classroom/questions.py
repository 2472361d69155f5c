"""A lesson's question (lab.lessons.Question) made askable: its kind, choices or range, the map's
box, and its truth read from the engine's own run of the page's config (lab.runs)."""

from __future__ import annotations

import math

import numpy as np

from lab import runs as lab_runs
from lab.config import Config
from lab.lessons import Question

OUTCOMES = ("converges", "diverges", "stalls")
# A point within this fraction of the map's diagonal of the truth counts as right.
POINT_RADIUS = 0.08
# A number within this fraction of the truth (at least NUMBER_SLACK epochs) counts as right.
NUMBER_FRACTION = 0.1
NUMBER_SLACK = 2


def _fmt_point(point) -> str:
    return f"({point[0]:.3g}, {point[1]:.3g})"


def outcome(result: lab_runs.RunResult) -> str:
    """converges (its loss comes within the page's tolerance of the minimum), diverges, or
    stalls (neither, by the last epoch)."""
    summary = result.summary
    if summary.diverged_epoch is not None:
        return "diverges"
    return "converges" if summary.epochs_to_tolerance is not None else "stalls"


def resolve(question: Question, config: Config, result: lab_runs.RunResult | None = None) -> dict:
    """The question as classroom.classes asks it, with its truth. `result` is the asked run when
    the page already has it; otherwise it is trained here. ValueError when the question does
    not fit this page (no such run, or a run that could not be built)."""
    if not 0 <= question.run < len(config.runs):
        raise ValueError(f"This page has no run {question.run + 1} for the question to be about")
    if result is None:
        result = lab_runs.run_one(config, config.runs[question.run])
    if result.trajectory is None:
        raise ValueError(f"The run could not be trained: {result.error}")
    surface = config.surface_obj()
    (x0, x1), (y0, y1) = surface.bounds
    box = [[float(x0), float(x1)], [float(y0), float(y1)]]
    t, summary = result.trajectory, result.summary
    last = len(t.loss) - 1
    spec = {"prompt": question.prompt, "about": question.about, "run": question.run,
            "run_label": result.choice.label, "epochs": int(config.epochs), "box": box}
    if question.about == "position":
        epoch = last if question.epoch is None else int(question.epoch)
        point = t.params[min(epoch, last)]
        inside = x0 <= point[0] <= x1 and y0 <= point[1] <= y1
        gone = (t.diverged_epoch is not None and t.diverged_epoch <= epoch) or not inside
        note = (f"The run diverged at epoch {t.diverged_epoch}: it left the map." if
                t.diverged_epoch is not None and t.diverged_epoch <= epoch else
                f"The run was off the map, at {_fmt_point(point)}." if not inside else
                f"The run ended at {_fmt_point(point)} (epoch {last})." if question.epoch is None else
                f"At epoch {min(epoch, last)} the run was at {_fmt_point(point)}.")
        return {**spec, "kind": "point", "epoch": epoch,
                "truth": None if gone else [float(point[0]), float(point[1])],
                "radius": POINT_RADIUS * math.hypot(x1 - x0, y1 - y0), "note": note}
    if question.about == "outcome":
        truth = outcome(result)
        return {**spec, "kind": "choice", "choices": list(OUTCOMES), "truth": truth,
                "note": f"The run {truth}."}
    if question.about == "minimum":
        minima = np.asarray(surface.minima, dtype=float)
        labels = [_fmt_point(m) for m in minima]
        if len(labels) < 2 or t.diverged_epoch is not None:
            raise ValueError("This question needs a surface with several minima and a run that ends")
        nearest = int(np.argmin(np.linalg.norm(minima - t.params[-1], axis=1)))
        return {**spec, "kind": "choice", "choices": labels, "truth": labels[nearest],
                "note": f"The run ended at {_fmt_point(t.params[-1])}, in the minimum at "
                        f"{labels[nearest]}."}
    if question.about in ("tolerance", "divergence"):
        truth = summary.epochs_to_tolerance if question.about == "tolerance" else summary.diverged_epoch
        if truth is None:
            what = "reach the tolerance" if question.about == "tolerance" else "diverge"
            raise ValueError(f"The run does not {what} within its {config.epochs} epochs")
        return {**spec, "kind": "number", "lo": 0, "hi": int(config.epochs), "truth": int(truth),
                "tolerance": max(NUMBER_SLACK, NUMBER_FRACTION * truth),
                "note": f"It happened at epoch {int(truth)}."}
    raise ValueError(f"Unknown question about {question.about!r}")
