"""Network-mode Muon (engine/muon_network.py) against torch 2.13: torch.optim.Muon on the hidden
weight matrices and torch.optim.AdamW on the biases and output layer, on the same MLP in float64.

How close, measured here (torch 2.13 CPU, a machine with AVX512-BF16):
- The bfloat16 Newton–Schulz iteration is torch's bit for bit on every shape tried, 1×2 to 64×64,
  wide and tall, because the emulation adds the float32 products in torch's own order (its loop
  with four running sums up to 16³ multiply-adds, oneDNN's pairwise order above) and fuses addmm's
  β·C as torch does. Summed in NumPy's order instead, the order-sensitive sums below differ.
- Fed the same full-batch gradients, Muon's matrices stay bit for bit torch's for 40 steps; AdamW's
  weights agree to 1e-14 relative (one ulp in about 1 weight in 2,500 per step, cause not found).
- With torch computing its own gradients by autograd (last-bit differences from the hand-written
  backward pass), the whole trajectory agrees to about 1e-15 over 40 steps; the test allows 1e-12.
  It is not bit for bit, and a chaotic run could one day flip a bfloat16 rounding (a jump of about
  lr·2⁻⁹ in one weight).
"""

import os

import numpy as np
import pytest

import surfaces
from engine import optimizers, train, collect
from engine.muon_network import for_model, layer_slices, network_muon, newton_schulz
from engine.network import MLP
from surfaces import datasets

try:
    import torch
except ImportError:  # the [torch] extra is not installed
    torch = None

IN_CI = os.environ.get("CI", "").lower() == "true"
needs_torch = pytest.mark.skipif(torch is None and not IN_CI,
                                 reason="torch is not installed (pip install -e .[torch])")


def _mlp(layers, activation="relu", n=60):
    return MLP(layers, activation, data=datasets.two_moons(n=n, seed=3), seed=1)


def _torch_pair(mlp, w, hyper, lr):
    """torch parameters from the flat vector w, and torch's two optimizers as the recipe."""
    params = []
    for W, b in mlp.unflatten(w):
        params += [torch.tensor(W.copy(), requires_grad=True), torch.tensor(b.copy(), requires_grad=True)]
    hidden = [params[2 * i] for i in range(len(mlp.shapes) - 1)]
    rest = [p for p in params if all(p is not h for h in hidden)]
    opts = [torch.optim.AdamW(rest, lr=lr)]
    if hidden:
        opts.append(torch.optim.Muon(hidden, **hyper))
    return params, opts


def _flat(params) -> np.ndarray:
    return np.concatenate([p.detach().numpy().reshape(-1) for p in params])


def _set_grads(mlp, params, grad):
    pieces = [x for pair in mlp.unflatten(grad) for x in pair]
    for p, g in zip(params, pieces):
        p.grad = torch.tensor(np.ascontiguousarray(g))


HYPER_SETS = [
    ((2, 16, 16, 2), dict(lr=0.02)),
    ((2, 8, 16, 2), dict(lr=0.05, momentum=0.9, nesterov=False, weight_decay=0.0,
                         adjust_lr_fn="match_rms_adamw", ns_steps=4)),
]


@needs_torch
@pytest.mark.parametrize("layers,hyper", HYPER_SETS)
def test_given_the_same_gradients_muons_matrices_are_torchs_bit_for_bit(layers, hyper):
    """Both sides get the engine's full-batch gradient at the engine's weights every step, so
    any difference is the optimizers' arithmetic: Muon's matrices must agree bit for bit, AdamW's
    weights to a few float64 ulps (their one-ulp slips add up but never feed back)."""
    mlp = _mlp(layers)
    opt = network_muon(mlp.shapes, **hyper)
    w, state = mlp.start.copy(), opt.init(mlp.start)
    params, opts = _torch_pair(mlp, mlp.start, hyper, hyper["lr"])
    muon = np.zeros(mlp.d, dtype=bool)
    for ws, _ in layer_slices(mlp.shapes)[:-1]:
        muon[ws] = True
    worst = 0.0
    for _ in range(40):
        grad = mlp.grad(w)
        w, state = opt.update(w, grad, state)
        _set_grads(mlp, params, grad)
        for o in opts:
            o.step()
        theirs = _flat(params)
        np.testing.assert_array_equal(w[muon], theirs[muon])
        worst = max(worst, float(np.max(np.abs(w[~muon] - theirs[~muon]) / np.abs(theirs[~muon]).clip(1e-3))))
    assert worst <= 1e-14, f"AdamW's weights: max relative |engine − torch| = {worst:.3g}"
    assert mlp.loss(w) < mlp.loss(mlp.start)  # it trained


