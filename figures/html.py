"""The figures as one standalone HTML file with Plotly.js inside, for offline use: it opens at
the final epoch, and an epoch slider with a Play button replays the descent in every figure at
once (a small inline script; no network needed)."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

# The player: finds each figure's "path" and "head" traces by their meta role (figures.descent)
# and shows every path up to the slider's epoch, with its head on that epoch's point.
PLAYER_BAR = """
<div id="player" style="font-family:sans-serif;padding:8px 0;display:flex;gap:12px;align-items:center;
     position:sticky;top:0;z-index:10;background:white;border-bottom:1px solid #ddd">
  <button id="play" type="button" style="font-size:16px;padding:4px 14px">&#9654; Play</button>
  <input id="epoch" type="range" min="0" max="%(last)d" value="%(last)d" step="1" style="flex:1">
  <span id="label" style="min-width:9em;font-size:16px">Epoch %(last)d / %(last)d</span>
</div>
"""
PLAYER_SCRIPT = """
<script>
(function () {
  const last = %(last)d;
  const slider = document.getElementById("epoch"), label = document.getElementById("label");
  const button = document.getElementById("play");
  let models = null, timer = null;
  function build() {
    models = [...document.querySelectorAll(".plotly-graph-div")].map(function (gd) {
      const paths = {}, heads = [];
      (gd._fullData || []).forEach(function (t, i) {
        const m = t.meta || {};
        if (m.role === "path") paths[m.run] = {i: i, x: Array.from(t.x || []), y: Array.from(t.y || []),
                                               z: t.z ? Array.from(t.z) : null};
        if (m.role === "head") heads.push({i: i, run: m.run});
      });
      return {gd: gd, paths: paths, heads: heads};
    });
  }
  function show(e) {
    if (!models) build();
    for (const m of models) {
      const idx = [], xs = [], ys = [], zs = [];
      for (const p of Object.values(m.paths)) {
        idx.push(p.i); xs.push(p.x.slice(0, e + 1)); ys.push(p.y.slice(0, e + 1));
        if (p.z) zs.push(p.z.slice(0, e + 1));
      }
      for (const h of m.heads) {
        const p = m.paths[h.run];
        if (!p || !p.x.length) continue;
        const k = Math.min(e, p.x.length - 1);
        idx.push(h.i); xs.push([p.x[k]]); ys.push([p.y[k]]);
        if (p.z) zs.push([p.z[k]]);
      }
      if (!idx.length) continue;
      const update = {x: xs, y: ys};
      if (zs.length === idx.length) update.z = zs;
      Plotly.restyle(m.gd, update, idx);
    }
    label.textContent = "Epoch " + e + " / " + last;
  }
  slider.addEventListener("input", function () { stop(); show(Number(slider.value)); });
  function stop() { if (timer) { clearInterval(timer); timer = null; button.innerHTML = "&#9654; Play"; } }
  button.addEventListener("click", function () {
    if (timer) { stop(); return; }
    let e = Number(slider.value) >= last ? 0 : Number(slider.value);
    const step = Math.max(1, Math.round(last / 150));
    button.innerHTML = "&#10074;&#10074; Pause";
    show(e); slider.value = e;
    timer = setInterval(function () {
      e = Math.min(last, e + step); slider.value = e; show(e);
      if (e >= last) stop();
    }, 60);
  });
})();
</script>
"""


def _last_epoch(figures: dict) -> int:
    """The number of epochs of the longest path in the figures (0 when there is none)."""
    longest = 0
    for fig in figures.values():
        for trace in fig.data:
            if isinstance(trace.meta, dict) and trace.meta.get("role") == "path" and trace.x is not None:
                longest = max(longest, len(trace.x) - 1)
    return longest


def at_final_epoch(fig: go.Figure) -> go.Figure:
    """A copy of `fig` with each run's "head" marker on its path's last drawn point (the page's
    figures carry the heads at the start: the browser moves them)."""
    fig = go.Figure(fig)
    paths = {t.meta.get("run"): t for t in fig.data
             if isinstance(t.meta, dict) and t.meta.get("role") == "path"}
    for trace in fig.data:
        if not (isinstance(trace.meta, dict) and trace.meta.get("role") == "head"):
            continue
        path = paths.get(trace.meta.get("run"))
        if path is None or path.x is None or not len(path.x):
            continue
        x, y = np.asarray(path.x, dtype=float), np.asarray(path.y, dtype=float)
        z = None if getattr(path, "z", None) is None else np.asarray(path.z, dtype=float)
        finite = np.isfinite(x) & np.isfinite(y) & (np.isfinite(z) if z is not None else True)
        if not finite.any():
            continue
        k = int(np.flatnonzero(finite)[-1])
        trace.x, trace.y = [float(x[k])], [float(y[k])]
        if z is not None:
            trace.z = [float(z[k])]
    return fig


def figures_html(figures: dict, title: str) -> str:
    """The figures in one standalone HTML file with Plotly.js inside: works offline, opens at the
    final epoch, and replays the descent with an epoch slider and a Play button."""
    last = _last_epoch(figures)
    safe = html.escape(title)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{safe}</title></head><body>",
             f"<h2 style='font-family:sans-serif'>{safe}</h2>"]
    if last > 0:  # at the top, and it stays there while the figures scroll under it
        parts.append(PLAYER_BAR % {"last": last})
    for i, fig in enumerate(figures.values()):
        parts.append(pio.to_html(at_final_epoch(fig), include_plotlyjs=(i == 0), full_html=False,
                                 config={"displaylogo": False}))
    if last > 0:
        parts.append(PLAYER_SCRIPT % {"last": last})
    parts.append("</body></html>")
    return "\n".join(parts)


def size_words(n_bytes: int) -> str:
    """A file size for a button: 4.9 MB, 820 KB."""
    if n_bytes >= 1_000_000:
        return f"{n_bytes / 1_000_000:.1f} MB"
    return f"{max(1, round(n_bytes / 1000))} KB"

