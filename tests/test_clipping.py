"""engine.clip_grad_norm and engine.clip_grad_value: torch.nn.utils semantics, one run per row."""
import numpy as np
import pytest

from engine import clip_grad_norm, clip_grad_value


def test_norm_clipping_scales_to_just_below_max_norm():
    g = np.array([3.0, 4.0])  # norm 5
    clipped = clip_grad_norm(g, 1.0)
    np.testing.assert_allclose(clipped, g / (5 + 1e-6), rtol=1e-15)  # factor max_norm/(‖g‖ + 1e-6)
    norm = np.linalg.norm(clipped)
    assert norm < 1.0 and norm == pytest.approx(1.0, abs=1e-6)


def test_norm_clipping_below_the_threshold_changes_nothing():
    g = np.array([0.3, -0.4])
    np.testing.assert_array_equal(clip_grad_norm(g, 1.0), g)


def test_norm_clipping_treats_each_run_on_its_own():
    g = np.array([[3.0, 4.0], [0.03, 0.04], [0.0, 0.0], [-60.0, 80.0]])
    clipped = clip_grad_norm(g, 2.0)
    for row, out in zip(g, clipped):
        np.testing.assert_array_equal(out, clip_grad_norm(row, 2.0))
    np.testing.assert_array_equal(clipped[1], g[1])
    np.testing.assert_array_equal(clipped[2], [0.0, 0.0])
    # the direction is kept
    np.testing.assert_allclose(clipped[3] / np.linalg.norm(clipped[3]), [-0.6, 0.8], rtol=1e-15)


def test_norm_clipping_survives_a_huge_finite_gradient_quietly():
    g = np.array([1e200, -1e200])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        clipped = clip_grad_norm(g, 1.0)
    np.testing.assert_allclose(clipped, [2 ** -0.5, -(2 ** -0.5)], rtol=1e-12)


def test_value_clipping_clamps_each_component():
    g = np.array([[-5.0, 0.2], [0.7, 3.0]])
    np.testing.assert_array_equal(clip_grad_value(g, 0.5), [[-0.5, 0.2], [0.5, 0.5]])


def test_clipping_returns_new_arrays():
    g = np.array([3.0, 4.0])
    before = g.copy()
    for out in (clip_grad_norm(g, 1.0), clip_grad_value(g, 1.0), clip_grad_norm(g, 100.0)):
        assert not np.shares_memory(out, g)
    np.testing.assert_array_equal(g, before)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "1"])
def test_bad_thresholds_raise_naming_the_parameter(bad):
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm(np.ones(2), bad)
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value(np.ones(2), bad)
