"""Practitioner speed figures as JSON: your own CSV to a drawn surface, and the edge-of-stability
readout in network mode, each beside a reference measured in the same run."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import collect, train  # noqa: E402
from engine.train import trace  # noqa: E402
from engine.sharpness import sharpness_run  # noqa: E402
from lab import runs  # noqa: E402
from lab.config import network_defaults  # noqa: E402
from surfaces import user_data  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import timed  # noqa: E402  (the one timing helper)

ROWS = 10_000
GRID = runs.GRID_POINTS  # the page's grid: 90 × 90




def csv_file(kind: str, rows: int = ROWS, seed: int = 0) -> bytes:
    """A seeded CSV with a header: x, an unused column, and y (numbers) or a 0/1 class."""
    rng = np.random.default_rng(seed)
    x = rng.normal(50.0, 10.0, rows)
    other = rng.normal(size=rows)
    if kind == user_data.MSE:
        y = 3.0 * x + 7.0 + rng.normal(0.0, 5.0, rows)
        cells = (f"{a:.6f},{b:.6f},{c:.6f}" for a, b, c in zip(x, other, y))
    else:
        y = (x + rng.normal(0.0, 10.0, rows) > 50.0).astype(int)
        cells = (f"{a:.6f},{b:.6f},{c}" for a, b, c in zip(x, other, y))
    return ("x,other,y\n" + "\n".join(cells) + "\n").encode()


def csv_to_surface(kind: str) -> dict:
    content = csv_file(kind)

    def upload():
        table = user_data.parse_csv(content, "bench.csv")
        surface = user_data.make_surface(table, "x", "y", kind)
        return surface, surface.grid(GRID)

    seconds, (surface, (xs, ys, Z)) = timed(upload, 5)
    parse_s, _ = timed(lambda: user_data.parse_csv(content, "bench.csv"), 5)
    # The reference: the grid the straightforward way, one loss evaluation (a pass over all
    # rows) per grid point, on a sample of 300 points, scaled to the whole grid.
    rng = np.random.default_rng(1)
    picks = rng.choice(GRID * GRID, 300, replace=False)
    t0 = time.perf_counter()
    model, (x, y) = surface.model, surface.data
    loop = [float(np.mean(model.loss(model.forward(np.array([xs[p % GRID], ys[p // GRID]]), x), y)))
            for p in picks]  # each: the model's per-sample forward pass and loss over all rows
    loop_s = (time.perf_counter() - t0) * GRID * GRID / len(picks)
    diff = float(np.max(np.abs(np.array(loop) - Z.ravel()[picks])))
    return {
        "rows": ROWS, "bytes": len(content), "grid": f"{GRID}x{GRID}",
        "upload_to_grid_s": round(seconds, 3),
        "parse_only_s": round(parse_s, 3),
        "reference_per_point_loop_s": round(loop_s, 2),
        "reference_max_abs_diff": diff,
        "reference_note": "the grid by a Python loop over grid points, each a mean over all rows "
                          "(300 points timed, scaled to the grid)",
        "target_s": 1.0,
    }


def sharpness_readout() -> dict:
    """The default network (Adam, η 0.03, batch 32, 100 epochs on two moons): training alone,
    the readout's replay, and the readout's own cost per measured epoch."""
    config = network_defaults()
    mlp = runs.build_mlp(config)
    choice = config.runs[0]
    settings = dict(epochs=config.epochs, batch_size=runs.batch_size(config, choice), start=mlp.start,
                    seed=config.seed, clip=runs.make_clip(config, choice),
                    schedule=runs.make_schedule(config, choice))

    def training():
        return collect(train(mlp, choice.make(config.learning_rate), **settings))

    def replay():
        return sum(1 for _ in trace(mlp, choice.make(config.learning_rate), **settings))

    def readout():
        return sharpness_run(mlp, choice.make(config.learning_rate), **settings)

    train_s, run = timed(training, 3)
    replay_s, _ = timed(replay, 3)
    readout_s, curve = timed(readout, 3)
    measured = len(curve.epochs)
    own_s = max(readout_s - replay_s, 0.0)
    grad_s, _ = timed(lambda: mlp.grad(run.params[-1]), 50)
    v = np.random.default_rng(0).normal(size=mlp.d)
    hvp_s, _ = timed(lambda: mlp.hvp(run.params[-1], v), 50)
    return {
        "network": "-".join(map(str, mlp.layers)) + f" {mlp.activation}, {mlp.d} weights, "
                   f"{mlp.n_samples} samples",
        "optimizer": f"{choice.label} η={config.learning_rate:g}, batch {config.batch_size}, "
                     f"{config.epochs} epochs",
        "train_epoch_ms": round(train_s / config.epochs * 1e3, 2),
        "sharpness_epoch_ms": round(own_s / measured * 1e3, 2),
        "replay_epoch_ms": round(replay_s / config.epochs * 1e3, 2),
        "readout_total_s": round(readout_s, 3),
        "train_total_s": round(train_s, 3),
        "measured_epochs": measured, "every": curve.every,
        "hvp_per_measurement": round(curve.iterations / measured, 1),
        "hvp_ms": round(hvp_s * 1e3, 3), "full_batch_grad_ms": round(grad_s * 1e3, 3),
        "note": "sharpness_epoch_ms is the readout's own cost (power iteration on exact "
                "Hessian-vector products, warm-started) per measured epoch; the readout also "
                "replays the run with trace to read the optimizer state (replay_epoch_ms), "
                "which a page that recorded the state while training would not pay again",
    }


def page_rerun_after_upload() -> dict:
    """The whole page's rerun (streamlit.testing AppTest, no browser) when a 10,000-row CSV is
    uploaded: parse, surface, grid, the default run (Adam, 500 epochs) and whatever else the
    page computes for the views, such as every η stop of the view's own slider."""
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "app.py")
    out = {}
    for kind in (user_data.MSE, user_data.CROSS_ENTROPY):
        at = AppTest.from_file(app, default_timeout=300).run()
        uploader = at.file_uploader(key="user_csv").set_value(("bench.csv", csv_file(kind), "text/csv"))
        t0 = time.perf_counter()
        uploader.run()
        out[f"{kind}_s"] = round(time.perf_counter() - t0, 2)
        out[f"{kind}_ok"] = not at.exception
    out["note"] = ("Python seconds of the page's rerun after the upload (AppTest); the first render "
                   "of an uploaded surface also trains the default run and the view's η paths")
    return out


def main() -> dict:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"load_average_1min": load,
            "csv_to_surface_mse": csv_to_surface(user_data.MSE),
            "csv_to_surface_logistic": csv_to_surface(user_data.CROSS_ENTROPY),
            "sharpness": sharpness_readout(),
            "page_rerun_after_upload": page_rerun_after_upload()}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
