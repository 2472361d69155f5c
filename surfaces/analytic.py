"""Classic two-weight test functions with exact gradients and Hessians, as Surface objects.

Mini-batches on an analytic surface: the function is treated as the average of n_samples noisy
copies f(w) + a_i·w whose offsets a_i sum to zero. The full batch (idx None) is exactly f, ∇f;
a mini-batch gets ∇f + mean(a_idx): right on average, with a spread that shrinks as the batch
grows. The offsets are seeded by the surface's name, so every run sees the same copies.
"""

from __future__ import annotations

import zlib

import numpy as np

from .base import Surface

N_COPIES = 32
BATCH_NOTE = (
    f"This function is treated as the average of {N_COPIES} noisy copies; a mini-batch averages "
    f"only some of them, so its gradient is noisy but right on average."
)


# --- helpers ---------------------------------------------------------------------------------

def _stack_hessian(fxx, fxy, fyy, shape):
    fxx, fxy, fyy = (np.broadcast_to(v, shape) for v in (fxx, fxy, fyy))
    return np.stack([np.stack([fxx, fxy], -1), np.stack([fxy, fyy], -1)], -2)


def _sum_of_squares(residuals):
    """f, ∇f, ∇²f of f = Σ_k t_k² from residuals(x, y) → [(t, tx, ty, txx, txy, tyy), ...]."""

    def f(x, y):
        return sum(t**2 for t, *_ in residuals(x, y))

    def grad(x, y):
        terms = residuals(x, y)
        fx = sum(2 * t * tx for t, tx, _, *_ in terms)
        fy = sum(2 * t * ty for t, _, ty, *_ in terms)
        return fx, fy

    def hess(x, y):
        terms = residuals(x, y)
        fxx = sum(2 * (tx * tx + t * txx) for t, tx, ty, txx, txy, tyy in terms)
        fxy = sum(2 * (tx * ty + t * txy) for t, tx, ty, txx, txy, tyy in terms)
        fyy = sum(2 * (ty * ty + t * tyy) for t, tx, ty, txx, txy, tyy in terms)
        return fxx, fxy, fyy

    return f, grad, hess


def _polish(grad, hess, guesses, steps=30):
    """Newton's method on ∇f = 0 from published approximate minima, to full float64 precision."""
    w = np.array(guesses, dtype=np.float64)
    for _ in range(steps):
        x, y = w[:, 0], w[:, 1]
        g = np.stack(grad(x, y), -1)
        H = _stack_hessian(*hess(x, y), x.shape)
        w = w - np.linalg.solve(H, g[..., None])[..., 0]
    return w


