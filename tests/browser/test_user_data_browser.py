"""In the browser: a CSV given to the uploader (Playwright's set_input_files) becomes the page's
surface, and a file without a header is refused in words while the surface stays."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import numpy as np

import browser_harness as harness


def _csv(path, n=300, seed=0) -> str:
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 1.5, n)
    y = 1.5 * x - 2.0 + rng.normal(0, 0.7, n)
    lines = ["height,other,weight"] + [f"{a:.5f},{b:.5f},{c:.5f}" for a, b, c in
                                       zip(x, rng.normal(size=n), y)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _surface(page) -> str:
    return parse_qs(urlparse(page.url).query).get("surface", [""])[0]


def test_upload_a_csv_draws_its_surface_and_a_bad_file_is_refused(streamlit_server, page, tmp_path):
    url = streamlit_server("app.py")
    page.goto(f"{url}/?opt=adam&epochs=80")
    harness.wait_idle(page)
    harness.wait_drawn(page)
    page.get_by_text("Your own data (CSV)").first.click()
    upload = page.locator(".st-key-user_csv input[type=file]").first
    upload.set_input_files(_csv(tmp_path / "heights.csv"))
    page.get_by_text("Your data: heights.csv").first.wait_for(timeout=30_000)
    harness.wait_idle(page)
    harness.wait_drawn(page)
    assert _surface(page).startswith("upload:")
    main = page.locator('[data-testid="stMain"]')
    assert main.get_by_text("Your data: heights.csv").first.is_visible()  # the page's title
    assert page.get_by_text("A link cannot carry your data").first.is_visible()
    harness.screenshot(page, "user_data_surface")
    chosen = _surface(page)

    bad = tmp_path / "numbers.csv"
    bad.write_text("1,2\n3,4\n5,6\n")
    upload.set_input_files(str(bad))
    page.get_by_text("The file has no header").first.wait_for(timeout=30_000)
    harness.wait_idle(page)
    assert page.get_by_text("The previous surface stays").first.is_visible()
    assert _surface(page) == chosen
    assert not page.js_errors, page.js_errors
    harness.screenshot(page, "user_data_refused")