@needs_torch
def test_trajectory_with_torchs_own_autograd_gradients_stays_close():
    """torch differentiates its own float64 forward pass; the gradients differ from the hand
    backward pass in the last bits, which can flip a bfloat16 rounding now and then."""
    mlp = _mlp((2, 16, 16, 2))
    hyper = dict(lr=0.02)
    opt = network_muon(mlp.shapes, **hyper)
    w, state = mlp.start.copy(), opt.init(mlp.start)
    params, opts = _torch_pair(mlp, mlp.start, hyper, hyper["lr"])
    X, y = torch.tensor(mlp.X), torch.tensor(mlp.y.astype(np.int64))
    worst = 0.0
    for _ in range(40):
        w, state = opt.update(w, mlp.grad(w), state)
        a = X
        for i in range(len(mlp.shapes)):
            a = a @ params[2 * i].T + params[2 * i + 1]
            if i < len(mlp.shapes) - 1:
                a = torch.relu(a)
        for o in opts:
            o.zero_grad()
        torch.nn.functional.cross_entropy(a, y).backward()
        for o in opts:
            o.step()
        worst = max(worst, float(np.max(np.abs(w - _flat(params)))))
    # one flipped bfloat16 rounding would move a weight by about lr·2⁻⁹ = 4e-5
    assert worst <= 1e-12, f"max |engine − torch| = {worst:.3g}"
    print(f"autograd gradients: max |engine − torch| over 40 steps = {worst:.3g}")


def _cpu_flags() -> set[str]:
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split()}


def _onednn_order_known_here(multiply_adds: int) -> None:
    """Above 16³ multiply-adds torch hands a bfloat16 product to oneDNN, which picks its kernel
    (and so its summation order) by the CPU. The order emulated was read off a CPU with
    AVX512-BF16; on another CPU the bit-for-bit claim for big products is not ours to make."""
    from engine import muon_network
    if multiply_adds > muon_network.ONEDNN_ABOVE and "avx512_bf16" not in _cpu_flags():
        pytest.skip("this CPU has no AVX512-BF16: oneDNN's summation order here is not the one "
                    "the engine emulates (read off an AVX512-BF16 CPU)")


def _bits_differing(shape, trials, rng):
    from torch.optim._muon import _zeropower_via_newtonschulz
    differ = total = 0
    for _ in range(trials):
        u = rng.normal(size=shape) * 10.0 ** rng.uniform(-3, 1)
        ours = newton_schulz(u, optimizers.MUON_COEFFICIENTS, 5, 1e-7)
        theirs = _zeropower_via_newtonschulz(torch.tensor(u), optimizers.MUON_COEFFICIENTS, 5, 1e-7)
        differ += int(np.sum(ours != theirs.double().numpy()))
        total += ours.size
    return differ, total


@needs_torch
@pytest.mark.parametrize("shape", [(1, 2), (1, 16), (16, 2), (2, 16), (8, 4), (3, 5), (7, 3),
                                   (16, 16), (24, 8), (32, 32), (64, 64)])
def test_newton_schulz_is_torchs_bit_for_bit(shape):
    m, n = sorted(shape)  # X·Xᵀ on the wide orientation: m·n·m multiply-adds
    _onednn_order_known_here(m * n * m)
    differ, total = _bits_differing(shape, 20, np.random.default_rng(sum(shape)))
    assert differ == 0, f"{differ} of {total} bfloat16 entries differ"


