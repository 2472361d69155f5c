"""The uploaded data sets the page is using: each becomes a surface named "upload:<key>".

A link cannot carry a user's data, so an uploaded surface lives in two places only: the
session that uploaded it (which calls `keep` on every rerun) and a small process-wide store that
`lab.config.surface_for` reads by name. The key is a hash of the file's bytes and the column
choice, so the same file and columns give the same name (and the same cached runs), and a link
that names an upload finds nothing in a session that has not uploaded that file: such names are
not in `lab.config.surface_names()`, so the link falls back to the default surface.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from surfaces.user_data import (CROSS_ENTROPY, LOSS_WORDS, LOSSES, MAX_BYTES, MAX_ROWS, MSE,
                                DataError, Table, default_choice, make_surface, parse_csv)

UPLOADED = "upload"  # the surface-name prefix of uploaded data: "upload:<key>"
MAX_HELD = 16  # uploaded surfaces held by the process (each session re-registers its own)
LINK_NOTE = ("A link cannot carry your data: it stays in this browser session. Someone opening "
             "the link sees the default surface until they upload the same file.")
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
    key = hashlib.sha256("\x1f".join((table.digest, x, target, loss)).encode()).hexdigest()[:16]
    return f"{UPLOADED}:{key}"


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


def stability_words(upload: Upload) -> str:
    """The step size plain gradient descent can take on this loss, from its curvature."""
    s = upload.surface
    at = s.minima[0] if len(s.minima) else s.start
    lam = float(np.linalg.eigvalsh(s.hessian(at)).max())
    where = "everywhere (the loss is a quadratic)" if upload.loss == MSE else (
        "at the minimum" if len(s.minima) else "at the start")
    return (f"Curvature: the largest eigenvalue of the Hessian is {lam:.3g} {where}, so plain "
            f"gradient descent is stable there for η < 2/{lam:.3g} = {2 / lam:.3g}.")


def held_surface(name: str):
    return held(name).surface


__all__ = ["UPLOADED", "Upload", "DataError", "LOSSES", "LOSS_WORDS", "MSE", "CROSS_ENTROPY",
           "MAX_BYTES", "MAX_ROWS", "is_uploaded", "read", "build", "keep", "held",
           "held_surface", "stability_words", "LINK_NOTE", "LINK_MISSING"]
