"""The figures as one standalone HTML file with Plotly.js inside, for offline use."""

from __future__ import annotations

import plotly.io as pio


def figures_html(figures: dict, title: str) -> str:
    """The three figures in one standalone HTML file with Plotly.js inside: works offline."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>",
             f"<h2 style='font-family:sans-serif'>{title}</h2>"]
    for i, fig in enumerate(figures.values()):
        parts.append(pio.to_html(fig, include_plotlyjs=(i == 0), full_html=False))
    parts.append("</body></html>")
    return "\n".join(parts)
