"""Export and load runs: CSV and JSON of every run and epoch with the configuration. Loading
checks everything and refuses bad files in words. (The offline HTML of the figures is
figures.html, since it needs Plotly.)"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import numpy as np

from engine.compare import summarize
from engine.train import Trajectory
from lab.config import Config
from lab.link import from_query, to_query
from lab.runs import TOLERANCE, RunResult, run_key

FORMAT = "descent-lab/runs"
VERSION = 1
MAX_BYTES = 20_000_000


class LoadError(ValueError):
    """A file that cannot be loaded; the message says why, for the page."""


def _statuses(traj: Trajectory) -> list[str]:
    n = len(traj.loss)
    return ["running"] * (n - 1) + [traj.status]


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def to_json(config: Config, results: list[RunResult]) -> str:
    """Every run and epoch (weights, loss, gradient norm, lr, status) plus the configuration.
    Non-finite numbers (a diverged run) are written as null, so the file stays valid JSON."""
    runs = []
    for result in results:
        t = result.trajectory
        if t is None:
            continue
        runs.append({
            "optimizer": result.choice.preset,
            "label": result.choice.label,
            "status": t.status,
            "diverged_epoch": t.diverged_epoch,
            "epochs": [{
                "epoch": e,
                "w1": _finite_or_none(t.params[e, 0]), "w2": _finite_or_none(t.params[e, 1]),
                "loss": _finite_or_none(t.loss[e]), "grad_norm": _finite_or_none(t.grad_norm[e]),
                "lr": _finite_or_none(t.lr[e]), "status": status,
            } for e, status in enumerate(_statuses(t))],
        })
    doc = {"format": FORMAT, "version": VERSION, "config": to_query(config), "runs": runs}
    return json.dumps(doc, indent=1, allow_nan=False)


def to_csv(config: Config, results: list[RunResult]) -> str:
    """One row per run and epoch; the first line holds the configuration as a link query."""
    out = io.StringIO()
    query = "&".join(f"{k}={v}" for k, v in to_query(config).items())
    out.write(f"# descent-lab config: {query}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["optimizer", "epoch", "w1", "w2", "loss", "grad_norm", "lr", "status"])
    for result in results:
        t = result.trajectory
        if t is None:
            continue
        for e, status in enumerate(_statuses(t)):
            writer.writerow([result.choice.label, e, repr(float(t.params[e, 0])), repr(float(t.params[e, 1])),
                             repr(float(t.loss[e])), repr(float(t.grad_norm[e])), repr(float(t.lr[e])), status])
    return out.getvalue()


def _refuse_constant(token: str) -> Any:
    raise LoadError(f"The file holds a non-finite number ({token}); a saved run has only finite "
                    "numbers, with null where a value was not finite.")


def from_json(data: bytes | str) -> tuple[Config, dict[tuple, RunResult]]:
    """Read a saved file back: the configuration and each run's result, keyed like the page's
    run cache. Raises LoadError with a message for the page when anything is wrong."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise LoadError(f"The file is too large ({len(data):,} bytes; at most {MAX_BYTES:,}).")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise LoadError("The file is not text (UTF-8); choose a .json file saved by Descent Lab.") from None
    try:
        doc = json.loads(data, parse_constant=_refuse_constant)
    except json.JSONDecodeError as err:
        raise LoadError(f"The file is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise LoadError("This is not a Descent Lab runs file (its 'format' field is missing or different).")
    if doc.get("version") != VERSION:
        raise LoadError(f"This file has version {doc.get('version')!r}; this page reads version {VERSION}.")
    query = doc.get("config")
    if not isinstance(query, dict) or not all(isinstance(v, str) for v in query.values()):
        raise LoadError("The file's 'config' must be an object of text values.")
    config, notices = from_query(query)
    if notices:
        raise LoadError("The file's configuration is not valid here: " + " ".join(notices))
    runs = doc.get("runs")
    if not isinstance(runs, list) or len(runs) != len(config.runs):
        raise LoadError("The file's 'runs' do not match its configuration's optimizers.")
    surface = config.surface_obj()
    results = {}
    for choice, run in zip(config.runs, runs):
        if not isinstance(run, dict) or run.get("optimizer") != choice.preset:
            raise LoadError("The file's runs are not in the order of its optimizers.")
        trajectory = _read_trajectory(run, config)
        summary = summarize(trajectory, surface.minima, surface.minimum_loss, TOLERANCE)
        results[run_key(config, choice)] = RunResult(choice, trajectory, summary)
    return config, results


def _read_trajectory(run: dict, config: Config) -> Trajectory:
    epochs = run.get("epochs")
    if not isinstance(epochs, list) or not 1 <= len(epochs) <= config.epochs + 1:
        raise LoadError(f"Run {run.get('label', '?')!r} has no epochs, or more than its configuration allows.")
    columns = {name: [] for name in ("w1", "w2", "loss", "grad_norm", "lr")}
    for e, row in enumerate(epochs):
        if not isinstance(row, dict) or row.get("epoch") != e:
            raise LoadError(f"Run {run.get('label', '?')!r}: epoch {e} is missing or out of order.")
        for name, column in columns.items():
            value = row.get(name)
            if value is None:
                column.append(math.nan)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                column.append(float(value))
            else:
                raise LoadError(f"Run {run.get('label', '?')!r}, epoch {e}: '{name}' is not a number.")
    status = run.get("status")
    if status not in ("running", "converged", "diverged", "finished"):
        raise LoadError(f"Run {run.get('label', '?')!r} has an unknown status {status!r}.")
    diverged = run.get("diverged_epoch")
    if diverged is not None and (not isinstance(diverged, int) or diverged != len(epochs) - 1):
        raise LoadError(f"Run {run.get('label', '?')!r}: its divergence epoch does not match its epochs.")
    params = np.column_stack([columns["w1"], columns["w2"]])
    return Trajectory(params, np.array(columns["loss"]), np.array(columns["grad_norm"]),
                      np.array(columns["lr"]), status, diverged)
