"""Network speed figures as JSON: training an MLP and its 41×41 loss landscape, each beside a reference."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import collect, landscape, optimizers, train  # noqa: E402
from engine.network import DEFAULT_CONFIG, MLP  # noqa: E402
from surfaces import datasets  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import best_of, timed  # noqa: E402  (the one timing helper)

N_SAMPLES, EPOCHS, BATCH, LR = 500, 100, 32, DEFAULT_CONFIG["lr"]


def make_net() -> MLP:
    config = DEFAULT_CONFIG
    return MLP(config["layers"], config["activation"], data=datasets.two_moons(n=N_SAMPLES, seed=0),
               init=config["init"], seed=0)


def per_sample_epochs(net: MLP, epochs: int) -> None:
    """The reference: the same training written the straightforward way, one sample at a time.

    Each mini-batch gradient is the mean of per-sample gradients, each from a forward and a
    backward pass on one input vector; the update is the same Adam. Per-epoch records (full
    loss and gradient norm) are left out, which favours the reference.
    """
    opt = optimizers.create("adam", lr=LR)
    w = net.start.copy()
    state = opt.init(w)
    rng = np.random.default_rng(0)
    params = None
    for _ in range(epochs):
        order = rng.permutation(net.n_samples)
        for start in range(0, net.n_samples, BATCH):
            grad = np.zeros(net.d)
            batch = order[start:start + BATCH]
            for i in batch:
                params = net.unflatten(w)
                x, label = net.X[i], net.y[i]
                zs, acts = [], [x]
                for layer, (W, b) in enumerate(params):
                    z = W @ acts[-1] + b
                    zs.append(z)
                    acts.append(np.maximum(z, 0) if layer < len(params) - 1 else z)
                p = np.exp(zs[-1] - zs[-1].max())
                p /= p.sum()
                dz = p.copy()
                dz[label] -= 1
                grads = []
                for layer in reversed(range(len(params))):
                    grads.append((np.outer(dz, acts[layer]), dz))
                    if layer > 0:
                        dz = (params[layer][0].T @ dz) * (zs[layer - 1] > 0)
                grad += net.flatten(grads[::-1])
            w, state = opt.update(w, grad / len(batch), state)


def training() -> dict:
    net = make_net()
    assert net.activation == "relu"  # the reference's backward pass is written for ReLU

    def run():
        return collect(train(net, optimizers.create("adam", lr=LR), epochs=EPOCHS,
                             batch_size=BATCH, seed=0))

    seconds, result = timed(run, 3)
    ref_epochs = 3
    t0 = time.perf_counter()
    per_sample_epochs(net, ref_epochs)
    reference = (time.perf_counter() - t0) * EPOCHS / ref_epochs
    return {
        "network": "-".join(map(str, net.layers)) + f" {net.activation}, {net.d} weights",
        "samples": N_SAMPLES, "epochs": EPOCHS, "batch_size": BATCH, "optimizer": f"adam lr={LR}",
        "train_s": round(seconds, 3),
        "final_accuracy": round(float(net.accuracy(result.params[-1])), 4),
        "reference_per_sample_s": round(reference, 2),
        "reference_note": f"per-sample forward/backward in a Python loop, {ref_epochs} epochs "
                          f"timed and scaled to {EPOCHS}",
        "target_s": 1.0,
    }


def landscape_grid(n=41) -> dict:
    net = make_net()
    run = collect(train(net, optimizers.create("adam", lr=LR), epochs=EPOCHS, batch_size=BATCH))
    plane = landscape.pca_plane(run.params)
    alphas, betas = landscape.axis_range(landscape.project(plane, run.params), n=n)

    def grid64():
        return landscape.loss_grid(net.loss_many, plane, alphas, betas)

    def grid32():
        return landscape.loss_grid(lambda W: net.loss_many(W, dtype=np.float32), plane, alphas, betas)

    def loop():
        return [[float(net.loss(landscape.weights_at(plane, (a, b)))) for a in alphas] for b in betas]

    s64, Z64 = timed(grid64, 7)
    s32, Z32 = timed(grid32, 7)
    s_loop, Z_loop = timed(loop, 1)
    t0 = time.perf_counter()
    report = landscape.honesty(net.loss_many, plane, run.params, true_loss=run.loss)
    honesty_s = time.perf_counter() - t0
    return {
        "grid": f"{n}x{n}", "samples": N_SAMPLES,
        "grid_ms": round(s64 * 1e3, 1),
        "grid_float32_ms": round(s32 * 1e3, 1),
        "float32_max_abs_diff": float(np.max(np.abs(Z32 - Z64))),
        "reference_loop_ms": round(s_loop * 1e3, 1),
        "reference_max_abs_diff": float(np.max(np.abs(np.array(Z_loop) - Z64))),
        "reference_note": "a Python loop over the grid points calling the single-weight loss",
        "pca_plane_and_honesty_ms": round(honesty_s * 1e3, 1),
        "plane_explains": round(float(plane.explained.sum()), 4),
        "target_ms": 100,
    }


def main() -> dict:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"load_average_1min": load, "training": training(), "landscape": landscape_grid()}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
