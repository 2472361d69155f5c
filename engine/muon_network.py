"""Muon in network mode as its authors use it: Muon on each hidden weight matrix, AdamW on the rest.

torch.optim.Muon takes 2-D parameters only, and Muon's authors (Jordan et al. 2024; torch's own
docstring example) give it the hidden layers' weight matrices and hand every other parameter, the
biases and the output layer, to AdamW. ``network_muon(shapes, **muon_hyper)`` builds that pair as
one engine ``Optimizer`` over an MLP's flat weight vector (``engine.network.MLP.shapes``: W₁ as
its (out, in) matrix row-major, b₁, W₂, b₂, …, the order of torch's ``model.parameters()``):

    hidden W_l (l < L), each its own (out, in) matrix:  torch.optim.Muon, step for step
    b_1 … b_L and the output layer's W_L:               torch.optim.AdamW (torch's betas, eps and
                                                        weight_decay=1e-2) at the run's lr

Both optimizers get the same lr, and a schedule's lr override drives both, as one torch LR
scheduler per optimizer with the same factor would. A network with no hidden layer has no matrix
for Muon, so AdamW does everything.

How close to torch (tests/test_muon_network.py measures it against torch 2.13 in float64, torch's
Muon and AdamW on the same MLP): Muon's bfloat16 Newton–Schulz iteration is torch's bit for bit
(every shape tried, 1×2 to 64×64, wide and tall). That takes more than rounding to bfloat16 after
each of torch's operations (``engine.rounding.round_bf16``): a matrix product sums many float32
products, exact in float32, and the order of those sums decides the rounding, so ``_mm`` adds them
in torch's CPU order (its own loop up to 16³ multiply-adds, oneDNN's above) and ``_fma32`` fuses
addmm's β·C as torch does. NumPy's own matmul sums in OpenBLAS's order and differed from torch in
about one bfloat16 entry in ten thousand. AdamW follows torch's kernels' order too; it matches
torch's m and v bit for bit and its weights to one ulp in about 1 weight in 2,500 per step (cause
not found). Fed the same gradients, Muon's matrices stay bit for bit torch's; with torch's own
autograd gradients (last-bit differences from the hand-written backward pass) a 40-step run
agrees to about 1e-15, not bit for bit: a chaotic run could someday flip a bfloat16 rounding,
a jump of about lr·2⁻⁹ in one weight. The summation orders are those of an x86 CPU with
AVX512-BF16 (oneDNN picks its kernel by CPU), which is where they were measured.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np

from engine.optimizers import AdamState, Optimizer, create
from engine.rounding import fma, round_bf16

_F32 = np.float32


def _lerp(a, b, weight: float):
    """torch.lerp's CPU kernel, as engine.optimizers has it: fused from `a` for a small weight,
    from `b` otherwise."""
    if abs(weight) < 0.5:
        return fma(weight, b - a, a)
    return fma(a - b, 1.0 - weight, b)


def _step_lr(lr, base_lr):
    """This step's lr: the configured one, or a schedule's override (a float, or a (k, 1) column
    of one rate per run), finite and >= 0 as engine.optimizers requires."""
    if lr is None:
        return base_lr
    if not np.all((np.asarray(lr) >= 0.0) & (np.asarray(lr) < np.inf)):
        raise ValueError(f"Invalid learning rate override: {lr}; lr must be finite and >= 0 (or None)")
    return lr


class NetworkMuonState(NamedTuple):
    count: int
    momentum_buffer: tuple  # Muon's buffer per hidden weight matrix, each (..., out, in)
    adamw: AdamState  # AdamW's state on the other weights, gathered in flat order


def _fma32(a, b, c) -> np.ndarray:
    """float32 a·b + c rounded once, as the epilogue of torch's bfloat16 addmm on the CPU
    (beta·C fused into alpha·(A·B)): the float32 product a·b is exact in float64, so the float64
    sum rounded to float32 is the fused result except in a double-rounding tie."""
    return (np.float64(a) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(_F32)


# torch's CPU bfloat16 matmul sends a product of m·k·n ≤ 16³ multiply-adds to its own loop
# (cpublas) and a bigger one to oneDNN (found by feeding both sums whose bfloat16 rounding
# depends on the order of the float32 additions).
ONEDNN_ABOVE = 16 ** 3


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The float32 matrix product of bfloat16 values (..., m, k)·(..., k, n), summed in the order
    torch's CPU bfloat16 matmul sums it. Each product of two bfloat16 is exact in float32, so
    only the order of the float32 additions decides the rounding:

        m·k·n ≤ 16³ (cpublas): four running sums over k ≡ 0, 1, 2, 3 (mod 4), the leftover k
                    into the first, then ((s0 + s1) + s2) + s3 (ATen's ``sum`` with ilp 4);
        larger (oneDNN, AVX512-BF16): one running sum, products added in pairs, the odd one of
                    each pair first (acc += a₁b₁; acc += a₀b₀; acc += a₃b₃; …), as vdpbf16ps.

    NumPy's matmul (OpenBLAS) adds in yet another order; on Muon's matrices it differs from torch
    in about one bfloat16 entry in ten thousand."""
    k = a.shape[-1]
    if a.shape[-2] * k * b.shape[-1] > ONEDNN_ABOVE:
        # one (m, n) addition per k: no (m, n, k) temporary, which is slower for big matrices
        acc = np.zeros(a.shape[:-1] + b.shape[-1:], dtype=_F32)
        for i in range(0, k, 2):
            for j in (i + 1, i):
                if j < k:
                    acc += a[..., :, j:j + 1] * b[..., j:j + 1, :]
        return acc
    # every product a_ik·b_kj at once (at most 16³), (..., m, n, k) with k last, exact in
    # float32; a running sum is the last entry of a cumulative sum (np.cumsum adds one term at a
    # time, in float32)
    terms = a[..., :, None, :] * np.swapaxes(b, -1, -2)[..., None, :, :]
    whole = k - k % 4
    blocks = terms[..., :whole].reshape(terms.shape[:-1] + (whole // 4, 4))
    sums = np.cumsum(blocks, axis=-2, dtype=_F32)[..., -1, :] if whole else \
        np.zeros(terms.shape[:-1] + (4,), dtype=_F32)
    first = sums[..., 0]
    if k > whole:
        first = np.cumsum(np.concatenate([first[..., None], terms[..., whole:]], axis=-1),
                          axis=-1, dtype=_F32)[..., -1]
    return ((first + sums[..., 1]) + sums[..., 2]) + sums[..., 3]


def newton_schulz(u: np.ndarray, coefficients, steps: int, eps: float) -> np.ndarray:
    """torch.optim.Muon's orthogonalization of each matrix of `u` (shape (..., rows, cols)) in
    bfloat16 as torch does it on the CPU, returned as float64.

        X = bf16(u), transposed if rows > cols ;  X ← X / max(‖X‖_F, eps)
        repeat steps:  A = X·Xᵀ ;  B = b·A + c·A·A ;  X ← a·X + B·X        (transposed back)

    Each bfloat16 operation computes in float32 and rounds once to bfloat16 (round to nearest
    even), as torch's CPU kernels do; ``addmm(C, A, B, beta=β, alpha=α)`` is β·C fused into the
    float32 α·(A·B), then rounded (measured against torch 2.13: the unfused float32 sum differs
    from torch in a few entries of a 16×16 matrix, the fused one in none). The float32 sums inside the products run in NumPy's order, not
    torch's, which is the one way this can differ from torch (see the module docstring)."""
    a, b, c = (_F32(v) for v in coefficients)
    x = round_bf16(u)
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = np.swapaxes(x, -1, -2)
    norm = round_bf16(np.sqrt(np.sum(x * x, axis=(-2, -1), keepdims=True, dtype=_F32)))
    x = round_bf16(x / round_bf16(np.maximum(norm, _F32(eps))))
    for _ in range(int(steps)):
        gram = round_bf16(_mm(x, np.swapaxes(x, -1, -2)))
        update = round_bf16(_fma32(b, gram, c * _mm(gram, gram)))
        x = round_bf16(_fma32(a, x, _mm(update, x)))
    if tall:
        x = np.swapaxes(x, -1, -2)
    return x.astype(np.float64)


def _adamw(base_lr: float, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2) -> Optimizer:
    """torch.optim.AdamW with torch's defaults, in the order of operations of torch's CPU kernels
    (closer than ``optimizers.adamw``, which is exact to rounding): ``addcmul_`` fuses
    v·β2 + (1−β2)·g·g as fma((1−β2)·g, g, v·β2), and ``addcdiv_`` adds (−step_size·m)/denom.
    Measured against torch 2.13 on 5,000 random weights: m and v bit for bit, p within one ulp
    in about 1 weight in 2,500 per step (the cause was not found)."""
    b1, b2 = betas

    def init(params):
        z = np.zeros(np.shape(params))
        return AdamState(0, z, z.copy(), z.copy())

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        t = state.count + 1
        params = params * np.array(1 - lr * weight_decay)
        m = _lerp(state.mu, grad, 1 - b1)
        v = fma((1 - b2) * grad, grad, state.nu * b2)
        denom = np.sqrt(v) / np.array((1 - b2**t) ** 0.5) + eps
        return params + (np.array(-(lr / (1 - b1**t))) * m) / denom, AdamState(t, m, v, state.nu_max)

    return Optimizer("adamw", base_lr, dict(lr=base_lr, betas=betas, eps=eps, weight_decay=weight_decay),
                     init, update)


def layer_slices(shapes: Sequence) -> list[tuple[slice, slice]]:
    """Where each layer's W and b sit in the flat vector, for ``MLP.shapes`` ((out, in), (out,))."""
    out, offset = [], 0
    for (n_out, n_in), _ in shapes:
        w = slice(offset, offset + n_out * n_in)
        out.append((w, slice(w.stop, w.stop + n_out)))
        offset = w.stop + n_out
    return out


def network_muon(shapes: Sequence, **hyper) -> Optimizer:
    """Muon on the hidden weight matrices of an MLP with layer ``shapes`` (``MLP.shapes``), AdamW
    (torch's defaults, the same lr) on its biases and output layer; ``hyper`` are Muon's, checked
    as ``optimizers.create("muon", ...)`` checks them. Named "muon", with Muon's hyper."""
    muon = create("muon", **hyper)
    h = muon.hyper
    base_lr, mom, wd, nesterov = muon.lr, h["momentum"], h["weight_decay"], h["nesterov"]
    coefficients, steps, eps, adjust = h["ns_coefficients"], h["ns_steps"], h["eps"], h["adjust_lr_fn"]
    adamw = _adamw(base_lr)
    slices = layer_slices(shapes)
    matrices = [(ws, shape) for ((shape, _), (ws, _)) in zip(shapes[:-1], slices[:-1])]
    d = slices[-1][1].stop if slices else 0
    muon_mask = np.zeros(d, dtype=bool)
    for ws, _ in matrices:
        muon_mask[ws] = True
    rest = np.flatnonzero(~muon_mask)  # AdamW's weights, in flat order

    def ratio(shape) -> float:
        rows, cols = shape
        if adjust is None or adjust == "original":
            return math.sqrt(max(1, rows / cols))
        return 0.2 * math.sqrt(max(rows, cols))

    def init(params):
        lead = np.shape(params)[:-1]
        bufs = tuple(np.zeros(lead + shape) for _, shape in matrices)
        return NetworkMuonState(0, bufs, adamw.init(np.asarray(params)[..., rest]))

    def update(params, grad, state, lr=None):
        lr = _step_lr(lr, base_lr)
        lead = params.shape[:-1]
        # a column of one lr per run, (k, 1), broadcasts over each run's matrix as (k, 1, 1)
        lr_m = lr[..., None] if isinstance(lr, np.ndarray) else lr
        new = np.empty_like(params, dtype=np.float64)
        bufs = []
        for (ws, shape), buf in zip(matrices, state.momentum_buffer):
            g = grad[..., ws].reshape(lead + shape)
            p = params[..., ws].reshape(lead + shape)
            buf = _lerp(buf, g, 1 - mom)
            u = _lerp(g, buf, mom) if nesterov else buf
            ortho = newton_schulz(u, coefficients, steps, eps)
            p = p * np.array(1 - lr_m * wd)
            new[..., ws] = fma(-(lr_m * ratio(shape)), ortho, p).reshape(lead + (-1,))
            bufs.append(buf)
        new[..., rest], adam_state = adamw.update(params[..., rest], grad[..., rest], state.adamw, lr=lr)
        return new, NetworkMuonState(state.count + 1, tuple(bufs), adam_state)

    return Optimizer("muon", base_lr, dict(h), init, update)


def for_model(opt: Optimizer, model) -> Optimizer:
    """The optimizer a run on `model` uses: on a network (anything with MLP's layer ``shapes``)
    Muon becomes the Muon-plus-AdamW recipe above, with the same hyperparameters; any other
    optimizer, or Muon on a surface (its two weights are one 1×2 matrix), is returned as is."""
    shapes = getattr(model, "shapes", None)
    if opt.name != "muon" or shapes is None or opt.step is not None:
        return opt
    return network_muon(shapes, **opt.hyper)
