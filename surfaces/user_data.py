"""Your own data: a CSV file (with a header) read strictly, and the exact two-weight loss it makes.

    table = parse_csv(content, "houses.csv")          # DataError, in words, for a refused file
    s = make_surface(table, x="size", target="price", loss=MSE)
    s = make_surface(table, x="dose", target="survived", loss=CROSS_ENTROPY)

Two models over the weights (w, b), the same as the built-in data surfaces (surfaces.models):

- MSE: linear regression ŷ = w·x + b with L = mean((ŷ − y)²);
- CROSS_ENTROPY: logistic regression p = sigmoid(w·x + b) with cross-entropy, for a target column
  that holds exactly two classes (numbers or words; the larger number, or the later word in
  alphabetical order, is class 1).

Gradients are exact (the models' backward passes), mini-batches are real (the mean over the rows
idx), and `surface.data` / `surface.model` expose the per-sample forward pass the five steps use.
The plotting grid is fast: for MSE the loss is a quadratic in (w, b), written from the data's
means, variances and covariance (centred, so no cancellation when x or y sit far from 0), and
the full-batch loss and gradient use the same closed form, so a full-batch step costs the same
for 10 rows or 100,000; a mini-batch goes through the model's per-sample passes. For
cross-entropy the softplus part is summed over the distinct x values in chunks of the grid, or,
for a large file, from binned moments of w·x (within 3.3e-8).

Parsing uses Python's csv module and NumPy only; no cell is ever evaluated as code.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass

import numpy as np

from .base import Surface
from .models import LINEAR, LOGISTIC

MSE, CROSS_ENTROPY = "mse", "cross_entropy"
LOSSES = (MSE, CROSS_ENTROPY)
LOSS_WORDS = {MSE: "Linear regression (mean squared error)",
              CROSS_ENTROPY: "Logistic regression (cross-entropy, two classes)"}
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
MIN_ROWS = 2
DELIMITERS = (",", ";", "\t")
# The logistic grid takes this many (grid point, distinct x) values at a time: 2^20 float64 = 8 MB.
GRID_CHUNK = 1 << 20
# Above this many softplus values the logistic grid (a picture) computes them in float32.
FLOAT32_ABOVE = 1 << 22


class DataError(ValueError):
    """A file, or a choice of columns, that cannot make a loss surface: the reason in words."""


@dataclass(frozen=True, eq=False)
class Table:
    """A CSV file's header and its cells as text, one array per column, with each data row's
    line number in the file (for messages)."""

    name: str
    columns: tuple[str, ...]
    cells: tuple[np.ndarray, ...]
    lines: np.ndarray
    digest: str  # sha256 of the file's bytes

    @property
    def n_rows(self) -> int:
        return int(self.lines.size)

    def column(self, name: str) -> np.ndarray:
        if name not in self.columns:
            raise DataError(f"There is no column {name!r}; the columns are: "
                            f"{', '.join(map(repr, self.columns))}.")
        return self.cells[self.columns.index(name)]


def _size_words(n_bytes: int) -> str:
    return f"{n_bytes / 1024 / 1024:.1f} MB"


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_csv(content: bytes, filename: str | None = None) -> Table:
    """Read a CSV file strictly: a header row of column names, then at least two rows of cells,
    every row with as many cells as the header. DataError says what is wrong, otherwise."""
    if filename is not None and not str(filename).lower().endswith(".csv"):
        raise DataError(f"{filename} is not a CSV file: its name must end in .csv.")
    if not isinstance(content, (bytes, bytearray)):
        raise DataError("The upload is not a file's bytes.")
    if len(content) > MAX_BYTES:
        raise DataError(f"The file is {_size_words(len(content))}; the limit is "
                        f"{_size_words(MAX_BYTES)}.")
    if b"\x00" in content:
        raise DataError("This is not a CSV file: it contains binary data (NUL bytes).")
    try:
        text = bytes(content).decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"This is not a CSV text file: byte {err.start} is not UTF-8. Save it "
                        f"as 'CSV UTF-8'.") from None
    first = next((line for line in text.splitlines() if line.strip()), None)
    if first is None:
        raise DataError("The file is empty: it needs a header row and at least 2 rows of data.")
    counts = {d: first.count(d) for d in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: counts[d])
    if counts[delimiter] == 0:
        raise DataError("This is not a CSV table: its first line has no commas (or semicolons "
                        "or tabs), so it has only one column; two are needed (x and a target).")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue  # a blank line
            if header is None:
                header = [cell.strip() for cell in row]
                continue
            if len(rows) >= MAX_ROWS:
                raise DataError(f"The file has more than {MAX_ROWS:,} rows of data; the limit is "
                                f"{MAX_ROWS:,}.")
            if len(row) != len(header):
                raise DataError(f"Line {reader.line_num} has {len(row)} cells but the header has "
                                f"{len(header)}: every row needs one cell per column.")
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as err:
        raise DataError(f"This is not a valid CSV file: {err} (line {reader.line_num}).") from None
    assert header is not None
    if all(_looks_numeric(cell) for cell in header):
        raise DataError("The file has no header: its first row is numbers. Add a first row with "
                        "a name for each column, e.g. x,y.")
    for i, name in enumerate(header):
        if not name:
            raise DataError(f"Column {i + 1} has no name in the header row.")
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise DataError(f"The header names a column twice: {', '.join(map(repr, duplicated))}.")
    if len(rows) < MIN_ROWS:
        raise DataError(f"The file has {len(rows)} row{'s' if len(rows) != 1 else ''} of data; "
                        f"at least {MIN_ROWS} are needed to fit a line.")
    # Object arrays of Python strings: a fixed-width NumPy string array would give every cell
    # of a column the width of its longest cell.
    cells = []
    for i in range(len(header)):
        col = np.empty(len(rows), dtype=object)
        col[:] = [row[i].strip() for row in rows]
        col.setflags(write=False)
        cells.append(col)
    cells = tuple(cells)
    line_numbers = np.array(lines, dtype=np.int64)
    line_numbers.setflags(write=False)
    return Table(str(filename or "data.csv"), tuple(header), cells, line_numbers,
                 hashlib.sha256(bytes(content)).hexdigest())


# A number as a CSV cell holds it: ASCII digits, an optional sign, point and exponent (no
# thousands separators, underscores or other scripts' digits); nan and inf are matched so that
# they can be refused as not finite.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)",
                     re.ASCII | re.IGNORECASE)


def _first_non_number(text) -> int | None:
    for i, cell in enumerate(text):
        if not _NUMBER.fullmatch(cell):
            return i
    return None


def numbers(table: Table, name: str) -> np.ndarray:
    """The column as float64, or DataError naming the first cell that is empty, not a number,
    or not finite (nan, inf, or beyond the float64 range, such as 1e400)."""
    text = table.column(name)
    bad = _first_non_number(text)
    if bad is not None:
        cell, line = text[bad], table.lines[bad]
        if not cell:
            raise DataError(f"Column {name!r} has an empty cell on line {line}.")
        raise DataError(f"Column {name!r} has {cell[:40]!r} on line {line}, which is not a number.")
    values = np.array(text.tolist(), dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise DataError(f"Column {name!r} has {text[i][:40]!r} on line {table.lines[i]}, which is "
                        f"not a finite number.")
    return values


def numeric_columns(table: Table) -> list[str]:
    """The columns whose every cell is a finite number."""
    out = []
    for name in table.columns:
        try:
            numbers(table, name)
        except DataError:
            continue
        out.append(name)
    return out


def classes(table: Table, name: str) -> tuple[np.ndarray, tuple[str, str]]:
    """A two-class target column as labels 0.0/1.0 and the two class names (class 0, class 1),
    or DataError when the column does not hold exactly two classes."""
    text = table.column(name)
    empty = np.flatnonzero(text == "")
    if empty.size:
        raise DataError(f"Column {name!r} has an empty cell on line {table.lines[empty[0]]}.")
    try:
        values = numbers(table, name)
        numeric = True
    except DataError:
        numeric = False
    if numeric:
        kinds, labels = np.unique(values, return_inverse=True)
        names = tuple(f"{v:g}" for v in kinds)
    else:
        kinds, labels = np.unique(text, return_inverse=True)
        names = tuple(str(v) for v in kinds)
    if len(kinds) != 2:
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        raise DataError(f"The target column {name!r} holds {len(kinds)} different value"
                        f"{'s' if len(kinds) != 1 else ''} ({shown}); cross-entropy (logistic "
                        f"regression) needs exactly two classes.")
    return labels.astype(np.float64), (names[0], names[1])


MAX_MAGNITUDE = 1e100  # the losses square the values: beyond this float64 would overflow


def _check_varies(values: np.ndarray, name: str, why: str) -> None:
    if np.all(values == values[0]):
        raise DataError(f"Column {name!r} has the same value ({values[0]:g}) in every row: {why}")
    big = float(np.abs(values).max())
    if big > MAX_MAGNITUDE:
        raise DataError(f"Column {name!r} holds {big:.3g}; numbers beyond {MAX_MAGNITUDE:g} would "
                        f"overflow when the loss squares them. Rescale the column.")
    with np.errstate(all="ignore"):
        spread = float(np.std(values))
    if not spread > 1e-150 * max(1.0, big):
        raise DataError(f"Column {name!r} varies too little (by {spread:.3g}) for float64 "
                        f"arithmetic. Rescale the column.")


# --- the fast grids ---------------------------------------------------------------------------

def _mse_grid(x: np.ndarray, y: np.ndarray):
    """Z[i, j] = L(ws[j], bs[i]) from five statistics of the data, in a centred form:
    L(w, b) = var(x)·(w − w*)² + (w·x̄ + b − ȳ)² + L*, with (w*, b*) the least-squares line and
    L* its loss (the mean squared residual, summed directly)."""
    mx, my = x.mean(), y.mean()
    dx, dy = x - mx, y - my
    vx, cxy = (dx * dx).mean(), (dx * dy).mean()
    w_star = cxy / vx
    residual = dy - w_star * dx
    l_star = float((residual * residual).mean())

    def loss(W, B):
        c = W * mx + B - my
        return vx * (W - w_star) ** 2 + c * c + l_star

    def grad(w):
        """The full-batch gradient from the same statistics: ∂L/∂w = 2·(var(x)·(w − w*) + x̄·c),
        ∂L/∂b = 2·c with c = w·x̄ + b − ȳ (the mean residual); O(1) in the number of rows."""
        W, B = w[..., 0], w[..., 1]
        c = W * mx + B - my
        return np.stack([2 * (vx * (W - w_star) + mx * c), 2 * c], axis=-1)

    def grid(ws, bs):
        W, B = np.meshgrid(ws, bs, indexing="xy")
        return loss(W, B)

    return grid, (float(w_star), float(my - w_star * mx)), l_star, loss, grad


def _logistic_grid(x: np.ndarray, y: np.ndarray):
    """Z[i, j] = L(ws[j], bs[i]) = mean softplus(w·x + b) − w·mean(y·x) − b·mean(y).

    The second part is linear. The softplus part needs each distinct x once (weighted by how
    often it occurs) and is summed in chunks of grid rows, so memory stays near 8 MB; where
    e^z cannot overflow it is log(1 + e^b·e^{w·x}), one log per value and no exp. When that is
    more than FLOAT32_ABOVE values (a 90×90 grid over more than about 500 distinct x), the
    softplus sum is taken from binned moments of w·x (`_softplus_binned`, within 3.3e-8 of the
    exact mean), or, where binning saves nothing, with exp and log in float32 and the sum over
    the samples in float64 (within about 1e-6, relative). Every number the page prints and all
    training use the exact float64 loss."""
    xu, counts = np.unique(x, return_counts=True)
    weights = counts / x.size
    mxy, my = (x * y).mean(), y.mean()

    def grid(ws, bs):
        ws, bs = np.asarray(ws, dtype=np.float64), np.asarray(bs, dtype=np.float64)
        W, B = np.meshgrid(ws, bs, indexing="xy")
        if ws.size * bs.size * xu.size > FLOAT32_ABOVE:
            binned = _softplus_binned(ws, bs, xu, weights)
            if binned is not None:
                return binned - (W * mxy + B * my)
        out = np.empty((bs.size, ws.size))
        wx = np.outer(ws, xu)  # (nx, m)
        dtype = np.float32 if wx.size * bs.size > FLOAT32_ABOVE else np.float64
        rows = max(1, GRID_CHUNK // max(1, wx.size))
        factorized = np.abs(wx).max() + np.abs(bs).max() < (600 if dtype == np.float64 else 80)
        ew = np.exp(wx.astype(dtype)) if factorized else None
        for start in range(0, bs.size, rows):
            b = bs[start:start + rows]
            if ew is not None:
                t = np.exp(b.astype(dtype))[:, None, None] * ew[None]
                t += 1.0
                np.log(t, out=t)  # log(1 + t): for t below 1e-16 the error is below t itself
            else:
                t = np.logaddexp(0.0, wx[None] + b[:, None, None])
            flat = t.reshape(-1, xu.size)  # 2-D, so the sum over the samples is one BLAS call
            if flat.dtype != np.float64:
                flat = flat.astype(np.float64)  # summed in float64
            out[start:start + rows] = _matvec(flat, weights).reshape(len(b), ws.size)
        return out - (W * mxy + B * my)

    return grid


def _logistic_full_batch(x: np.ndarray, y: np.ndarray):
    """The exact full-batch cross-entropy and its gradient summed over the distinct x values
    (with their counts c_u and their numbers of class-1 rows s_u):
        L = Σ_u c_u·softplus(w·x_u + b)/n − w·mean(x·y) − b·mean(y)
        ∇L = Σ_u (c_u·sigmoid(w·x_u + b) − s_u)·(x_u, 1)/n.
    One softplus for the loss and one sigmoid for the gradient per distinct value, and the sums
    as matrix products: about half the work of the per-sample passes even when no x repeats,
    and far less when x repeats (ages, counts)."""
    xu, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ones = np.bincount(inverse, weights=y, minlength=xu.size)
    n = x.size
    mxy, my = float((x * y).mean()), float(y.mean())
    c, s = counts / n, ones / n

    def loss(W, B):
        z = W[..., None] * xu + B[..., None]
        return _matvec(np.logaddexp(0.0, z), c) - (W * mxy + B * my)

    def grad(w):
        z = w[..., 0, None] * xu + w[..., 1, None]
        r = _sigmoid(z) * c - s
        return np.stack([_matvec(r, xu), r.sum(axis=-1)], axis=-1)

    return loss, grad


BIN_WIDTH = 0.1  # of u = w·x in the binned softplus sum: error ≤ BIN_WIDTH⁴/3072 ≈ 3.3e-8


def _softplus_binned(ws, bs, xu, weights):
    """S[i, j] = Σ_k weights_k · softplus(ws[j]·xu_k + bs[i]) for many samples, to within
    BIN_WIDTH⁴/3072 (absolute; weights sum to 1): for each w, the values u = w·x are put in bins
    of width h around centres c, and softplus(c + δ + b) is expanded to third order in δ,
        softplus(c + b) + σ·δ + σ′·δ²/2 + σ″·δ³/6,   σ = sigmoid(c + b),
    whose remainder is at most max|softplus⁗| · (h/2)⁴/4! = (1/8)·(h/2)⁴/24. The sums of
    weights·δ^r per bin are the sufficient statistics; the work is one pass over the samples
    per w and one sigmoid per (bin, b), not per (sample, b). None when binning saves nothing
    (the u values spread over more bins than there are samples)."""
    lo, hi = float(xu.min()), float(xu.max())
    spans = np.abs(ws) * (hi - lo)
    n_bins = np.floor(spans / BIN_WIDTH).astype(np.int64) + 1
    if n_bins.sum() * 4 > ws.size * xu.size:
        return None
    out = np.empty((bs.size, ws.size))
    for j, w in enumerate(ws):
        u = w * xu
        u0 = u.min()
        k = np.minimum(((u - u0) / BIN_WIDTH).astype(np.int64), n_bins[j] - 1)
        centres = u0 + (np.arange(n_bins[j]) + 0.5) * BIN_WIDTH
        d = u - centres[k]
        m0 = np.bincount(k, weights, minlength=n_bins[j])
        m1 = np.bincount(k, weights * d, minlength=n_bins[j])
        m2 = np.bincount(k, weights * d * d, minlength=n_bins[j])
        m3 = np.bincount(k, weights * d * d * d, minlength=n_bins[j])
        used = m0 > 0
        z = centres[used][None, :] + bs[:, None]  # (ny, bins)
        sig = _sigmoid(z)
        s1 = sig * (1 - sig)
        s2 = s1 * (1 - 2 * sig)
        out[:, j] = (_matvec(np.logaddexp(0.0, z), m0[used]) + _matvec(sig, m1[used])
                     + _matvec(s1, m2[used]) / 2 + _matvec(s2, m3[used]) / 6)
    return out


def _matvec(A, v):
    """A·v over the last axis, without BLAS: OpenBLAS's threads, on a busy machine with two
    cores, made a (61, 10000)·(10000,) product take 6 to 60 ms instead of 10 (measured)."""
    return np.einsum("...j,j->...", A, v)


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


# --- the fitted minimum and the box ---------------------------------------------------------

def _fit_logistic(grad_fn, hess_fn, loss_fn, steps: int = 100) -> np.ndarray | None:
    """The cross-entropy minimum by Newton's method with backtracking from (0, 0); None when the
    weights run off (the classes are separable: the loss falls forever as |w| grows)."""
    w = np.zeros(2)
    loss = float(loss_fn(w, None))
    for _ in range(steps):
        g = grad_fn(w, None)
        H = hess_fn(w)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(step)):
            return None
        if g @ step < 1e-24:  # the Newton decrement: nothing left to gain in float64
            return w
        t = 1.0
        while True:
            trial = w - t * step
            trial_loss = float(loss_fn(trial, None))
            if trial_loss <= loss or t < 1e-6:
                break
            t *= 0.5
        if trial_loss > loss:
            break
        w, loss = trial, trial_loss
        if not np.all(np.isfinite(w)) or np.abs(w).max() > 1e8:
            return None
    g = grad_fn(w, None)
    scale = 1.0 + float(np.abs(hess_fn(w)).max())
    return w if np.sqrt(g @ g) < 1e-8 * scale else None


def _separable(x: np.ndarray, y: np.ndarray) -> bool:
    x0, x1 = x[y == 0], x[y == 1]
    return bool(x0.max() < x1.min() or x1.max() < x0.min())


def _box(center, half_w: float, half_b: float):
    (cw, cb) = center
    return ((float(cw - half_w), float(cw + half_w)), (float(cb - half_b), float(cb + half_b)))


def _start_in(bounds, minimum) -> np.ndarray:
    """(0, 0), the untrained model, when it lies in the box and away from the minimum; else a
    point three quarters of the way to the box's upper-left corner."""
    (x0, x1), (y0, y1) = bounds
    cw, cb = (x0 + x1) / 2, (y0 + y1) / 2
    if minimum is not None:
        far = max(abs(minimum[0]) / (x1 - x0), abs(minimum[1]) / (y1 - y0)) > 0.2
        if x0 < 0 < x1 and y0 < 0 < y1 and far:
            return np.zeros(2)
    return np.array([cw - 0.75 * (x1 - x0) / 2, cb + 0.75 * (y1 - y0) / 2])