def _offsets(name: str, scale: float) -> np.ndarray:
    """Per-copy gradient offsets a_i (N_COPIES, 2): seeded, summing to zero, rms norm `scale`."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    a = rng.standard_normal((N_COPIES, 2))
    a -= a.mean(axis=0)  # Σ a_i = 0 to rounding (~1e-16): the full batch stays exactly f
    return a * (scale / np.sqrt(np.mean(np.sum(a**2, axis=1))))


def analytic_surface(*, name, title, about, lesson, f, grad, hess, bounds, minima, start,
                     default_lr, log_scale, noise, minimum_loss=None) -> Surface:
    """Build a Surface from closed forms f(x, y), grad(x, y) → (fx, fy), hess → (fxx, fxy, fyy).

    `noise` is the rms size of the per-copy gradient offsets a_i: a mini-batch of one sample sees
    a gradient error of about this size, a batch of 8 of the 32 about 0.31 times it. Each surface
    sets it to the smaller of 0.3 × the median |∇f| over its bounds (noise never swamps the
    slope) and the size at which SGD with default_lr and a batch of 8 jitters around the minimum
    by about 2% of the box (the noise is visible).
    """
    offsets = _offsets(name, noise)
    minima = np.asarray(minima, dtype=np.float64).reshape(-1, 2)

    def loss_fn(w, idx):
        value = f(w[..., 0], w[..., 1])
        if idx is None:
            return value
        return value + w @ offsets[idx].mean(axis=0)

    def grad_fn(w, idx):
        fx, fy = grad(w[..., 0], w[..., 1])
        g = np.stack(np.broadcast_arrays(fx, fy), -1)
        if idx is None:
            return g
        return g + offsets[idx].mean(axis=0)

    def hessian_fn(w):
        return _stack_hessian(*hess(w[..., 0], w[..., 1]), w.shape[:-1])

    def grid_fn(xs, ys):
        X, Y = np.meshgrid(xs, ys, indexing="xy")
        return f(X, Y)

    if minimum_loss is None:
        minimum_loss = float(np.min(f(minima[:, 0], minima[:, 1])))
    minima.setflags(write=False)
    start = np.array(start, dtype=np.float64)
    start.setflags(write=False)
    return Surface(
        name=name, title=title, about=about, kind="classic", lesson=lesson,
        bounds=bounds, minima=minima, minimum_loss=minimum_loss, start=start,
        default_lr=default_lr, log_scale=log_scale, n_samples=N_COPIES, batch_note=BATCH_NOTE,
        loss_fn=loss_fn, grad_fn=grad_fn, hessian_fn=hessian_fn, grid_fn=grid_fn,
    )


# --- the functions ---------------------------------------------------------------------------

BOWL_STRETCH = 25.0  # condition number of the bowl's Hessian diag(1, 25)


def _bowl(x, y):
    return 0.5 * (x**2 + BOWL_STRETCH * y**2)


def _bowl_grad(x, y):
    return x, BOWL_STRETCH * y


def _bowl_hess(x, y):
    return 1.0, 0.0, BOWL_STRETCH


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _rosenbrock_grad(x, y):
    return -2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)


def _rosenbrock_hess(x, y):
    return 2 - 400 * y + 1200 * x**2, -400 * x, 200.0


def _beale_residuals(x, y):
    y2 = y * y
    y3 = y2 * y  # products, not y**3: NumPy's general power is several times slower on a grid
    return [
        (1.5 - x + x * y, y - 1, x, 0.0, 1.0, 0.0),
        (2.25 - x + x * y2, y2 - 1, 2 * x * y, 0.0, 2 * y, 2 * x),
        (2.625 - x + x * y3, y3 - 1, 3 * x * y2, 0.0, 3 * y2, 6 * x * y),
    ]


def _himmelblau_residuals(x, y):
    return [
        (x**2 + y - 11, 2 * x, 1.0, 2.0, 0.0, 0.0),
        (x + y**2 - 7, 1.0, 2 * y, 0.0, 0.0, 2.0),
    ]


def _booth_residuals(x, y):
    return [
        (x + 2 * y - 7, 1.0, 2.0, 0.0, 0.0, 0.0),
        (2 * x + y - 5, 2.0, 1.0, 0.0, 0.0, 0.0),
    ]


TWO_PI = 2 * np.pi


def _rastrigin(x, y):
    return 20 + x**2 - 10 * np.cos(TWO_PI * x) + y**2 - 10 * np.cos(TWO_PI * y)


def _rastrigin_grad(x, y):
    return 2 * x + 20 * np.pi * np.sin(TWO_PI * x), 2 * y + 20 * np.pi * np.sin(TWO_PI * y)


def _rastrigin_hess(x, y):
    c = 40 * np.pi**2
    return 2 + c * np.cos(TWO_PI * x), 0.0, 2 + c * np.cos(TWO_PI * y)


# Ackley: a cone -20·exp(-0.2 r), r = sqrt((x²+y²)/2), plus a ripple -exp((cos 2πx + cos 2πy)/2).
# The cone has a kink at the origin: the gradient there is taken as 0 (its subgradient's centre)
# and the Hessian does not exist, so hessian() returns nan at exactly the origin.

def _ackley_r(x, y):
    return np.sqrt(0.5 * (x**2 + y**2))


def _ackley(x, y):
    r = _ackley_r(x, y)
    ripple = np.exp(0.5 * (np.cos(TWO_PI * x) + np.cos(TWO_PI * y)))
    return -20 * np.exp(-0.2 * r) - ripple + np.e + 20


def _ackley_grad(x, y):
    r = _ackley_r(x, y)
    safe_r = np.where(r > 0, r, 1.0)
    cone = np.where(r > 0, 2 * np.exp(-0.2 * r) / safe_r, 0.0)  # d(cone)/dx = x·cone
    ripple = np.exp(0.5 * (np.cos(TWO_PI * x) + np.cos(TWO_PI * y)))
    return (x * cone + np.pi * np.sin(TWO_PI * x) * ripple,
            y * cone + np.pi * np.sin(TWO_PI * y) * ripple)


def _ackley_hess(x, y):
    r = _ackley_r(x, y)
    safe_r = np.where(r > 0, r, 1.0)
    e = np.exp(-0.2 * safe_r)
    g = 2 * e / safe_r                                    # cone's gradient is (x, y)·g(r)
    dg_over_r = -2 * e * (0.2 * safe_r + 1) / safe_r**3   # g'(r)/r, and dr/dx = x/(2r)
    sx, sy = np.sin(TWO_PI * x), np.sin(TWO_PI * y)
    cx, cy = np.cos(TWO_PI * x), np.cos(TWO_PI * y)
    ripple = np.exp(0.5 * (cx + cy))
    pi2 = np.pi**2
    fxx = g + 0.5 * x * x * dg_over_r + pi2 * (2 * cx - sx * sx) * ripple
    fxy = 0.5 * x * y * dg_over_r - pi2 * sx * sy * ripple
    fyy = g + 0.5 * y * y * dg_over_r + pi2 * (2 * cy - sy * sy) * ripple
    kink = r == 0
    return np.where(kink, np.nan, fxx), np.where(kink, np.nan, fxy), np.where(kink, np.nan, fyy)


def _saddle(x, y):
    return x**2 - y**2


def _saddle_grad(x, y):
    return 2 * x, -2 * y


def _saddle_hess(x, y):
    return 2.0, 0.0, -2.0


def _camel(x, y):
    x2, y2 = x * x, y * y
    return (4 - 2.1 * x2 + x2 * x2 / 3) * x2 + x * y + (-4 + 4 * y2) * y2


def _camel_grad(x, y):
    return 8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3


def _camel_hess(x, y):
    return 8 - 25.2 * x**2 + 10 * x**4, 1.0, -8 + 48 * y**2


def _styblinski_tang(x, y):
    x2, y2 = x * x, y * y
    return 0.5 * (x2 * x2 - 16 * x2 + 5 * x + y2 * y2 - 16 * y2 + 5 * y)


def _styblinski_tang_grad(x, y):
    return 2 * x**3 - 16 * x + 2.5, 2 * y**3 - 16 * y + 2.5


def _styblinski_tang_hess(x, y):
    return 6 * x**2 - 16, 0.0, 6 * y**2 - 16


PLATEAU_WIDTH = 2.0  # σ in 1 − exp(−(x² + y²)/σ)


def _plateau(x, y):
    return 1 - np.exp(-(x**2 + y**2) / PLATEAU_WIDTH)


def _plateau_grad(x, y):
    e = np.exp(-(x**2 + y**2) / PLATEAU_WIDTH) * (2 / PLATEAU_WIDTH)
    return x * e, y * e


def _plateau_hess(x, y):
    s = PLATEAU_WIDTH
    e = np.exp(-(x**2 + y**2) / s)
    return (2 / s - 4 * x**2 / s**2) * e, -4 * x * y / s**2 * e, (2 / s - 4 * y**2 / s**2) * e


_beale, _beale_grad, _beale_hess = _sum_of_squares(_beale_residuals)
_himmelblau, _himmelblau_grad, _himmelblau_hess = _sum_of_squares(_himmelblau_residuals)
_booth, _booth_grad, _booth_hess = _sum_of_squares(_booth_residuals)


def _rastrigin_local(x0):
    """The 1-D local minimum of x² − 10·cos(2πx) near x0 (Newton on its derivative)."""
    x = x0
    for _ in range(30):
        x -= (2 * x + 20 * np.pi * np.sin(TWO_PI * x)) / (2 + 40 * np.pi**2 * np.cos(TWO_PI * x))
    return x


_R1 = _rastrigin_local(1.0)  # ≈ 0.99496: the nearest ring of local minima


def _build():
    """All classic surfaces, in registry order."""
    surfaces = [
        analytic_surface(
            name="bowl", title="Ill-conditioned bowl",
            about="A bowl 25 times steeper across than along: plain gradient descent zig-zags "
                  "across the steep direction and crawls along the shallow one. Momentum and "
                  "Adam fix this.",
            lesson="bad conditioning",
            f=_bowl, grad=_bowl_grad, hess=_bowl_hess,
            bounds=((-5.0, 5.0), (-2.0, 2.0)), minima=[[0.0, 0.0]], start=(-4.5, 1.5),
            default_lr=0.07, log_scale=False, noise=1.5,
        ),
        analytic_surface(
            name="rosenbrock", title="Rosenbrock",
            about="A long, narrow, curved valley. Finding the valley is easy; following its "
                  "flat floor to the minimum at (1, 1) is slow, and too large a step bounces off "
                  "the steep walls.",
            lesson="narrow curved valley",
            f=_rosenbrock, grad=_rosenbrock_grad, hess=_rosenbrock_hess,
            bounds=((-2.0, 2.0), (-1.0, 3.0)), minima=[[1.0, 1.0]], start=(-1.5, 2.0),
            default_lr=1e-3, log_scale=True, noise=7.0,
        ),
        analytic_surface(
            name="beale", title="Beale",
            about="Steep walls around wide, almost flat valleys: the gradient is huge at the edges "
                  "and tiny on the valley floor, so one learning rate rarely suits both.",
            lesson="flat region, steep walls",
            f=_beale, grad=_beale_grad, hess=_beale_hess,
            bounds=((-4.5, 4.5), (-4.5, 4.5)), minima=_polish(_beale_grad, _beale_hess, [[3, 0.5]]),
            start=(1.0, 1.5), default_lr=0.01, log_scale=True, noise=4.0,
        ),
        analytic_surface(
            name="himmelblau", title="Himmelblau",
            about="Four minima, all equally good (loss 0). Which one you reach depends on where "
                  "you start and on the optimizer, not on which is better.",
            lesson="several equal minima",
            f=_himmelblau, grad=_himmelblau_grad, hess=_himmelblau_hess,
            bounds=((-5.0, 5.0), (-5.0, 5.0)),
            minima=_polish(_himmelblau_grad, _himmelblau_hess,
                           [[3, 2], [-2.805118, 3.131312], [-3.779310, -3.283186],
                            [3.584428, -1.848126]]),
            start=(-0.3, -0.9), default_lr=0.01, log_scale=True, noise=20.0,
        ),
        analytic_surface(
            name="rastrigin", title="Rastrigin",
            about="A bowl covered in regular bumps, with a local minimum in every dip. Gradient "
                  "descent stops in the nearest dip; only the one at the centre is the best.",
            lesson="many local minima",
            f=_rastrigin, grad=_rastrigin_grad, hess=_rastrigin_hess,
            bounds=((-5.12, 5.12), (-5.12, 5.12)),
            minima=[[0.0, 0.0], [_R1, 0.0], [-_R1, 0.0], [0.0, _R1], [0.0, -_R1]],
            start=(-3.3, 2.7), default_lr=2e-3, log_scale=False, noise=20.0,
        ),
        analytic_surface(
            name="ackley", title="Ackley",
            about="An almost flat, bumpy plain with one deep, sharp funnel in the middle. Far "
                  "out, small steps get caught in the bumps; near the centre the funnel pulls "
                  "everything in.",
            lesson="many local minima, sharp funnel",
            f=_ackley, grad=_ackley_grad, hess=_ackley_hess,
            bounds=((-5.0, 5.0), (-5.0, 5.0)), minima=[[0.0, 0.0]], start=(-3.2, 3.5),
            default_lr=0.02, log_scale=False, noise=1.0,
        ),
        analytic_surface(
            name="saddle", title="Saddle point",
            about="Loss x² − y²: downhill along y, uphill along x, and no minimum at all. Starting "
                  "almost on the ridge, descent slows to a near stop at the saddle (0, 0), then "
                  "slides away along y, faster and faster.",
            lesson="saddle point",
            f=_saddle, grad=_saddle_grad, hess=_saddle_hess,
            bounds=((-2.0, 2.0), (-2.0, 2.0)), minima=np.empty((0, 2)), minimum_loss=float("nan"),
            start=(-1.5, 0.001), default_lr=0.1, log_scale=False, noise=0.5,
        ),
        analytic_surface(
            name="booth", title="Booth",
            about="A smooth, tilted bowl with a single minimum at (1, 3): the easy case, where "
                  "every sensible optimizer gets there.",
            lesson="simple convex bowl",
            f=_booth, grad=_booth_grad, hess=_booth_hess,
            bounds=((-10.0, 10.0), (-10.0, 10.0)), minima=[[1.0, 3.0]], start=(-8.0, -6.0),
            default_lr=0.05, log_scale=True, noise=10.0,
        ),
        analytic_surface(
            name="six_hump_camel", title="Six-hump camel",
            about="Two equally good minima and four worse local ones on a camel-backed "
                  "surface: the start decides which valley you end up in.",
            lesson="several equal minima, local minima",
            f=_camel, grad=_camel_grad, hess=_camel_hess,
            bounds=((-2.0, 2.0), (-1.0, 1.0)),
            minima=_polish(_camel_grad, _camel_hess,
                           [[0.0898, -0.7126], [-0.0898, 0.7126], [1.7036, -0.7961],
                            [-1.7036, 0.7961], [1.6071, 0.5687], [-1.6071, -0.5687]]),
            start=(-1.4, -0.9), default_lr=0.02, log_scale=False, noise=1.0,
        ),
        analytic_surface(
            name="styblinski_tang", title="Styblinski–Tang",
            about="Four valleys of different depths; only the one at (−2.90, −2.90) is the best. "
                  "Starting on the wrong side, descent settles in a shallower local minimum.",
            lesson="local minima of different depths",
            f=_styblinski_tang, grad=_styblinski_tang_grad, hess=_styblinski_tang_hess,
            bounds=((-5.0, 5.0), (-5.0, 5.0)),
            minima=_polish(_styblinski_tang_grad, _styblinski_tang_hess,
                           [[-2.9035, -2.9035], [2.7468, -2.9035], [-2.9035, 2.7468],
                            [2.7468, 2.7468]]),
            start=(0.5, 4.5), default_lr=0.01, log_scale=False, noise=10.0,
        ),
        analytic_surface(
            name="plateau", title="Plateau",
            about="A wide, almost flat plain around a single well. Out on the plain the gradient "
                  "is nearly zero, so plain gradient descent crawls; Adam rescales the tiny "
                  "gradient and walks across.",
            lesson="flat region",
            f=_plateau, grad=_plateau_grad, hess=_plateau_hess,
            bounds=((-4.0, 4.0), (-4.0, 4.0)), minima=[[0.0, 0.0]], start=(3.0, 2.25),
            default_lr=1.0, log_scale=False, noise=0.005,
        ),
    ]
    return surfaces


SURFACES = _build()
