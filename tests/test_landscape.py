"""Loss landscapes of many-weight models: PCA planes, filter-normalized directions, grids, honesty."""

import numpy as np
import pytest

from engine import collect, landscape, optimizers, train
from engine.network import MLP
from surfaces import datasets


@pytest.fixture(scope="module")
def trained():
    """A 2-8-8-2 network on two moons, trained with Adam and with SGD from the same start."""
    net = MLP([2, 8, 8, 2], "tanh", data=datasets.two_moons(n=120, seed=0), seed=0)
    adam = collect(train(net, optimizers.create("adam", lr=0.03), epochs=40, batch_size=32))
    sgd = collect(train(net, optimizers.create("sgd", lr=0.3, momentum=0.9), epochs=40,
                        batch_size=32))
    return net, adam, sgd


def planar_trajectory(d=60, T=30, seed=0):
    """Weights that move only inside a plane: center + c_t·u + e_t·v with u, v not orthogonal."""
    rng = np.random.default_rng(seed)
    center = rng.standard_normal(d)
    u, v = rng.standard_normal(d), rng.standard_normal(d)
    t = np.linspace(0, 1, T)
    coeffs = np.stack([3 * (1 - t) ** 2, np.sin(4 * t) * (1 - t)], axis=1)  # ends at (0, 0)
    return center + coeffs @ np.stack([u, v])


def quadratic(d=60, seed=1):
    """A loss over many weights with a known value everywhere: W (k, d) → (k,)."""
    scale = np.random.default_rng(seed).uniform(0.5, 2.0, d)
    return lambda W: 0.5 * np.sum(scale * np.asarray(W) ** 2, axis=-1)


# --------------------------------------------------------------------------- PCA plane

def test_pca_axes_are_orthonormal_and_rank_the_variance(trained):
    net, adam, _ = trained
    plane = landscape.pca_plane(adam.params)
    np.testing.assert_allclose(plane.directions @ plane.directions.T, np.eye(2), atol=1e-12)
    np.testing.assert_array_equal(plane.center, adam.params[-1])
    assert 1 >= plane.explained[0] >= plane.explained[1] > 0
    assert plane.explained.sum() <= 1 + 1e-12
    assert landscape.variance_explained(plane, adam.params) == pytest.approx(plane.explained.sum())
    assert plane.kind == "pca"


def test_a_path_inside_a_plane_is_projected_exactly():
    path = planar_trajectory()
    plane = landscape.pca_plane(path)
    coords = landscape.project(plane, path)
    assert coords.shape == (len(path), 2)
    np.testing.assert_allclose(landscape.weights_at(plane, coords), path, rtol=0, atol=1e-12)
    assert plane.explained.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(coords[-1], [0, 0], atol=1e-12)  # centred on the final weights
    assert np.all(coords[0] <= 0)  # the path comes in from the lower left

    loss = quadratic()
    report = landscape.honesty(loss, plane, path)
    np.testing.assert_allclose(report.plane_loss, report.true_loss, rtol=1e-12)
    np.testing.assert_allclose(report.off_plane, 0, atol=1e-12)
    np.testing.assert_allclose(report.in_plane, 1, atol=1e-12)
    assert report.explained == pytest.approx(1.0)


def test_several_runs_from_one_start_share_one_plane():
    first = planar_trajectory(seed=0)
    rng = np.random.default_rng(9)
    coeffs = np.cumsum(rng.standard_normal((30, 2)), axis=0)
    coeffs = coeffs - coeffs[0]
    # Same start as `first`, moving along two of first's own in-plane directions.
    in_plane = np.stack([first[0] - first[-1], first[10] - first[-1]])
    second = first[0] + coeffs @ in_plane
    for runs in ([first, second], np.stack([first, second])):
        plane = landscape.pca_plane(runs)
        np.testing.assert_array_equal(plane.center, first[-1])
        for path in (first, second):
            back = landscape.weights_at(plane, landscape.project(plane, path))
            np.testing.assert_allclose(back, path, atol=1e-10)


def test_a_shared_plane_of_real_runs_holds_both_paths(trained):
    _, adam, sgd = trained
    shared = landscape.pca_plane([adam.params, sgd.params])
    alone = landscape.pca_plane(adam.params)
    both = landscape.variance_explained(shared, [adam.params, sgd.params])
    assert both == pytest.approx(shared.explained.sum())
    assert both >= landscape.variance_explained(alone, [adam.params, sgd.params]) - 1e-12


