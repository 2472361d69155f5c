"""Export and load runs: CSV and JSON of every run and epoch with the configuration. Loading
checks everything and refuses bad files in words. (The offline HTML of the figures is
figures.html, since it needs Plotly.)

The JSON format, "descent-lab/runs" version 2::

    {"format": "descent-lab/runs", "version": 2,
     "config": {...the page's link query, every value text...},
     "runs": [{"optimizer": "adam", "label": "Adam", "status": "finished", "diverged_epoch": null,
               "epochs": [{"epoch": 0, "w1": -1.5, "w2": 2.0, "loss": 212.5, "grad_norm": 1e3,
                           "lr": 0.1, "status": "running"}, ...]},
              {"optimizer": "nesterov", "label": "Nesterov", "status": "not run",
               "error": "Nesterov: ..."}]}

- One entry in "runs" per optimizer of the configuration, in its order. An optimizer that the
  engine refused (say Nesterov at momentum 0) has status "not run", its message and no epochs;
  loading it shows the same message as the page.
- The numbers w1, w2, loss, grad_norm and lr are JSON numbers when finite. A value that is not
  finite is the string "inf", "-inf" or "nan", so a diverged run keeps its +inf loss exactly
  (version 1 wrote null, which comes back as NaN: version 1 files are still read).
- JSON's own non-standard tokens (NaN, Infinity) and numbers that overflow a float (1e400) are
  refused.

Loading checks a file the way the engine would have produced it from the file's own
configuration: epochs 0, 1, 2, … in order, epochs+1 records unless the run stopped early by
converging or diverging, each epoch's status from its own values (the engine's rules), the
divergence epoch, the start at epoch 0, the loss and gradient norm of the configuration's surface
at the saved weights, and the configuration's learning rate (and schedule) in every epoch; and
last, that training the configuration again gives the same run (to 1e-8), which catches a setting
that changes the path without breaking its shape (another β1, seed, batch size). Before
parsing, it bounds the size, the nesting depth and the length of numbers, so no file can exhaust
the parser. Every refusal is a LoadError whose message names the field.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import re
from typing import Any

import numpy as np

from engine.compare import summarize
from engine.train import CONVERGED_GRAD_NORM, DIVERGE_SPANS, HUGE_LOSS, Trajectory
from lab import runs as lab_runs
from lab.config import Config, RunChoice, network_test_data
from lab.link import code, from_query, to_query
from lab import user_data
from lab.runs import TOLERANCE, RunResult, run_key

FORMAT = "descent-lab/runs"
VERSION = 2
READS = (1, 2)  # the versions this page reads
MAX_BYTES = 20_000_000
MAX_DEPTH = 20  # levels of [ ] and { }: a saved file has 5
MAX_DIGITS = 40  # digits in a row in a number: a saved float has at most 17
NOT_RUN = "not run"
STATUSES = ("converged", "diverged", "finished")  # how a run the engine trained can end
NUMBERS = ("w1", "w2", "loss", "grad_norm", "lr")
NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


class LoadError(ValueError):
    """A file that cannot be loaded; the message says why, for the page (Markdown in which any
    text taken from the file is a code span, shown literally)."""


def _statuses(traj: Trajectory) -> list[str]:
    n = len(traj.loss)
    return ["running"] * (n - 1) + [traj.status]


def _number_out(value: float) -> float | str:
    value = float(value)
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def to_json(config: Config, results: list[RunResult]) -> str:
    """Every run and epoch (weights, loss, gradient norm, lr, status) plus the configuration, in
    format version 2 (see the module's docstring): non-finite numbers are "inf", "-inf", "nan"."""
    runs = []
    for result in results:
        t = result.trajectory
        if t is None:
            runs.append({"optimizer": result.choice.preset, "label": result.choice.label,
                         "status": NOT_RUN, "error": result.error or ""})
            continue
        runs.append({
            "optimizer": result.choice.preset,
            "label": result.choice.label,
            "status": t.status,
            "diverged_epoch": t.diverged_epoch,
            "epochs": [{
                "epoch": e,
                "w1": _number_out(t.params[e, 0]), "w2": _number_out(t.params[e, 1]),
                "loss": _number_out(t.loss[e]), "grad_norm": _number_out(t.grad_norm[e]),
                "lr": _number_out(t.lr[e]), "status": status,
            } for e, status in enumerate(_statuses(t))],
        })
    doc = {"format": FORMAT, "version": VERSION, "config": to_query(config), "runs": runs}
    if user_data.is_uploaded(config.surface):  # a link cannot carry uploaded data; the file does
        doc["data"] = user_data.to_record(config.surface)
    return json.dumps(doc, indent=1, allow_nan=False)


def to_csv(config: Config, results: list[RunResult]) -> str:
    """One row per run and epoch under one header row: plain CSV that any reader (csv,
    pandas.read_csv, a spreadsheet) takes as it is. The settings are in the JSON export."""
    out = io.StringIO()
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


# --------------------------------------------------------------------------- network mode

NETWORK_FORMAT = "descent-lab/network-runs"
NETWORK_VERSION = 1
NETWORK_COLUMNS = ("optimizer", "epoch", "loss", "held_out_loss", "accuracy", "held_out_accuracy",
                   "grad_norm", "lr", "status", "slice_pca1", "slice_pca2")


def _network_epochs(run, report) -> list[dict]:
    """One record per epoch of a network run: the training loss, the held-out loss, both
    accuracies (None where they do not apply), gradient norm, lr, status and the dot's place on
    the slice (None after a divergence, where the slice has no dot)."""
    t = run.trajectory
    coords = None if report is None else report.coords

    def at(values, e):
        return None if values is None else _number_out(values[e])

    out = []
    for e, status in enumerate(_statuses(t)):
        on_slice = coords is not None and e < len(coords)
        out.append({
            "epoch": e, "loss": _number_out(t.loss[e]), "held_out_loss": at(run.test_loss, e),
            "accuracy": at(run.accuracy_curve, e), "held_out_accuracy": at(run.test_accuracy, e),
            "grad_norm": _number_out(t.grad_norm[e]), "lr": _number_out(t.lr[e]), "status": status,
            "slice_pca1": _number_out(coords[e, 0]) if on_slice else None,
            "slice_pca2": _number_out(coords[e, 1]) if on_slice else None,
        })
    return out


def network_to_json(config: Config, result) -> str:
    """A network-mode result (lab.runs.NetworkResult) with its settings: per run and epoch the
    training and held-out loss and accuracy, gradient norm, lr, status and place on the slice,
    plus the shared start weights and each run's last weights (every epoch's weights would be
    hundreds of numbers per epoch; the PyTorch script reproduces them). Non-finite numbers are
    "inf", "-inf" or "nan"; null where a value does not apply (no accuracy for regression)."""
    trained = [r for r in result.runs if r.trajectory is not None]
    start = trained[0].trajectory.params[0] if trained else []
    held = network_test_data(config) if any(r.test_loss is not None for r in trained) else None
    runs = []
    for run, report in zip(result.runs, result.reports or [None] * len(result.runs)):
        if run.trajectory is None:
            runs.append({"optimizer": run.choice.preset, "label": run.choice.label,
                         "status": NOT_RUN, "error": run.error or ""})
            continue
        t = run.trajectory
        runs.append({"optimizer": run.choice.preset, "label": run.choice.label, "status": t.status,
                     "diverged_epoch": t.diverged_epoch,
                     "final_weights": [_number_out(v) for v in t.params[-1]],
                     "epochs": _network_epochs(run, report)})
    doc = {"format": NETWORK_FORMAT, "version": NETWORK_VERSION, "config": to_query(config),
           "layers": list(result.layers), "task": result.task,
           "held_out_share": config.test_share if held is not None else 0.0,
           "held_out_samples": 0 if held is None else len(held[1]),
           "start_weights": [_number_out(v) for v in start], "runs": runs}
    return json.dumps(doc, indent=1, allow_nan=False)


def network_to_csv(config: Config, result) -> str:
    """One row per network run and epoch under one header row (NETWORK_COLUMNS): plain CSV; an
    empty cell where a value does not apply. The settings are in the JSON export."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(NETWORK_COLUMNS)
    for run, report in zip(result.runs, result.reports or [None] * len(result.runs)):
        if run.trajectory is None:
            continue
        for record in _network_epochs(run, report):
            writer.writerow([run.choice.label] + ["" if record[c] is None else record[c]
                                                  for c in NETWORK_COLUMNS[1:]])
    return out.getvalue()


# --------------------------------------------------------------------------- before parsing

# A JSON string (the unrolled form is linear in its length); what is left has no text in it.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_LONG_DIGITS = re.compile(rb"[0-9]{%d,}" % (MAX_DIGITS + 1))
_CHUNK = 1 << 20


def _check_shape(raw: bytes) -> None:
    """Refuse, before parsing, a file nested deeper than MAX_DEPTH or holding a number with more
    than MAX_DIGITS digits in a row (Python's parser recurses per level and converts integers of
    any length, so such files would crash it or take long)."""
    bare = _STRING.sub(b'""', raw)
    if _LONG_DIGITS.search(bare):
        raise LoadError(f"The file holds a number with more than {MAX_DIGITS} digits; a saved run "
                        "has ordinary numbers only.")
    depth = 0
    for i in range(0, len(bare), _CHUNK):
        chunk = np.frombuffer(bare[i:i + _CHUNK], dtype=np.uint8)
        step = ((chunk == ord("[")) | (chunk == ord("{"))).astype(np.int32) \
            - ((chunk == ord("]")) | (chunk == ord("}"))).astype(np.int32)
        if not step.any():
            continue
        levels = depth + np.cumsum(step)
        if int(levels.max()) > MAX_DEPTH:
            raise LoadError(f"The file is nested more than {MAX_DEPTH} levels deep (brackets "
                            "[ ] and { } inside each other); a saved runs file has 5 levels.")
        depth = int(levels[-1])


def _refuse_constant(token: str) -> Any:
    raise LoadError(f"The file holds the non-standard number {code(token)}; a saved run writes a "
                    "value that is not finite as the text \"inf\", \"-inf\" or \"nan\".")


def _float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise LoadError(f"The file holds the number {code(token)}, which is too large for a "
                        "float; a saved run writes an infinite value as the text \"inf\" or \"-inf\".")
    return value


def _parse(data: bytes | str) -> Any:
    if isinstance(data, str):
        if len(data) > MAX_BYTES:  # each character is at least one byte
            raise LoadError(f"The file is too large ({len(data):,} characters; at most {MAX_BYTES:,} bytes).")
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            raise LoadError("The file is not text (UTF-8); choose a .json file saved by Descent Lab.") from None
    if not isinstance(data, (bytes, bytearray)):
        raise LoadError("The file could not be read as text.")
    if len(data) > MAX_BYTES:
        raise LoadError(f"The file is too large ({len(data):,} bytes; at most {MAX_BYTES:,}).")
    raw = bytes(data)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LoadError("The file is not text (UTF-8); choose a .json file saved by Descent Lab.") from None
    _check_shape(raw)
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_float)
    except LoadError:
        raise
    except json.JSONDecodeError as err:
        raise LoadError(f"The file is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}).") from None
    except (ValueError, RecursionError, OverflowError, MemoryError):
        # The checks above leave nothing that reaches here; if anything did, it is refused too.
        raise LoadError("The file could not be read as JSON.") from None


# --------------------------------------------------------------------------- loading

def from_json(data: bytes | str) -> tuple[Config, dict[tuple, RunResult]]:
    """Read a saved file back: the configuration and each run's result, keyed like the page's
    run cache. Raises LoadError with a message for the page when anything is wrong."""
    doc = _parse(data)
    if isinstance(doc, dict) and doc.get("format") == NETWORK_FORMAT:
        raise LoadError("This is a Neural network mode export: its runs are a record to read, "
                        "not loaded back (the link in its 'config' reopens that page, and the "
                        "PyTorch script reproduces each run); this page loads runs on a surface "
                        "of two weights.")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise LoadError("This is not a Descent Lab runs file (its 'format' field is missing or different).")
    version = doc.get("version")
    if type(version) is not int or version not in READS:  # bool is an int in Python: refused
        shown = _shown(version) if "version" in doc else "missing"
        raise LoadError(f"The file's 'version' is {shown}; this page reads versions 1 and 2.")
    query = doc.get("config")
    if not isinstance(query, dict) or not all(isinstance(v, str) for v in query.values()):
        raise LoadError("The file's 'config' must be an object of text values.")
    try:  # a file that carries uploaded data makes that surface a known name while it is read
        with (user_data.admitted(doc["data"]) if "data" in doc else contextlib.nullcontext()):
            config, notices = from_query(query)
    except user_data.DataError as err:
        raise LoadError(f"The file's uploaded data cannot be used: {err}") from None
    if notices:
        raise LoadError("The file's 'config' is not valid here: " + " ".join(notices))
    if config.mode != "surface":
        raise LoadError("The file's 'config' is in the Neural network mode, whose runs are not "
                        "saved in files; this page loads runs on a surface of two weights.")
    runs = doc.get("runs")
    if not isinstance(runs, list):
        raise LoadError("The file's 'runs' must be a list, one run per optimizer.")
    entries = _match_runs(config, runs, version)
    surface = config.surface_obj()
    results = {}
    for index, (choice, run) in enumerate(entries, start=1):
        where = f"Run {index} ({choice.label})"
        if run is None or run.get("status") == NOT_RUN:
            result = lab_runs.run_one(config, choice)  # refused by the engine: its message
        else:
            trajectory = _read_trajectory(run, config, choice, surface, version, where)
            replayed = lab_runs.run_one(config, choice)
            replay = replayed.trajectory
            _check_replay(trajectory, replay, version, where)
            # The file does not carry the gradient-evaluation counts; the replay it matched does.
            trajectory = trajectory._replace(evals=replay.evals)
            with np.errstate(all="ignore"):
                summary = summarize(trajectory, surface.minima, surface.minimum_loss, TOLERANCE)
            # What the picture draws besides the trajectory (mini-batch step dots, ASGD's
            # averaged path, L-BFGS's probes) comes from the replay the file matched, so a
            # loaded file shows the picture its link does (the step dots were missing).
            result = dataclasses.replace(replayed, trajectory=trajectory, summary=summary)
        results[run_key(config, choice)] = result
    return config, results


def _buildable(config: Config, choice: RunChoice) -> bool:
    try:
        choice.make(config.learning_rate)
    except ValueError:
        return False
    return True


def _match_runs(config: Config, runs: list, version: int) -> list[tuple[RunChoice, dict | None]]:
    """Each optimizer of the configuration with its entry in 'runs'. Version 1 wrote no entry
    for an optimizer the engine refused; version 2 writes one with status "not run"."""
    buildable = [_buildable(config, choice) for choice in config.runs]
    expected = len(config.runs) if version >= 2 else sum(buildable)
    if len(runs) != expected:
        raise LoadError(f"The file's 'runs' hold {len(runs)} runs, but its configuration has "
                        f"{expected} optimizer(s) to show.")
    pairs: list[tuple[RunChoice, dict | None]] = []
    entries = iter(runs)
    for index, (choice, ok) in enumerate(zip(config.runs, buildable), start=1):
        if version < 2 and not ok:
            pairs.append((choice, None))
            continue
        run = next(entries)
        where = f"Run {index} ({choice.label})"
        if not isinstance(run, dict) or run.get("optimizer") != choice.preset:
            raise LoadError(f"{where}: its 'optimizer' is not {code(choice.preset)}; the runs must "
                            "be in the order of the configuration's optimizers.")
        not_run = run.get("status") == NOT_RUN
        if not_run and ok:
            raise LoadError(f"{where}: its 'status' says it was not run, but the engine runs this "
                            "optimizer with these settings.")
        if not not_run and not ok:
            raise LoadError(f"{where}: the engine refuses this optimizer's settings, so a file "
                            f"cannot hold its epochs; its 'status' must be {code(NOT_RUN)}.")
        pairs.append((choice, run))
    return pairs


def _shown(value: Any) -> str:
    """A value from the file, quoted literally and briefly (a long or deep value is cut)."""
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "an object"
    return code(json.dumps(value)[:40])


def _read_number(value: Any, version: int, field: str, where: str) -> float:
    if isinstance(value, bool) or not (isinstance(value, (int, float)) or
                                       (version >= 2 and isinstance(value, str) and value in NON_FINITE) or
                                       (version < 2 and value is None)):
        words = '"inf", "-inf" or "nan"' if version >= 2 else "null"
        raise LoadError(f"{where}: '{field}' is {_shown(value)}, not a number "
                        f"(or {words} for a value that is not finite).")
    if value is None:
        return math.nan
    if isinstance(value, str):
        return NON_FINITE[value]
    return float(value)


def _expected_statuses(params: np.ndarray, loss: np.ndarray, grad_norm: np.ndarray, epochs: int,
                       surface) -> list[str]:
    """Each record's status by the engine's rules (engine.train): record 0 is running; then
    diverged when the weights left the box 100 widths around the surface's bounds or the loss or
    gradient is not finite or the loss passes 1e100; converged when the gradient norm is below
    1e-8; finished at the last epoch; running otherwise."""
    (x0, x1), (y0, y1) = surface.bounds
    span = np.array([x1 - x0, y1 - y0])
    lo = np.array([x0, y0]) - DIVERGE_SPANS * span
    hi = np.array([x1, y1]) + DIVERGE_SPANS * span
    with np.errstate(all="ignore"):
        inside = np.all((params >= lo) & (params <= hi), axis=1)
        healthy = inside & np.isfinite(loss) & (loss < HUGE_LOSS) & np.isfinite(grad_norm)
        converged = healthy & (grad_norm < CONVERGED_GRAD_NORM)
    out = []
    for e in range(len(loss)):
        if e == 0:
            out.append("running")
        elif not healthy[e]:
            out.append("diverged")
        elif converged[e]:
            out.append("converged")
        else:
            out.append("finished" if e == epochs else "running")
    return out


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _same(got: np.ndarray, want: np.ndarray, scale: float, version: int) -> np.ndarray:
    """Where a saved value agrees with the engine's: close when both are finite (the batched
    evaluation may differ in the last bits), the same kind (nan, +inf, −inf) when not; in
    version 1 a null (NaN) stands for any value that is not finite."""
    with np.errstate(all="ignore"):
        both = np.isfinite(got) & np.isfinite(want)
        close = np.abs(got - want) <= 1e-7 * np.abs(want) + 1e-12 * scale
        kind = (np.isnan(got) & np.isnan(want)) | (np.isinf(got) & (got == want))
        if version < 2:
            kind |= np.isnan(got) & ~np.isfinite(want)
    return np.where(both, close, kind)


def _read_trajectory(run: dict, config: Config, choice: RunChoice, surface, version: int,
                     where: str) -> Trajectory:
    epochs = run.get("epochs")
    limit = config.epochs + 1
    if not isinstance(epochs, list) or not 2 <= len(epochs) <= limit:
        count = len(epochs) if isinstance(epochs, list) else "no"
        raise LoadError(f"{where}: 'epochs' holds {count} records; a run of {config.epochs} epochs "
                        f"has 2 to {limit} (epoch 0, the start, then one per epoch).")
    n = len(epochs)
    columns: dict[str, list[float]] = {name: [] for name in NUMBERS}
    row_status = []
    for e, row in enumerate(epochs):
        if not isinstance(row, dict) or type(row.get("epoch")) is not int or row["epoch"] != e:
            raise LoadError(f"{where}: epoch {e} is missing or out of order (each record's 'epoch' "
                            "is its place: 0, 1, 2, …).")
        for name, column in columns.items():
            column.append(_read_number(row.get(name), version, name, f"{where}, epoch {e}"))
        row_status.append(row.get("status"))
    status = run.get("status")
    if status not in STATUSES:
        shown = _shown(status)
        raise LoadError(f"{where}: its 'status' is {shown}; a run that the engine trained ends "
                        "converged, diverged or finished.")
    params = np.column_stack([columns["w1"], columns["w2"]])
    loss, grad_norm, lr = (np.array(columns[name]) for name in ("loss", "grad_norm", "lr"))

    # Epoch 0 is the configuration's start.
    start = np.array(config.start_point(), dtype=np.float64)
    if not np.array_equal(params[0], start):
        raise LoadError(f"{where}, epoch 0: the weights 'w1', 'w2' = ({_fmt(params[0, 0])}, "
                        f"{_fmt(params[0, 1])}) are not the configuration's start "
                        f"({_fmt(start[0])}, {_fmt(start[1])}).")

    # The learning rate of every epoch: the configuration's η through its schedule.
    opt = choice.make(config.learning_rate)
    schedule = lab_runs.make_schedule(config, choice)
    for e in range(n):
        want = float(_engine_lr(schedule, max(e - 1, 0), opt.lr))
        if not (math.isfinite(lr[e]) and abs(lr[e] - want) <= 1e-12 * max(abs(want), 1e-300)):
            raise LoadError(f"{where}, epoch {e}: 'lr' is {_fmt(lr[e])}, but the configuration "
                            f"gives η = {_fmt(want)} there (the config's learning rate and "
                            "schedule must be the runs').")

    # The loss and gradient norm are the configuration's surface at the saved weights.
    finite_w = np.all(np.isfinite(params), axis=1)
    with np.errstate(all="ignore"):
        want_loss = np.asarray(surface.loss(params), dtype=np.float64)
        want_grad = np.asarray(surface.grad(params), dtype=np.float64)
        want_norm = np.sqrt(want_grad[:, 0] ** 2 + want_grad[:, 1] ** 2)
        loss_scale = float(np.nanmax(np.abs(np.where(np.isfinite(want_loss), want_loss, np.nan))))\
            if np.isfinite(want_loss).any() else 1.0
        norm_scale = float(np.nanmax(np.abs(np.where(np.isfinite(want_norm), want_norm, np.nan))))\
            if np.isfinite(want_norm).any() else 1.0
    for name, got, want, scale in (("loss", loss, want_loss, loss_scale),
                                   ("grad_norm", grad_norm, want_norm, norm_scale)):
        ok = _same(got, want, 1.0 + scale, version) | ~finite_w
        if not ok.all():
            e = int(np.flatnonzero(~ok)[0])
            raise LoadError(f"{where}, epoch {e}: '{name}' is {_fmt(got[e])}, but the surface "
                            f"{code(surface.title)} gives {_fmt(want[e])} at those weights; the "
                            "runs were not made on the configuration's surface.")
        if version < 2:  # null (NaN) in version 1: the surface's own value keeps its kind
            got[np.isnan(got) & finite_w] = want[np.isnan(got) & finite_w]

    # Each epoch's status follows from its values, by the engine's rules, and the run ends at
    # the first epoch that is not running.
    expected = _expected_statuses(params, loss, grad_norm, config.epochs, surface)
    stop = next((e for e, s in enumerate(expected) if s != "running"), None)
    if stop is None or stop != n - 1:
        if stop is None:
            raise LoadError(f"{where}: 'epochs' ends at epoch {n - 1}, but the run neither "
                            f"converged nor diverged there, so it has all {config.epochs} epochs "
                            f"of its configuration ({limit} records with epoch 0).")
        raise LoadError(f"{where}: the engine stops the run at epoch {stop} ({expected[stop]}), "
                        f"but 'epochs' goes on to epoch {n - 1}.")
    if status != expected[-1]:
        raise LoadError(f"{where}: its 'status' is {code(status)}, but with these values the "
                        f"engine marks its last epoch {code(expected[-1])}.")
    for e, got in enumerate(row_status):
        want = "running" if e < n - 1 else status
        if got != want:
            raise LoadError(f"{where}, epoch {e}: 'status' is {_shown(got)}; it "
                            f"must be {code(want)}.")
    diverged = run.get("diverged_epoch")
    want_diverged = n - 1 if status == "diverged" else None
    if not (diverged is None and want_diverged is None) and (
            type(diverged) is not int or diverged != want_diverged):
        raise LoadError(f"{where}: its 'diverged_epoch' is {_shown(diverged)}, but "
                        + (f"it diverged at epoch {want_diverged}." if want_diverged is not None
                           else f"a {status} run has none (null)."))
    return Trajectory(params, loss, grad_norm, lr, status, want_diverged)


def _check_replay(saved: Trajectory, replay: Trajectory, version: int, where: str) -> None:
    """The saved run is the one the engine trains from the file's configuration: the same
    length and status, and the same numbers at every epoch (to 1e-8, so that a file saved by a
    build whose last bits differ still loads). This is what catches settings that change the path
    without breaking its shape: another β1, seed, batch size or clipping in the configuration."""
    if len(saved.loss) != len(replay.loss) or saved.status != replay.status:
        raise LoadError(f"{where}: the engine, trained with the file's configuration, ends "
                        f"{replay.status} at epoch {len(replay.loss) - 1}, but the file's run ends "
                        f"{saved.status} at epoch {len(saved.loss) - 1}; the runs were not made "
                        "with the file's settings.")
    fields = (("w1", saved.params[:, 0], replay.params[:, 0]), ("w2", saved.params[:, 1], replay.params[:, 1]),
              ("loss", saved.loss, replay.loss), ("grad_norm", saved.grad_norm, replay.grad_norm),
              ("lr", saved.lr, replay.lr))
    for name, got, want in fields:
        with np.errstate(all="ignore"):
            finite = want[np.isfinite(want)]
            scale = float(np.abs(finite).max()) if finite.size else 1.0
            close = np.abs(got - want) <= 1e-8 * np.abs(want) + 1e-14 * scale
            same_kind = (np.isnan(got) & np.isnan(want)) | (got == want)
            if version < 2:  # null (NaN) in version 1 stood for any value that is not finite
                same_kind |= np.isnan(got) & ~np.isfinite(want)
        ok = close | same_kind
        if not ok.all():
            e = int(np.flatnonzero(~ok)[0])
            raise LoadError(f"{where}, epoch {e}: '{name}' is {_fmt(got[e])}, but the engine, trained "
                            f"with the file's configuration, gives {_fmt(want[e])}; the runs were not "
                            "made with the file's settings.")


def _engine_lr(schedule, epoch: int, base_lr: float) -> float:
    """The learning rate the engine uses during `epoch` (0-based), as engine.train does."""
    if schedule is None:
        return float(base_lr)
    return float(schedule(epoch, base_lr))