def _order_sensitive(m, k, n, rng):
    """bfloat16 factors whose products in each entry are 1, 2⁻⁸ and 2⁻²⁵s at random places: the
    exact sum is just above a bfloat16 midpoint, so its rounding depends on whether the tiny
    products are added together before they meet the 1 (random sums almost never tell orders apart)."""
    A = np.full((m, k), 2.0 ** -25, dtype=np.float32)
    for i in range(m):
        first, second = rng.permutation(k)[:2]
        A[i, first], A[i, second] = 1.0, 2.0 ** -8
    B = np.ones((k, n), dtype=np.float32)
    B[rng.integers(k, size=n), np.arange(n)] = rng.choice([0.5, 2.0], size=n)
    return A, B


@needs_torch
@pytest.mark.parametrize("mkn", [(2, 16, 2), (8, 8, 8), (16, 16, 16), (16, 16, 17), (16, 32, 16), (24, 24, 24)])
def test_matmul_adds_in_torchs_order_on_both_sides_of_the_onednn_threshold(mkn, monkeypatch):
    from engine import muon_network
    from engine.muon_network import _fma32, _mm
    from engine.rounding import round_bf16
    _onednn_order_known_here(mkn[0] * mkn[1] * mkn[2])
    rng = np.random.default_rng(sum(mkn))
    other_order = 0
    small = mkn[0] * mkn[1] * mkn[2] <= muon_network.ONEDNN_ABOVE
    for _ in range(10):
        A, B = _order_sensitive(*mkn, rng)
        C = round_bf16(rng.normal(size=(mkn[0], mkn[2])))
        ta, tb, tc = (torch.tensor(v).bfloat16() for v in (A, B, C))
        np.testing.assert_array_equal(round_bf16(_mm(A, B)), (ta @ tb).float().numpy())
        theirs = torch.addmm(tc, ta, tb, beta=-4.775, alpha=2.0315).float().numpy()
        np.testing.assert_array_equal(
            round_bf16(_fma32(np.float32(-4.775), C, np.float32(2.0315) * _mm(A, B))), theirs)
        with monkeypatch.context() as patch:  # the other side's order, to show the inputs tell them apart
            patch.setattr(muon_network, "ONEDNN_ABOVE", 0 if small else 10 ** 9)
            other_order += int(np.sum(round_bf16(_mm(A, B)) != (ta @ tb).float().numpy()))
    assert other_order > 0


def test_matches_plain_muon_on_a_one_by_n_matrix():
    """A 1×n matrix through the matrix path is the two-weights page's Muon, bit for bit."""
    from engine.rounding import newton_schulz_row
    rng = np.random.default_rng(5)
    u = rng.normal(size=(200, 2)) * 10.0 ** rng.uniform(-4, 2, size=(200, 1))
    rows = newton_schulz_row(u, optimizers.MUON_COEFFICIENTS, 5, 1e-7)
    mats = newton_schulz(u[:, None, :], optimizers.MUON_COEFFICIENTS, 5, 1e-7)[:, 0, :]
    np.testing.assert_array_equal(rows, mats)