def test_a_plane_from_too_little_movement_is_still_a_plane():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(20), rng.standard_normal(20)
    line = a + np.linspace(0, 1, 10)[:, None] * (b - a)
    for path, explained in ((line, [1.0, 0.0]), (a[None, :], [0.0, 0.0])):
        plane = landscape.pca_plane(path)
        np.testing.assert_allclose(plane.directions @ plane.directions.T, np.eye(2), atol=1e-12)
        np.testing.assert_allclose(plane.explained, explained, atol=1e-12)
        np.testing.assert_allclose(landscape.weights_at(plane, landscape.project(plane, path)),
                                   path, atol=1e-12)


def test_pca_plane_rejects_bad_trajectories():
    with pytest.raises(ValueError, match="non-finite"):
        landscape.pca_plane(np.array([[0.0, 1.0], [np.nan, 2.0]]))
    with pytest.raises(ValueError, match="shape"):
        landscape.pca_plane([np.zeros((3, 4)), np.zeros((3, 5))])
    with pytest.raises(ValueError, match="No trajectories"):
        landscape.pca_plane([])


# --------------------------------------------------------------------------- filter-normalized

def test_filter_normalized_directions_match_each_filter_norm(trained):
    net, adam, _ = trained
    w = adam.params[-1]
    plane = landscape.filter_normalized_directions(net, w, seed=3)
    assert plane.directions.shape == (2, net.d)
    np.testing.assert_array_equal(plane.center, w)
    for direction in plane.directions:
        for (W, _), (D, db) in zip(net.unflatten(w), net.unflatten(direction)):
            np.testing.assert_allclose(np.linalg.norm(D, axis=1), np.linalg.norm(W, axis=1),
                                       rtol=1e-12)
            assert np.all(db == 0)  # biases are not perturbed, as in the paper
    assert not np.allclose(plane.directions[0], plane.directions[1])
    again = landscape.filter_normalized_directions(net, w, seed=3)
    np.testing.assert_array_equal(again.directions, plane.directions)
    other = landscape.filter_normalized_directions(net, w, seed=4)
    assert not np.array_equal(other.directions, plane.directions)
    assert np.all(np.isnan(plane.explained))


def test_projection_inverts_weights_at_for_directions_that_are_not_orthogonal(trained):
    net, adam, _ = trained
    plane = landscape.filter_normalized_directions(net, adam.params[-1], seed=0)
    coords = np.random.default_rng(1).standard_normal((3, 4, 2))
    np.testing.assert_allclose(landscape.project(plane, landscape.weights_at(plane, coords)),
                               coords, atol=1e-12)


# --------------------------------------------------------------------------- the grid

def test_grid_shape_and_indexing_on_a_non_square_grid():
    d = 60
    path = planar_trajectory(d)
    plane = landscape.pca_plane(path)
    loss = quadratic(d)
    alphas = np.array([-2.0, -0.5, 0.0, 1.0, 3.0])
    betas = np.array([-1.0, 0.25, 2.0])
    calls = []

    def loss_many(W):
        calls.append(W.shape)
        return loss(W)

    Z = landscape.loss_grid(loss_many, plane, alphas, betas, chunk=4)
    assert Z.shape == (3, 5)  # (len(betas), len(alphas))
    for i, beta in enumerate(betas):
        for j, alpha in enumerate(alphas):
            point = plane.center + alpha * plane.directions[0] + beta * plane.directions[1]
            assert Z[i, j] == pytest.approx(float(loss(point[None])[0]), rel=1e-12)
    assert max(shape[0] for shape in calls) <= 4  # memory is bounded by the chunk
    assert sum(shape[0] for shape in calls) == 15
    np.testing.assert_allclose(landscape.loss_grid(loss, plane, alphas, betas), Z, rtol=1e-12)