# --- the surface ------------------------------------------------------------------------------

def make_surface(table: Table, x: str, target: str, loss: str = MSE) -> Surface:
    """The loss surface of the columns `x` and `target` of the table (DataError in words)."""
    if loss not in LOSSES:
        raise DataError(f"Unknown loss {loss!r}; choose one of: {', '.join(LOSSES)}.")
    if x == target:
        raise DataError("Choose two different columns: one for x and one for the target.")
    xs = numbers(table, x)
    _check_varies(xs, x, "the slope w cannot be learned from it.")
    n = xs.size
    if loss == MSE:
        ys = numbers(table, target)
        _check_varies(ys, target, "there is nothing for a line to fit.")
        model = LINEAR
        grid_fn, minimum, min_loss, full_loss, full_grad = _mse_grid(xs, ys)
        class_names = None
    else:
        ys, class_names = classes(table, target)
        model = LOGISTIC
        grid_fn = _logistic_grid(xs, ys)
        full_loss, full_grad = _logistic_full_batch(xs, ys)
        minimum = min_loss = None
    xs.setflags(write=False)
    ys.setflags(write=False)

    def batch(idx):
        return (xs, ys) if idx is None else (xs[idx], ys[idx])

    def loss_fn(w, idx):
        if idx is None and full_loss is not None:  # the full batch from the data's statistics
            return full_loss(w[..., 0], w[..., 1])
        xb, yb = batch(idx)
        return model.loss(model.forward(w, xb), yb).mean(axis=-1)

    def grad_fn(w, idx):
        if idx is None and full_grad is not None:
            return full_grad(w)
        xb, yb = batch(idx)
        return model.backward(model.forward(w, xb), yb)["grad"]

    def hessian_fn(w):
        return model.hessian(w, xs, ys)

    sx, mx = float(xs.std()), float(xs.mean())
    if loss == MSE:
        sy = float(ys.std())
        half_w = max(1.5 * abs(minimum[0]), 2.0 * sy / sx)
        half_b = max(1.5 * abs(minimum[1]), 2.0 * sy, 1.1 * half_w * abs(mx))
        bounds = _box(minimum, half_w, half_b)
        words = (f"Fit a line ŷ = w·x + b to your {n:,} rows (x = {x!r}, y = {target!r}) with mean "
                 f"squared error L = mean((ŷ − y)²). The marked minimum is the least-squares line "
                 f"w = {minimum[0]:.4g}, b = {minimum[1]:.4g} (loss {min_loss:.4g}).")
        if abs(mx) > 2 * sx:
            words += (" Your x is far from 0 compared with its spread, so w and b are tied together: "
                      "a long, narrow valley.")
    else:
        with np.errstate(all="ignore"):
            fitted = None if _separable(xs, ys) else _fit_logistic(grad_fn, hessian_fn, loss_fn)
        if fitted is not None:
            minimum, min_loss = (float(fitted[0]), float(fitted[1])), float(loss_fn(fitted, None))
            half_w = max(1.5 * abs(minimum[0]), 3.0 / sx)
            half_b = max(1.5 * abs(minimum[1]), 3.0, 1.1 * half_w * abs(mx))
            bounds = _box(minimum, half_w, half_b)
            words = (f"Classify your {n:,} rows by p = sigmoid(w·x + b) (x = {x!r}; target "
                     f"{target!r}, class 1 = {class_names[1]!r}, class 0 = {class_names[0]!r}) with "
                     f"cross-entropy. The marked minimum is the fitted model w = {minimum[0]:.4g}, "
                     f"b = {minimum[1]:.4g} (loss {min_loss:.4g}).")
        else:
            half_w = 6.0 / sx
            bounds = _box((0.0, 0.0), half_w, max(3.0, 1.1 * half_w * abs(mx)))
            words = (f"Classify your {n:,} rows by p = sigmoid(w·x + b) (x = {x!r}; target "
                     f"{target!r}, class 1 = {class_names[1]!r}) with cross-entropy. The two classes "
                     f"are separated by a single threshold on x, so the loss has no minimum: it keeps "
                     f"falling as |w| grows, and no minimum is marked.")
    minima = np.empty((0, 2)) if minimum is None else np.array([minimum], dtype=np.float64)
    minima.setflags(write=False)
    start = _start_in(bounds, minimum)
    start.setflags(write=False)
    h = model.hessian(np.asarray(start), xs, ys) if loss == CROSS_ENTROPY else hessian_fn(np.zeros(2))
    lam = float(np.linalg.eigvalsh(h).max())
    default_lr = float(1.0 / lam) if lam > 0 else 0.1
    title = f"Your data: {table.name}"
    return Surface(
        name=model.name, title=title, about=words, kind="data",
        lesson=f"your data · {LOSS_WORDS[loss].split(' (')[0].lower()}",
        bounds=bounds, minima=minima,
        minimum_loss=float("nan") if min_loss is None else float(min_loss), start=start,
        default_lr=default_lr, log_scale=False, n_samples=n,
        batch_note=(f"Your data has {n:,} rows; a mini-batch estimates the gradient from only some "
                    f"of them, so each step is cheaper and noisier but right on average."),
        loss_fn=loss_fn, grad_fn=grad_fn, hessian_fn=hessian_fn, grid_fn=grid_fn,
        data=(xs, ys), model=model,
    )


def default_choice(table: Table) -> tuple[str, str, str]:
    """A first guess at (x, target, loss): the first numeric column as x, the last other column
    as the target, and cross-entropy when that target holds exactly two classes."""
    numeric = numeric_columns(table)
    x = numeric[0] if numeric else table.columns[0]
    others = [c for c in table.columns if c != x]
    target = others[-1]
    try:
        classes(table, target)
        loss = CROSS_ENTROPY
    except DataError:
        loss = MSE
    return x, target, loss