def test_muon_acts_on_the_hidden_matrices_and_adamw_on_the_rest():
    mlp = _mlp((2, 8, 4, 2))
    opt = network_muon(mlp.shapes, lr=0.01, weight_decay=0.0)
    adamw = optimizers.create("adamw", lr=0.01)
    w = mlp.start.copy()
    grad = mlp.grad(w)
    new, state = opt.update(w, grad, opt.init(w))
    slices = layer_slices(mlp.shapes)
    assert len(state.momentum_buffer) == 2 and state.momentum_buffer[1].shape == (4, 8)
    rest = np.ones(mlp.d, dtype=bool)
    for (ws, _), (shape, _) in zip(slices[:-1], mlp.shapes[:-1]):
        rest[ws] = False
        # Muon's step on a matrix is orthogonalized: its singular values are all near 1 (after
        # the lr scaling sqrt(max(1, rows/cols))), which the raw gradient's are not
        step = ((w[ws] - new[ws]) / 0.01).reshape(shape) / np.sqrt(max(1.0, shape[0] / shape[1]))
        sv = np.linalg.svd(step, compute_uv=False)
        sv = sv[sv > 1e-9]  # a dead ReLU unit's row has no gradient: a zero singular value
        assert sv.size >= 2 and np.all((sv > 0.5) & (sv < 1.5)), sv
        assert not np.all(np.abs(np.linalg.svd(grad[ws].reshape(shape), compute_uv=False) - 1) < 0.5)
    adam_new, _ = adamw.update(w[rest], grad[rest], adamw.init(w[rest]))
    # the engine's AdamW (exact to rounding) and the recipe's (torch's order of operations)
    np.testing.assert_allclose(new[rest], adam_new, rtol=1e-14, atol=0)


def test_a_network_without_hidden_layers_is_all_adamw():
    mlp = _mlp((2, 2))
    opt, adamw = network_muon(mlp.shapes, lr=0.05), optimizers.create("adamw", lr=0.05)
    w1 = w2 = mlp.start.copy()
    s1, s2 = opt.init(w1), adamw.init(w2)
    for _ in range(5):
        w1, s1 = opt.update(w1, mlp.grad(w1), s1)
        w2, s2 = adamw.update(w2, mlp.grad(w2), s2)
    np.testing.assert_allclose(w1, w2, rtol=1e-13, atol=0)
    assert s1.momentum_buffer == ()


def test_runs_stacked_with_a_column_of_rates_match_each_run_alone():
    mlp = _mlp((2, 6, 5, 2))
    opt = network_muon(mlp.shapes, lr=0.01)
    rng = np.random.default_rng(2)
    W = mlp.start + 0.1 * rng.normal(size=(3, mlp.d))
    lrs = np.array([[0.01], [0.03], [0.002]])
    state = opt.init(W)
    stacked = W.copy()
    for _ in range(3):
        stacked, state = opt.update(stacked, mlp.grad(stacked), state, lr=lrs)
    for k in range(3):
        w, s = W[k].copy(), opt.init(W[k])
        for _ in range(3):
            w, s = opt.update(w, mlp.grad(w), s, lr=float(lrs[k, 0]))
        np.testing.assert_array_equal(stacked[k], w)


def test_for_model_keeps_muon_on_a_surface_and_other_optimizers_on_a_network():
    muon = optimizers.create("muon", lr=0.01)
    assert for_model(muon, surfaces.get("rosenbrock")) is muon
    adam = optimizers.create("adam")
    assert for_model(adam, _mlp((2, 4, 2))) is adam
    recipe = for_model(muon, _mlp((2, 4, 2)))
    assert recipe is not muon and recipe.name == "muon" and recipe.hyper == muon.hyper


def test_a_network_mode_run_with_muon_trains_with_the_recipe():
    from lab.config import Config, RunChoice
    from lab.runs import build_mlp, stream_run
    config = Config(mode="network", runs=(RunChoice("muon"),), learning_rate=0.02, epochs=4,
                    batch_size=None)
    mlp = build_mlp(config)
    got = collect(stream_run(config, config.runs[0], mlp, mlp.start)).params
    opt = network_muon(mlp.shapes, **config.runs[0].make(config.learning_rate).hyper)
    want = collect(train(mlp, opt, epochs=4, batch_size=None, start=mlp.start, seed=config.seed)).params
    np.testing.assert_array_equal(got, want)
    flat = collect(train(mlp, optimizers.create("muon", lr=0.02), epochs=4, batch_size=None,
                         start=mlp.start, seed=config.seed)).params
    assert not np.array_equal(got[-1], flat[-1])  # not the whole vector as one 1×d matrix
