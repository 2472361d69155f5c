"""The uploaded data sets the page is using: each becomes a surface named "upload:<key>".

A link cannot carry a user's data, so an uploaded surface lives in two places only: the
session that uploaded it (which calls `keep` on every rerun) and a small process-wide store that
`lab.config.surface_for` reads by name. The key is a hash of the file's name, the two columns
used and the loss, so the same data gives the same name (and the same cached runs). Upload
names are not in `lab.config.surface_names()`, so a link that names one falls back to the
default surface with a notice. A saved JSON file does carry the data (`to_record`); while such
a file is read, `admitted` makes its surface a known name for that reading only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from lab.learning_rates import snap_learning_rate
from surfaces.user_data import (CROSS_ENTROPY, LOSS_WORDS, LOSSES, MAX_BYTES, MAX_ROWS, MSE,
                                DataError, Table, default_choice, make_surface, parse_csv)

UPLOADED = "upload"  # the surface-name prefix of uploaded data: "upload:<key>"
MAX_HELD = 16  # uploaded surfaces held by the process (each session re-registers its own)
LINK_NOTE = ("A link cannot carry your data: it stays in this browser session. Someone opening "
             "the link sees the default surface until they upload the same file. The JSON export "
             "(Share and export) does carry it; loading that file brings the surface back.")
LINK_MISSING = ("This link names an uploaded data set, but a link cannot carry the data, so the "
                "page shows the default surface instead. Upload the CSV file again to see it.")


@dataclass(frozen=True, eq=False)
class Upload:
    """An accepted upload: the table, the column choice, and the surface they make."""

    name: str
    table: Table
    x: str
    target: str
    loss: str
    surface: object

    @property
    def label(self) -> str:
        return f"{self.table.name}: {self.x} → {self.target}"


_HELD: OrderedDict[str, Upload] = OrderedDict()


def is_uploaded(name: object) -> bool:
    return isinstance(name, str) and name.startswith(UPLOADED + ":")


def surface_name(table: Table, x: str, target: str, loss: str) -> str:
    """"upload:<key>", the key a hash of what the surface is made of: the file's name, the two
    columns used (names and cells) and the loss. The same data gives the same name, also when
    it comes back from a saved JSON file that carries only those two columns."""
    digest = hashlib.sha256()
    for part in (table.name, x, target, loss):
        digest.update(part.encode() + b"\x1f")
    for column in (x, target):
        digest.update("\x1e".join(table.column(column).tolist()).encode() + b"\x1d")
    return f"{UPLOADED}:{digest.hexdigest()[:16]}"


def read(content: bytes, filename: str | None) -> Table:
    """The file as a table (DataError in words for a refused file)."""
    return parse_csv(content, filename)


def build(table: Table, x: str | None = None, target: str | None = None,
          loss: str | None = None) -> Upload:
    """The surface of these columns (guessed when not given), held for the page; DataError in
    words when the columns cannot make one."""
    gx, gt, gl = default_choice(table)
    x, target, loss = x or gx, target or gt, loss or gl
    surface = make_surface(table, x, target, loss)
    upload = Upload(surface_name(table, x, target, loss), table, x, target, loss, surface)
    keep(upload)
    return upload


def keep(upload: Upload) -> None:
    """Hold this upload (again) in the process store, as the most recently used."""
    _HELD[upload.name] = upload
    _HELD.move_to_end(upload.name)
    while len(_HELD) > MAX_HELD:
        _HELD.popitem(last=False)


def held(name: str) -> Upload:
    """The held upload called `name`; KeyError in words when this process does not hold it."""
    try:
        return _HELD[name]
    except KeyError:
        raise KeyError(LINK_MISSING) from None


# Optimizers whose step is η times the gradient: their stable η comes from the curvature
# (1/λ_max). Adam and the other adaptive rules step about η per weight whatever the gradient's
# scale, so 1/λ_max (0.03 on a small line, 0.015 on y ≈ 3x + 10) left Adam, the page's default,
# short of the minimum after 500 epochs.
GRADIENT_STEP = frozenset({"sgd", "momentum", "nesterov", "asgd"})
ADAPTIVE_STEPS = 10  # an adaptive run starts at an η that covers the way to the minimum in this many


def starting_lr(upload: Upload, presets) -> tuple[float, str]:
    """The slider stop an upload starts at, and the rule that chose it: "curvature" (1/λ_max,
    when a run on the page steps η × gradient) or "distance" (adaptive runs only: a tenth of the
    way from the start to the minimum, or to a quarter of the box's shorter side without one)."""
    s = upload.surface
    if any(p in GRADIENT_STEP for p in presets) or not presets:
        return snap_learning_rate(float(s.default_lr)), "curvature"
    if len(s.minima):
        way = float(np.max(np.abs(np.asarray(s.minima[0]) - np.asarray(s.start))))
    else:
        way = min(hi - lo for lo, hi in s.bounds) / 4
    return snap_learning_rate(max(way, 1e-12) / ADAPTIVE_STEPS), "distance"


def stability_words(upload: Upload, start: float | None = None, rule: str = "curvature") -> str:
    """The step size plain gradient descent can take on this loss, from its curvature, and the
    η the upload started at (`start`, the slider stop the page chose by `rule`, starting_lr)."""
    s = upload.surface
    at = s.minima[0] if len(s.minima) else s.start
    lam = float(np.linalg.eigvalsh(s.hessian(at)).max())
    if upload.loss == MSE:
        where, near = "everywhere (the loss is a quadratic)", ""
    else:
        where = "at the minimum" if len(s.minima) else "at the start"
        near = " near it"
    begin = ""
    if start is not None and rule == "distance":
        begin = (f" The page starts at η = {start:g}: Adam and the other adaptive optimizers step "
                 f"about η per weight whatever the curvature, so that is about a tenth of the way "
                 f"to the minimum a step. SGD and Momentum need η near 1/λ_max, "
                 f"{snap_learning_rate(1 / lam):g}.")
    elif start is not None and start < 2 / lam:
        begin = (f" An upload starts at η = {start:g}, the slider stop nearest 1/λ_max (half that "
                 f"limit).")
    elif start is not None:
        begin = (f" Even the smallest η, {start:g}, is above that limit: scale your x (for "
                 f"example to a spread of about 1) and upload it again.")
    return (f"Curvature: the largest eigenvalue of the Hessian is {lam:.3g} {where}, so plain "
            f"gradient descent is stable{near} for η < 2/{lam:.3g} = {2 / lam:.3g}.{begin}")


def to_record(name: str) -> dict:
    """What a saved JSON file carries for an uploaded surface: the file's name, the column
    choice, the loss and the two columns used as CSV text (cells exactly as uploaded)."""
    upload = held(name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([upload.x, upload.target])
    writer.writerows(zip(upload.table.column(upload.x).tolist(),
                         upload.table.column(upload.target).tolist()))
    return {"file": upload.table.name, "x": upload.x, "target": upload.target,
            "loss": upload.loss, "csv": out.getvalue()}


def from_record(record: object) -> Upload:
    """The upload a saved file carries, read as strictly as an upload (DataError in words)."""
    if not isinstance(record, dict) or not all(isinstance(record.get(k), str)
                                               for k in ("file", "x", "target", "loss", "csv")):
        raise DataError("its 'data' must be an object of text fields file, x, target, loss, csv.")
    if record["loss"] not in LOSSES:
        raise DataError(f"its 'data' names an unknown loss; choose one of: {', '.join(LOSSES)}.")
    name = record["file"] if record["file"].lower().endswith(".csv") else None
    table = parse_csv(record["csv"].encode(), name)
    return build(table, record["x"], record["target"], record["loss"])


_ADMITTED = threading.local()


@contextmanager
def admitted(record: object) -> Iterator[Upload]:
    """While a saved file that carries its data is read (in this thread only), its uploaded
    surface is a known surface name (lab.config.surface_names), so the file's configuration can
    name it. A link never carries data, so a link never gets here."""
    upload = from_record(record)
    names = getattr(_ADMITTED, "names", ())
    _ADMITTED.names = (*names, upload.name)
    try:
        yield upload
    finally:
        _ADMITTED.names = names


def admitted_names() -> list[str]:
    return list(getattr(_ADMITTED, "names", ()))


def held_surface(name: str):
    return held(name).surface


__all__ = ["UPLOADED", "Upload", "DataError", "LOSSES", "LOSS_WORDS", "MSE", "CROSS_ENTROPY",
           "MAX_BYTES", "MAX_ROWS", "is_uploaded", "read", "build", "keep", "held",
           "held_surface", "stability_words", "starting_lr", "GRADIENT_STEP", "to_record",
           "from_record", "admitted",
           "admitted_names", "LINK_NOTE", "LINK_MISSING"]