def test_network_grid_matches_the_single_weight_loss(trained):
    net, adam, _ = trained
    plane = landscape.pca_plane(adam.params)
    alphas, betas = np.linspace(-1, 1, 4), np.linspace(-0.5, 0.5, 3)
    Z = landscape.loss_grid(net.loss_many, plane, alphas, betas)
    loop = [[float(net.loss(plane.center + a * plane.directions[0] + b * plane.directions[1]))
             for a in alphas] for b in betas]
    np.testing.assert_allclose(Z, loop, rtol=1e-12)
    Z0 = landscape.loss_grid(net.loss_many, plane, [0.0], [0.0])
    assert Z0[0, 0] == pytest.approx(adam.loss[-1], rel=1e-12)


def test_axis_range_covers_every_projected_point(trained):
    _, adam, sgd = trained
    plane = landscape.pca_plane([adam.params, sgd.params])
    coords = landscape.project(plane, np.stack([adam.params, sgd.params]))
    alphas, betas = landscape.axis_range(coords, n=41)
    assert alphas.shape == betas.shape == (41,)
    assert alphas[0] < coords[..., 0].min() and coords[..., 0].max() < alphas[-1]
    assert betas[0] < coords[..., 1].min() and coords[..., 1].max() < betas[-1]


# --------------------------------------------------------------------------- honesty

def test_honesty_reports_true_and_sliced_loss_per_epoch(trained):
    net, adam, _ = trained
    plane = landscape.pca_plane(adam.params)
    report = landscape.honesty(net.loss_many, plane, adam.params)
    T = len(adam.params)
    assert report.coords.shape == (T, 2)
    np.testing.assert_allclose(report.true_loss, adam.loss, rtol=1e-12)  # the records' own losses
    for t in (0, T // 2):
        on_plane = landscape.weights_at(plane, report.coords[t])
        assert report.plane_loss[t] == pytest.approx(float(net.loss(on_plane)), rel=1e-12)
        assert report.off_plane[t] == pytest.approx(np.linalg.norm(adam.params[t] - on_plane))
    assert report.plane_loss[-1] == pytest.approx(report.true_loss[-1])  # the center is exact
    assert np.all((report.in_plane >= 0) & (report.in_plane <= 1 + 1e-12))
    assert report.explained == pytest.approx(plane.explained.sum())
    given = landscape.honesty(net.loss_many, plane, adam.params, true_loss=adam.loss)
    np.testing.assert_array_equal(given.true_loss, adam.loss)


def test_a_random_plane_explains_little_of_a_path(trained):
    net, adam, _ = trained
    random_plane = landscape.filter_normalized_directions(net, adam.params[-1], seed=0)
    pca = landscape.pca_plane(adam.params)
    assert landscape.variance_explained(random_plane, adam.params) < pca.explained.sum()


# --------------------------------------------------------------------------- divergence

def test_the_landscape_is_drawn_from_the_epochs_before_a_divergence():
    net = MLP([1, 16, 1], "tanh", "regression", data=datasets.noisy_sine(), seed=0)
    run = collect(train(net, optimizers.create("sgd", lr=3.0), epochs=50, seed=0))
    assert run.status == "diverged"
    usable = landscape.before_divergence(run)
    assert len(usable) == len(run.params) - 1 >= 2
    assert np.all(np.isfinite(usable))
    plane = landscape.pca_plane(usable)
    coords = landscape.project(plane, usable)
    alphas, betas = landscape.axis_range(coords, n=9)
    Z = landscape.loss_grid(net.loss_many, plane, alphas, betas)
    assert Z.shape == (9, 9) and np.all(np.isfinite(Z))
    finished = collect(train(net, optimizers.create("sgd", lr=0.01), epochs=3))
    assert len(landscape.before_divergence(finished)) == 4  # nothing dropped from a good run


def test_honesty_note_says_when_the_slice_misleads(trained):
    net, adam, _ = trained
    pca = landscape.pca_plane(adam.params)
    faithful = landscape.honesty(net.loss_many, pca, adam.params)
    assert f"{faithful.explained:.0%}" in landscape.honesty_note(faithful)
    assert "misleads" not in landscape.honesty_note(faithful)
    random_plane = landscape.filter_normalized_directions(net, adam.params[-1], seed=0)
    shadow = landscape.honesty(net.loss_many, random_plane, adam.params)
    note = landscape.honesty_note(shadow)
    assert shadow.explained < landscape.MISLEADING_SHARE
    assert "misleads" in note and "real loss" in note
