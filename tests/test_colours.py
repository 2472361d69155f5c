"""No run colour resembles any colour of the surface: every run colour differs from every colour
of the surface's colour scale by CIEDE2000 ΔE ≥ 25 (the scale sampled as Plotly draws it)."""

import math

import numpy as np
import pytest
from plotly.colors import sample_colorscale, unlabel_rgb

from figures.descent import RUN_COLORS, SURFACE_COLORSCALE

MIN_DELTA_E = 25


def srgb_to_lab(rgb) -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB colour given as 0–255 components."""
    c = np.asarray(rgb, dtype=float) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = m @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def ciede2000(lab1, lab2) -> float:
    """The CIEDE2000 colour difference, as in Sharma, Wu and Dalal (2005), kL = kC = kH = 1."""
    L1, a1, b1 = lab1
    L2, a2, b2 = lab2
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = L2 - L1, c2p - c1p
    if c1p * c2p == 0:
        dh = 0.0
    elif abs(h2p - h1p) <= 180:
        dh = h2p - h1p
    else:
        dh = h2p - h1p - 360 if h2p - h1p > 180 else h2p - h1p + 360
    dH = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_mean, cp_mean = (L1 + L2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_mean = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_mean = (h1p + h2p) / 2
    else:
        h_mean = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_mean - 30)) + 0.24 * math.cos(math.radians(2 * h_mean))
         + 0.32 * math.cos(math.radians(3 * h_mean + 6)) - 0.20 * math.cos(math.radians(4 * h_mean - 63)))
    d_theta = 30 * math.exp(-(((h_mean - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cp_mean ** 7 / (cp_mean ** 7 + 25 ** 7))
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    sc, sh = 1 + 0.045 * cp_mean, 1 + 0.015 * cp_mean * t
    rt = -math.sin(math.radians(2 * d_theta)) * rc
    return math.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dH / sh) ** 2 + rt * (dc / sc) * (dH / sh))


# Test pairs 1, 2, 3, 4, 7, 13, 17, 18, 19, 20, 25 and 34 of Sharma, Wu and Dalal (2005), table 1.
SHARMA = [
    ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
    ((50, 3.1571, -77.2803), (50, 0, -82.7485), 2.8615),
    ((50, 2.8361, -74.0200), (50, 0, -82.7485), 3.4412),
    ((50, -1.3802, -84.2814), (50, 0, -82.7485), 1.0000),
    ((50, 0, 0), (50, -1, 2), 2.3669),
    ((50, 2.4900, -0.0010), (50, -2.4900, 0.0009), 7.1792),
    ((50, 2.5, 0), (73, 25, -18), 27.1492),
    ((50, 2.5, 0), (61, -5, 29), 22.8977),
    ((50, 2.5, 0), (56, -27, -3), 31.9030),
    ((50, 2.5, 0), (58, 24, 15), 19.4535),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize("lab1, lab2, expected", SHARMA)
def test_ciede2000_matches_the_published_pairs(lab1, lab2, expected):
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)
    assert ciede2000(lab2, lab1) == pytest.approx(expected, abs=1e-4)


def test_srgb_to_lab_of_white_black_and_red():
    assert srgb_to_lab((255, 255, 255)) == pytest.approx((100, 0, 0), abs=0.01)
    assert srgb_to_lab((0, 0, 0)) == pytest.approx((0, 0, 0), abs=0.01)
    assert srgb_to_lab((255, 0, 0)) == pytest.approx((53.24, 80.09, 67.20), abs=0.05)


def _hex_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def test_no_run_colour_resembles_a_colour_of_the_surface():
    scale = sample_colorscale(SURFACE_COLORSCALE, list(np.linspace(0, 1, 64)))
    surface_labs = [srgb_to_lab(unlabel_rgb(c)) for c in scale]
    worst = min((ciede2000(srgb_to_lab(_hex_rgb(run)), lab), run)
                for run in RUN_COLORS for lab in surface_labs)
    assert worst[0] >= MIN_DELTA_E, f"{worst[1]} is within ΔE {worst[0]:.1f} of the surface"


def test_the_rule_catches_the_old_copper_scale():
    """The copper scale this replaced put the second run's vermillion on the surface's own colour."""
    copper = [[0.0, "#fffbe6"], [0.15, "#fde9b4"], [0.35, "#f8c77e"], [0.6, "#e3904a"],
              [0.85, "#b35a2a"], [1.0, "#6b3219"]]
    labs = [srgb_to_lab(unlabel_rgb(c)) for c in sample_colorscale(copper, list(np.linspace(0, 1, 64)))]
    assert min(ciede2000(srgb_to_lab(_hex_rgb("#D55E00")), lab) for lab in labs) < 10
