"""Facts about the surfaces: exact gradients and Hessians, real mini-batches, shapes, grids."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import surfaces
from surfaces import data as datasets
from surfaces import models

pytestmark = pytest.mark.filterwarnings("error")  # a NumPy RuntimeWarning fails the test

ALL = surfaces.names()
WITH_MINIMA = [name for name in ALL if len(surfaces.get(name).minima)]
FAST = settings(max_examples=50, deadline=None)
unit = st.floats(0.0, 1.0, allow_nan=False)


def point_in(s, u, v):
    (x0, x1), (y0, y1) = s.bounds
    return np.array([x0 + u * (x1 - x0), y0 + v * (y1 - y0)])


def central_grad(fun, w, h):
    steps = np.eye(2) * h
    return np.array([(fun(w + e) - fun(w - e)) / (2 * h) for e in steps])


def assume_smooth(name, w):
    if name == "ackley":  # the cone has a kink at the origin; differences straddling it are wrong
        assume(np.linalg.norm(w) > 1e-2)


# --- registry ---------------------------------------------------------------------------------

def test_registry_lists_classic_then_data():
    classic, from_data = surfaces.names(kind="classic"), surfaces.names(kind="data")
    assert surfaces.names() == classic + from_data
    assert len(classic) >= 11 and len(from_data) >= 3
    assert all(surfaces.get(n).kind == "classic" for n in classic)
    assert all(surfaces.get(n).kind == "data" for n in from_data)


def test_unknown_name_raises_key_error_listing_the_names():
    with pytest.raises(KeyError) as err:
        surfaces.get("rosenbrok")
    message = str(err.value)
    assert "Unknown surface 'rosenbrok'; choose one of:" in message
    assert all(name in message for name in ALL)


def test_unknown_kind_raises_value_error():
    with pytest.raises(ValueError, match="classic, data"):
        surfaces.names(kind="fancy")


def test_the_lessons_are_all_covered():
    lessons = " | ".join(surfaces.get(n).lesson for n in ALL)
    for lesson in ["narrow curved valley", "several equal minima", "many local minima",
                   "saddle point", "flat region", "bad conditioning"]:
        assert lesson in lessons


@pytest.mark.parametrize("name", ALL)
def test_public_attributes(name):
    s = surfaces.get(name)
    assert s.name == name and s.title and s.about and s.lesson
    assert s.kind in surfaces.KINDS
    (x0, x1), (y0, y1) = s.bounds
    assert x0 < x1 and y0 < y1
    assert s.minima.dtype == np.float64 and s.minima.ndim == 2 and s.minima.shape[1] == 2
    assert s.start.shape == (2,) and x0 < s.start[0] < x1 and y0 < s.start[1] < y1
    assert s.default_lr > 0 and isinstance(s.log_scale, bool)
    assert isinstance(s.n_samples, int) and s.n_samples > 1
    assert str(s.n_samples) in s.batch_note
    if s.kind == "data":
        x, y = s.data
        assert x.shape == y.shape == (s.n_samples,) and s.model is not None
        assert f"{s.n_samples} points" in s.about
    else:
        assert s.data is None
    with pytest.raises(ValueError):
        s.start[0] = 0.0  # read-only: a caller cannot move another page's start
    with pytest.raises(AttributeError):
        s.default_lr = 1.0


# --- exact gradients and Hessians -------------------------------------------------------------

def assert_grad_matches_differences(grad, loss, w, h=1e-5):
    numeric = central_grad(loss, w, h)
    # rounding in the differences grows with |loss|/h; truncation with h²
    tol = 1e-6 * (1 + np.abs(numeric)) + 1e-15 * (1 + abs(loss(w))) / h
    np.testing.assert_allclose(grad, numeric, rtol=0, atol=tol.max())


@pytest.mark.parametrize("name", ALL)
@FAST
@given(u=unit, v=unit)
def test_grad_matches_central_differences(name, u, v):
    s = surfaces.get(name)
    w = point_in(s, u, v)
    assume_smooth(name, w)
    assert_grad_matches_differences(s.grad(w), s.loss, w)


@pytest.mark.parametrize("name", ALL)
@FAST
@given(u=unit, v=unit, batch=st.lists(st.integers(0, 10_000), min_size=1, max_size=9))
def test_mini_batch_grad_is_the_gradient_of_the_mini_batch_loss(name, u, v, batch):
    s = surfaces.get(name)
    w = point_in(s, u, v)
    assume_smooth(name, w)
    idx = np.array(batch) % s.n_samples
    assert_grad_matches_differences(s.grad(w, idx), lambda p: s.loss(p, idx), w)


@pytest.mark.parametrize("name", ALL)
@FAST
@given(u=unit, v=unit)
def test_hessian_matches_central_differences_of_grad(name, u, v):
    s = surfaces.get(name)
    w = point_in(s, u, v)
    assume_smooth(name, w)
    h = 1e-5
    columns = [(s.grad(w + e) - s.grad(w - e)) / (2 * h) for e in np.eye(2) * h]
    numeric = np.stack(columns, axis=-1)
    H = s.hessian(w)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-9 * (1 + np.abs(H).max()))
    tol = 1e-5 * (1 + np.abs(numeric).max()) + 1e-15 * (1 + np.abs(s.grad(w)).max()) / h
    np.testing.assert_allclose(H, numeric, rtol=0, atol=tol)


# --- minima -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", WITH_MINIMA)
def test_known_minima_are_minima_and_the_best_is_minimum_loss(name):
    s = surfaces.get(name)
    (x0, x1), (y0, y1) = s.bounds
    assert np.all((s.minima[:, 0] > x0) & (s.minima[:, 0] < x1))
    assert np.all((s.minima[:, 1] > y0) & (s.minima[:, 1] < y1))
    np.testing.assert_allclose(s.grad(s.minima), 0.0, atol=1e-9)
    losses = s.loss(s.minima)
    assert losses.min() == s.minimum_loss
    H = s.hessian(s.minima)
    finite = np.isfinite(H).all(axis=(-1, -2))
    assert name == "ackley" or finite.all()
    assert np.all(np.linalg.eigvalsh(H[finite]) > 0)
    # nothing on a fine grid of the box is lower than the best known minimum
    assert s.grid(201)[2].min() >= s.minimum_loss - 1e-9 * (1 + abs(s.minimum_loss))


@pytest.mark.parametrize("name, count", [("himmelblau", 4), ("six_hump_camel", 2),
                                         ("two_weight_net", 2), ("rosenbrock", 1)])
def test_equal_minima_are_all_listed(name, count):
    s = surfaces.get(name)
    losses = s.loss(s.minima)
    assert np.sum(np.isclose(losses, s.minimum_loss, rtol=1e-9, atol=1e-12)) == count


def test_himmelblau_minima_are_the_published_four():
    published = [[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]]
    np.testing.assert_allclose(surfaces.get("himmelblau").minima, published, atol=2e-6)
    np.testing.assert_allclose(surfaces.get("himmelblau").loss(published), 0.0, atol=1e-9)


def test_saddle_has_no_minimum():
    s = surfaces.get("saddle")
    assert s.minima.shape == (0, 2) and np.isnan(s.minimum_loss)
    assert np.linalg.eigvalsh(s.hessian([0.0, 0.0])).tolist() == [-2.0, 2.0]
    g = s.grad(s.start)
    assert abs(g[1]) < 1e-2 * abs(g[0])  # starts almost on the ridge: the escape begins slowly


@pytest.mark.parametrize("name", WITH_MINIMA)
def test_default_lr_is_stable_at_the_best_minimum(name):
    s = surfaces.get(name)
    best = s.minima[np.argmin(s.loss(s.minima))]
    H = s.hessian(best)
    if np.isfinite(H).all():
        assert s.default_lr < 2 / np.linalg.eigvalsh(H).max()


def test_bowl_is_badly_conditioned_and_plateau_is_flat():
    eig = np.linalg.eigvalsh(surfaces.get("bowl").hessian([0.3, -0.2]))
    assert 25 <= eig.max() / eig.min() <= 50
    s = surfaces.get("plateau")
    xs, ys, _ = s.grid(101)
    steepest = np.linalg.norm(s.grad(np.stack(np.meshgrid(xs, ys), -1)), axis=-1).max()
    assert np.linalg.norm(s.grad(s.start)) < 0.01 * steepest


# --- mini-batches -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_full_batch_is_the_mean_of_the_samples(name):
    s = surfaces.get(name)
    rng = np.random.default_rng(0)
    w = point_in(s, *rng.uniform(0.1, 0.9, 2))
    per_sample_grad = np.array([s.grad(w, [i]) for i in range(s.n_samples)])
    per_sample_loss = np.array([s.loss(w, [i]) for i in range(s.n_samples)])
    scale = 1 + np.abs(per_sample_grad).max()
    np.testing.assert_allclose(per_sample_grad.mean(axis=0), s.grad(w), atol=1e-12 * scale)
    np.testing.assert_allclose(per_sample_loss.mean(), s.loss(w),
                               atol=1e-12 * (1 + np.abs(per_sample_loss).max()))
    np.testing.assert_allclose(s.grad(w, np.arange(s.n_samples)), s.grad(w), atol=1e-12 * scale)


@pytest.mark.parametrize("name", ALL)
def test_mini_batches_are_unbiased_and_their_noise_shrinks_with_batch_size(name):
    s = surfaces.get(name)
    rng = np.random.default_rng(1)
    w = point_in(s, *rng.uniform(0.1, 0.9, 2))
    full = s.grad(w)
    batch = 4  # divides every n_samples, so a shuffled epoch is a partition into equal batches
    assert s.n_samples % batch == 0
    epoch = rng.permutation(s.n_samples).reshape(-1, batch)
    grads = np.array([s.grad(w, idx) for idx in epoch])
    scale = 1 + np.abs(grads).max()
    np.testing.assert_allclose(grads.mean(axis=0), full, atol=1e-12 * scale)
    assert np.abs(grads - full).max() > 1e-6 * scale  # the noise is real

    def spread(size):
        errors = [s.grad(w, rng.choice(s.n_samples, size, replace=False)) - full
                  for _ in range(300)]
        return np.sqrt(np.mean(np.sum(np.square(errors), axis=-1)))

    assert spread(16) < 0.7 * spread(2)


@pytest.mark.parametrize("bad", [[], [0.5, 1.5], [[0, 1]], [-1], [10_000]])
def test_bad_mini_batch_index_is_refused(bad):
    s = surfaces.get("rosenbrock")
    with pytest.raises((ValueError, IndexError)):
        s.grad([0.0, 0.0], np.array(bad))


def test_bad_weight_shape_is_refused():
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        surfaces.get("booth").loss([1.0, 2.0, 3.0])


# --- shapes and grids -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_vectorized_shapes(name):
    s = surfaces.get(name)
    rng = np.random.default_rng(2)
    (x0, x1), (y0, y1) = s.bounds
    w = np.stack([rng.uniform(x0, x1, (5, 3)), rng.uniform(y0, y1, (5, 3))], axis=-1)
    assert s.loss(w).shape == (5, 3)
    assert s.grad(w).shape == (5, 3, 2)
    assert s.hessian(w).shape == (5, 3, 2, 2)
    assert s.loss(w, [0, 2]).shape == (5, 3) and s.grad(w, [1]).shape == (5, 3, 2)
    assert s.loss(w[0, 0]).shape == () and s.grad(w[0, 0]).shape == (2,)
    # each leading entry is an independent evaluation
    np.testing.assert_allclose(s.grad(w)[4, 2], s.grad(w[4, 2]), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name", ALL)
def test_grid_is_loss_in_plotly_layout(name):
    s = surfaces.get(name)
    xs, ys, Z = s.grid(7, ny=5)
    assert xs.shape == (7,) and ys.shape == (5,) and Z.shape == (5, 7)
    (x0, x1), (y0, y1) = s.bounds
    assert (xs[0], xs[-1], ys[0], ys[-1]) == (x0, x1, y0, y1)
    for i in range(5):
        for j in range(7):
            expected = s.loss([xs[j], ys[i]])
            assert Z[i, j] == pytest.approx(expected, rel=1e-12, abs=1e-12)
    xs, ys, Z = s.grid(200)
    W = np.stack(np.meshgrid(xs, ys, indexing="xy"), axis=-1)
    np.testing.assert_allclose(Z, s.loss(W), rtol=1e-12, atol=1e-12 * (1 + np.abs(Z).max()))


@pytest.mark.parametrize("name", ALL)
def test_finite_everywhere_in_bounds(name):
    s = surfaces.get(name)
    xs, ys, Z = s.grid(101)  # odd: the grid passes through the origin when the box is symmetric
    W = np.stack(np.meshgrid(xs, ys), axis=-1)
    points = np.concatenate([W.reshape(-1, 2), s.minima, s.start[None]])
    assert np.isfinite(Z).all()
    assert np.isfinite(s.loss(points)).all() and np.isfinite(s.grad(points)).all()
    assert np.isfinite(s.grad(points, [0, 1, 2])).all()
    H = s.hessian(points)
    kinks = ~np.isfinite(H).all(axis=(-1, -2))
    if name == "ackley":  # the Hessian does not exist at the funnel's tip, and says so
        assert np.all(np.linalg.norm(points[kinks], axis=-1) == 0)
    else:
        assert not kinks.any()


# --- data and models --------------------------------------------------------------------------

@pytest.mark.parametrize("make", [datasets.regression, datasets.classification,
                                  datasets.teacher_tanh])
def test_data_sets_are_deterministic_by_seed(make):
    x1, y1 = make(seed=5)
    x2, y2 = make(seed=5)
    x3, _ = make(seed=6)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


def test_surfaces_use_the_default_data_sets():
    for name, make in [("linear_regression", datasets.regression),
                       ("logistic_regression", datasets.classification),
                       ("two_weight_net", datasets.teacher_tanh)]:
        x, y = surfaces.get(name).data
        x0, y0 = make()
        assert np.array_equal(x, x0) and np.array_equal(y, y0)
    _, labels = surfaces.get("logistic_regression").data
    assert set(np.unique(labels)) == {0.0, 1.0}


def test_linear_regression_minimum_is_least_squares():
    s = surfaces.get("linear_regression")
    x, y = s.data
    coef = np.linalg.lstsq(np.stack([x, np.ones_like(x)], axis=1), y, rcond=None)[0]
    np.testing.assert_allclose(s.minima[0], coef, atol=1e-10)
    assert s.minimum_loss == pytest.approx(np.mean((coef[0] * x + coef[1] - y) ** 2), rel=1e-12)


def test_logistic_loss_is_cross_entropy_and_stable_for_large_z():
    s = surfaces.get("logistic_regression")
    x, y = s.data
    w = np.array([0.7, -0.4])
    p = 1 / (1 + np.exp(-(w[0] * x + w[1])))
    naive = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert s.loss(w) == pytest.approx(naive, rel=1e-12)
    huge = np.array([[1e4, 1e4], [-1e4, 3e3], [800.0, -900.0]])
    assert np.isfinite(s.loss(huge)).all() and np.isfinite(s.grad(huge)).all()
    assert np.isfinite(s.hessian(huge)).all()
    cache = models.LOGISTIC.forward(huge, x)
    factors = models.LOGISTIC.backward(cache, y)
    assert all(np.isfinite(v).all() for v in factors.values())


def test_two_weight_net_minima_mirror_each_other():
    s = surfaces.get("two_weight_net")
    a, b = s.minima
    np.testing.assert_allclose(a, -b, atol=1e-12)
    assert s.loss(a) == pytest.approx(s.loss(b), rel=1e-12)
    np.testing.assert_allclose(s.grad([0.0, 0.0]), 0.0, atol=1e-15)  # the saddle between them
    assert np.linalg.eigvalsh(s.hessian([0.0, 0.0])).min() < 0


CHAINS = {
    # model: (factors multiplied for the first weight, for the second weight)
    models.LINEAR: (["dL_dyhat", "dyhat_dw"], ["dL_dyhat", "dyhat_db"]),
    models.LOGISTIC: (["dL_dz", "dz_dw"], ["dL_dz", "dz_db"]),
    models.TANH_NET: (["dL_dyhat", "dyhat_da", "da_dz", "dz_dw1"], ["dL_dyhat", "dyhat_dw2"]),
}


@pytest.mark.parametrize("name", surfaces.names(kind="data"))
def test_backward_pass_factors_multiply_to_the_gradient(name):
    s = surfaces.get(name)
    x, y = s.data
    w = np.array([[0.8, -0.3], [1.7, 0.9]])
    cache = s.model.forward(w, x)
    factors = s.model.backward(cache, y)
    first, second = CHAINS[s.model]
    chain = [np.prod([factors[k] for k in keys], axis=0).mean(axis=-1) for keys in (first, second)]
    np.testing.assert_allclose(np.stack(chain, axis=-1), factors["grad"], rtol=1e-12)
    np.testing.assert_array_equal(factors["grad"], s.grad(w))
    assert all(v.shape == (2, x.size) for k, v in factors.items() if k != "grad")
    if s.model is models.LOGISTIC:
        np.testing.assert_allclose(factors["dL_dp"] * factors["dp_dz"], factors["dL_dz"],
                                   rtol=1e-9, atol=1e-12)
