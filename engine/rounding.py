"""torch's CPU rounding emulated in NumPy: the fused multiply-add of its add_/lerp_ kernels, and bfloat16 for Muon."""

from __future__ import annotations

import numpy as np

_F32 = np.float32
_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's constant, splits a float64 into two 26-bit halves


def fma(a, b, c) -> np.ndarray:
    """a·b + c rounded once, as the fused multiply-add in torch's vectorized CPU kernels
    (``p.add_(u, alpha=a)`` is fma(a, u, p); ``lerp`` is fma(w, end − start, start)).

    NumPy has no fma, so it is built from error-free transformations: Dekker's product gives
    a·b = p + pe exactly, Knuth's two-sum gives p + c = s + se exactly, and s + (se + pe) is
    the rounded sum. It agreed with exact rational arithmetic on 200,000 random triples,
    cancellations included. Where a value overflows it falls back to the plain a·b + c."""
    if isinstance(a, float) and type(b) is type(c) is np.ndarray and b.shape == c.shape and b.size <= 8:
        # a single run's few weights: Python floats are ~10x faster than NumPy on 2-element arrays
        return np.array([fma_float(a, x, y) for x, y in zip(b.ravel().tolist(), c.ravel().tolist())],
                        dtype=np.float64).reshape(b.shape)
    a, b, c = np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(c, np.float64)
    p = a * b
    ca, cb = _SPLIT * a, _SPLIT * b
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    pe = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    z = s - p
    se = (p - (s - z)) + (c - z)
    out = s + (se + pe)
    return np.where(np.isfinite(out), out, s)


def fma_float(a: float, b: float, c: float) -> float:
    """fma on Python floats, the same steps as fma's arrays."""
    p = a * b
    ca, cb = _SPLIT * a, _SPLIT * b
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    pe = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    z = s - p
    out = s + (((p - (s - z)) + (c - z)) + pe)
    return out if out - out == 0 else s  # not finite: the plain sum


def round_bf16(x) -> np.ndarray:
    """x rounded to bfloat16, returned as float32 (every bfloat16 is a float32).

    As torch converts: float64 goes to float32 first (round to nearest even), then the float32
    bit pattern keeps its top 16 bits, rounded to nearest even: add 0x7FFF plus the lowest kept
    bit, then clear the low 16 bits. NaN stays NaN (the add could carry it into infinity); an
    overflow rounds to infinity, as in torch."""
    x = np.asarray(x, dtype=_F32)
    bits = x.view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    out = bits.astype(np.uint32).view(_F32)
    return np.where(np.isnan(x), x, out)


def newton_schulz_row(u: np.ndarray, coefficients, steps: int, eps: float) -> np.ndarray:
    """torch.optim.Muon's orthogonalization of each row of `u` (shape (..., n)) as a 1×n matrix,
    in bfloat16 as torch does it on the CPU, returned as float64.

        X = bf16(u) ;  X ← X / max(‖X‖, eps)
        repeat steps:  A = X·Xᵀ ;  B = b·A + c·A·A ;  X ← a·X + B·X

    A 1×n matrix is not transposed (rows ≤ columns), X·Xᵀ is the 1×1 Gram matrix ‖X‖². Each
    bfloat16 operation computes in float32 and rounds once: the norm and the Gram entry are
    float32 sums of exact float32 products, rounded to bfloat16; the two addmm calls are
    float32 `c·(A·A) + b·A` and `a·X + B·X`, rounded to bfloat16. Checked bit for bit against
    torch 2.13 on 200,000 random 1×2 inputs (tests/test_optimizers_more.py repeats it on a
    sample). For n > 2 torch may sum the products in another order, so there the last bit of a
    bfloat16 can differ."""
    a, b, c = (_F32(v) for v in coefficients)
    x = round_bf16(u)
    norm = round_bf16(np.sqrt(np.sum(x * x, axis=-1, keepdims=True, dtype=_F32)))
    x = round_bf16(x / round_bf16(np.maximum(norm, _F32(eps))))
    for _ in range(int(steps)):
        gram = round_bf16(np.sum(x * x, axis=-1, keepdims=True, dtype=_F32))
        update = round_bf16(c * (gram * gram) + b * gram)
        x = round_bf16(a * x + update * x)
    return x.astype(np.float64)
