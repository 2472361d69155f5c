// The Plotly skeleton: loading Plotly once per page, each figure's skeleton (surface, filled
// contours, axes, legend) drawn with Plotly.react only when it changed, 2D first and the 3D scene
// after, the network mode's frames traces, and clicks on the contour map.

const DEFAULT_UIREVISION = "descent-view";
const CLICK_SLOP_PX = 5;  // a press and release closer than this is a click, not a drag
const DOUBLE_CLICK_MS = 400;
// Plotly renders 3D at twice the screen resolution by default (plotGlPixelRatio 2): four times the
// pixels, which software WebGL cannot afford. Match the screen instead.
const PLOT_CONFIG = {
  displaylogo: false, responsive: false, scrollZoom: false,
  plotGlPixelRatio: Math.min(2, Math.max(1, window.devicePixelRatio || 1)),
};

// Plotly's bundle is 4.8 MB: one <script> per page, shared by every instance and every rerun.
function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!url) return Promise.reject(new Error("no URL was given for plotly.min.js"));
  // The page shell (serving/web.py) began fetching this very URL before the script ran.
  if (window.__descentLabPlotlyStart && window.__descentLabPlotlyUrl === url) {
    return window.__descentLabPlotlyStart();
  }
  if (!window.__descentLabPlotly) {
    window.__descentLabPlotly = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.onload = () => (window.Plotly ? resolve(window.Plotly)
        : reject(new Error(`${url} loaded but did not define Plotly`)));
      script.onerror = () => {
        window.__descentLabPlotly = null;
        script.remove();
        reject(new Error(`could not load ${url}`));
      };
      document.head.appendChild(script);
    });
  }
  return window.__descentLabPlotly;
}

function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

// A "frames" trace: one picture per listed epoch (a heatmap's z, K × ny × nx, or a line's y,
// K × m). Frames are cut out of the one decoded buffer once, on first use, and kept.
class Frames {
  constructor(index, trace, meta) {
    const spec = meta.frames;
    let data = decodeArray(spec);
    let shape = parseShape(spec && spec.shape, data ? data.length : 0);
    if (Array.isArray(data) && data.length && ArrayBuffer.isView(data[0])) {
      // A K × m array arrives as rows (the wire's 2-D form): one flat buffer, cut by its shape.
      const rows = data;
      data = new rows[0].constructor(rows.length * rows[0].length);
      rows.forEach((row, r) => data.set(row, r * rows[0].length));
      shape = [rows.length, rows[0].length];
    }
    this.index = index;
    this.epochs = (meta.epochs || []).map(Number);
    this.attr = trace.type === "heatmap" || trace.type === "contour" ? "z" : "y";
    this.count = Math.min(shape[0] || 0, this.epochs.length);
    this.rows = this.attr === "z" ? shape[1] || 0 : 0;
    this.cols = this.attr === "z" ? shape[2] || 0 : shape[1] || 0;
    this.data = data;
    this.cache = new Array(this.count);
    const per = (this.rows || 1) * this.cols;
    if (!data || per * this.count > data.length) {
      throw new Error(`frames of trace ${index}: shape ${shape} does not fit ${data ? data.length : 0} values`);
    }
  }

  // The frame on screen at `epoch`: the last one whose epoch is <= epoch (the first before it).
  indexAt(epoch) {
    let lo = 0;
    let hi = this.count - 1;
    if (hi < 0) return -1;
    if (epoch < this.epochs[0]) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.epochs[mid] <= epoch) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  frame(k) {
    if (this.cache[k]) return this.cache[k];
    let value;
    if (this.attr === "z") {
      const per = this.rows * this.cols;
      value = [];
      for (let r = 0; r < this.rows; r++) {
        const at = k * per + r * this.cols;
        value.push(this.data.subarray(at, at + this.cols));
      }
    } else {
      value = this.data.subarray(k * this.cols, (k + 1) * this.cols);
    }
    this.cache[k] = value;
    return value;
  }
}

// --- Figures -----------------------------------------------------------------------------------

// One figure: its skeleton (every trace; path and head traces without data: the overlay draws
// them), the style of each run's path and head, and its frames traces.
class FigureModel {
  constructor(spec, key, arrays) {
    const fig = revive(spec || {}, arrays);
    this.key = key;
    this.layout = Object.assign({}, fig.layout || {});
    this.traces = (fig.data || []).map((t) => Object.assign({}, t));
    this.styles = new Map();  // run -> {path, head}
    this.own = new Map();  // run -> {x, y, z, n}: paths carried by the figure itself
    this.frames = [];
    this.clickIndex = -1;
    this.hasZ = false;
    this.traces.forEach((trace, index) => {
      const meta = trace.meta || {};
      if (meta.role === "path" || meta.role === "head") {
        const run = String(meta.run);
        const style = this.styles.get(run) || {};
        const is3d = trace.type === "scatter3d";
        this.hasZ = this.hasZ || is3d;
        style[meta.role] = {
          index, is3d,
          mode: trace.mode || (meta.role === "head" ? "markers" : "lines"),
          color: (trace.marker && typeof trace.marker.color === "string" && trace.marker.color)
            || (trace.line && trace.line.color) || "#0072B2",
          size: Number(trace.marker && trace.marker.size) || (meta.role === "head" ? 10 : 6),
          width: Number(trace.line && trace.line.width) || 2,
          outline: trace.marker && trace.marker.line && trace.marker.line.color,
          outlineWidth: Number(trace.marker && trace.marker.line && trace.marker.line.width) || 0,
        };
        this.styles.set(run, style);
        if (meta.role === "path" && trace.x !== undefined) {
          const x = decodeArray(trace.x);
          const y = decodeArray(trace.y);
          const z = trace.z === undefined ? undefined : decodeArray(trace.z);
          let n = Math.min(x ? x.length : 0, y ? y.length : 0);
          if (z !== undefined) n = Math.min(n, z ? z.length : 0);
          this.own.set(run, { x, y, z, n });
        }
        // One blank point: the trace keeps its legend entry and draws nothing.
        trace.x = [null];
        trace.y = [null];
        if (is3d) trace.z = [null];
        if (meta.role === "head") trace.showlegend = false;
      } else if (meta.role === "frames" && meta.frames) {
        this.frames.push(new Frames(index, trace, meta));
        const { frames: _omit, ...rest } = meta;
        trace.meta = rest;
      } else if (meta.role === "click") {
        this.clickIndex = index;
        trace.visible = false;  // clicks are caught on the plot area instead (bindClicks)
      }
    });
    this.maxEpoch = Math.max(0, ...[...this.own.values()].map((p) => p.n - 1),
      ...this.frames.map((f) => (f.count ? f.epochs[f.count - 1] : 0)));
    const lay = this.layout;
    delete lay.width;
    delete lay.height;
    lay.autosize = true;
    if (lay.uirevision === undefined || lay.uirevision === null) lay.uirevision = DEFAULT_UIREVISION;
  }
}

// A trace whose meta names `z_from` draws the z of that view's first trace.
function shareArrays(figures) {
  for (const view of VIEWS) {
    for (const trace of ((figures[view] && figures[view].data) || [])) {
      const source = trace.meta && trace.meta.z_from;
      const from = source && figures[source] && figures[source].data && figures[source].data[0];
      if (from && trace.z === undefined) trace.z = from.z;
    }
  }
}

// A run's own static traces (mini-batch steps, ASGD's average, L-BFGS's probes): class mode's
// hidden run hides them too.
const RUN_TRACES = new Set(["steps", "averaged", "probes"]);

// DescentView's methods that draw with Plotly: the skeletons, the 3D hook, the frames, the clicks.
const SKELETON = {
  // Class mode: show or hide the runs' static traces as the run is hidden or shown.
  syncHidden() {
    if (!window.Plotly) return;
    for (const view of VIEWS) {
      const div = this.divs[view];
      const model = this.models[view];
      if (!div._fullLayout || !model || !Array.isArray(div.data)) continue;
      const index = [];
      div.data.forEach((t, i) => { if (RUN_TRACES.has((t.meta || {}).role)) index.push(i); });
      const want = index.map((i) => (this.hidden ? false
        : (model.traces[i] && model.traces[i].visible !== undefined ? model.traces[i].visible : true)));
      if (!index.length || index.every((i, k) => (div.data[i].visible ?? true) === want[k])) continue;
      window.Plotly.restyle(div, { visible: want }, index);
    }
  },

  // Plotly draws a figure's skeleton only when it changed; on a cold start the 2D views first,
  // painted, and then the 3D scene. Returns the timing of each view's Plotly.react.
  async drawSkeletons(Plotly, models, previous, current, now) {
    this.reacting = true;
    const timing = { received: now, react: {}, how: {} };
    try {
      const react = (view) => {
        const div = this.divs[view];
        const model = models[view];
        const t0 = performance.now();
        const drawn = div._fullLayout && previous[view] === model;
        let lossKey = null;
        if (view === "loss") {
          lossKey = this.lossKeyFor(model, current);
          if (drawn && lossKey === this.lossAxisKey) { timing.how[view] = "unchanged"; return null; }
        } else if (drawn) { timing.how[view] = "unchanged"; return null; }
        const layout = Object.assign({}, model.layout);
        if (view === "loss" && current) this.mergeLossAxis(layout, model, current);
        this.lossAxisKey = view === "loss" ? lossKey : this.lossAxisKey;
        this.frameShown[view] = [];
        timing.how[view] = "react";
        const traces = this.hidden ? model.traces.map((t) => (RUN_TRACES.has((t.meta || {}).role)
          ? Object.assign({}, t, { visible: false }) : t)) : model.traces;
        return Promise.resolve(Plotly.react(div, traces, layout, PLOT_CONFIG))
          .then(() => {
            timing.react[view] = performance.now() - t0;
            // The size it was drawn at (descent_view.js's resize observer redraws only on a change).
            div.__dvDrawnAt = div.offsetParent !== null ? [div.clientWidth, div.clientHeight] : null;
          });
      };
      // Cold start: the 2D views first, painted, and then the 3D scene (WebGL setup is slow).
      const first = !this.divs.surface3d._fullLayout;
      const jobs = [react("contour"), react("loss")];
      if (first) {
        await Promise.all(jobs);
        this.models = Object.assign({}, this.models, { contour: models.contour, loss: models.loss });
        this.current = current;
        for (const view of ["contour", "loss"]) this.paint(view, true);
        await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      }
      jobs.push(react("surface3d"));
      await Promise.all(jobs);
    } finally {
      this.reacting = false;
    }
    return timing;
  },

  // The loss axis (type, title, range) of the paths on screen, as a relayout and as a key.
  lossKeyFor(model, current) {
    if (!current || !model || !model.styles.size) return "none";
    return JSON.stringify(this.lossAxis(model, current));
  },

  lossAxis(model, current) {
    const given = model.layout.yaxis || {};
    if (current.axis) return lossLayout(current.axis, current.views.loss);
    const out = {};
    // Figures that carry their own paths: keep their axis, with the range their paths need.
    if (!given.range) {
      const full = lossLayout({ log: given.type === "log" }, current.views.loss);
      out["yaxis.range"] = full["yaxis.range"];
      out["yaxis.autorange"] = false;
    }
    return out;
  },

  mergeLossAxis(layout, model, current) {
    const relayout = this.lossAxis(model, current);
    const yaxis = Object.assign({}, layout.yaxis || {});
    for (const [path, value] of Object.entries(relayout)) {
      const name = path.slice("yaxis.".length);
      if (name === "title.text") yaxis.title = Object.assign({}, yaxis.title || {}, { text: value });
      else yaxis[name] = value;
    }
    layout.yaxis = yaxis;
  },

  // The 3D overlay is redrawn inside the scene's own redraw (camera drag, resize), in its frame.
  hook3d() {
    const div = this.divs.surface3d;
    const scene = div._fullLayout && div._fullLayout.scene && div._fullLayout.scene._scene;
    // A Plotly.react that did not redraw the scene leaves it holding the previous _fullLayout, so
    // a drag's camera was saved there, and the next react put the old camera back (plotly.js
    // gl3d scene.saveLayout writes to scene.fullLayout): point it at the current one.
    if (scene && scene.fullLayout !== div._fullLayout) scene.fullLayout = div._fullLayout;
    if (!scene || !scene.glplot || scene.glplot.__dvHooked) return;
    const glplot = scene.glplot;
    const plotlyRender = glplot.onrender;
    glplot.onrender = () => {
      if (plotlyRender) plotlyRender();
      if (!this.reacting) this.paint("surface3d", false);
    };
    glplot.__dvHooked = true;
  },

  // Paint one view's overlay (and its frames traces) at the epoch on screen.
  paint(view, counted) {
    const model = this.models[view];
    const div = this.divs[view];
    if (!model || !div._fullLayout) return;
    const project = view === "surface3d" ? sceneProjector(div) : planeProjector(div);
    // Class mode's hidden run: the surface and the map, no path or head.
    const paths = this.current && !this.hidden ? this.current.views[view] : null;
    this.overlays[view].draw(model, paths, this.epoch, project,
      view === "loss" && this.current ? this.current.diverged : null);
    this.paintFrames(view, model, div);
    if (!counted) return;
    this.viewFrames[view] += 1;
    this.root.dataset[`frames${view[0].toUpperCase()}${view.slice(1)}`] = String(this.viewFrames[view]);
    this.frames = Math.max(...VIEWS.map((v) => this.viewFrames[v]));
    this.root.dataset.frames = String(this.frames);
  },

  // A "frames" trace (network mode's decision boundary) shows the frame of the epoch on screen.
  paintFrames(view, model, div) {
    if (!model.frames.length || this.framesBusy[view]) return;
    const shown = this.frameShown[view] || (this.frameShown[view] = []);
    const jobs = [];
    model.frames.forEach((frames, i) => {
      const k = frames.indexAt(this.epoch);
      if (k < 0 || shown[i] === k) return;
      shown[i] = k;
      jobs.push(window.Plotly.restyle(div, { [frames.attr]: [frames.frame(k)] }, [frames.index]));
    });
    if (!jobs.length) return;
    this.framesBusy[view] = true;
    Promise.all(jobs).catch((err) => console.error(`descent view: redrawing ${view} failed`, err))
      .finally(() => { this.framesBusy[view] = false; this.dirty.add(view); this.requestTick(); });
  },

  // Events bound once the plots exist: repainting overlays after Plotly's own redraws, clicks.
  bindEvents() {
    if (this.eventsBound) return;
    this.eventsBound = true;
    for (const view of VIEWS) {
      const again = () => { this.dirty.add(view); this.requestTick(); };
      this.divs[view].on("plotly_afterplot", () => { if (view === "surface3d") this.hook3d(); again(); });
      this.divs[view].on("plotly_relayouting", again);
      this.divs[view].on("plotly_relayout", () => { if (view === "surface3d") this.hook3d(); again(); });
    }
    this.bindClicks(this.divs.contour);
  },

  // A click on the contour map sends back the data coordinates under the pointer. Plotly reports
  // clicks only on traces, which needed a grid of 1,296 invisible SVG markers that made every
  // redraw of the map about twice as slow; so the grid (role "click") is not drawn, and a press
  // and release within a few pixels on the plot area (Plotly's drag rectangle) is the click.
  // A drag that zooms or pans moves further and sends nothing; the second click of a double
  // click (Plotly's zoom reset) sends nothing either.
  bindClicks(div) {
    let down = null;
    let last = { t: -1e9, x: NaN, y: NaN };
    div.addEventListener("pointerdown", (ev) => {
      const target = ev.target;
      const onPlot = target && target.classList && target.classList.contains("nsewdrag");
      const model = this.models.contour;
      down = ev.button === 0 && ev.isPrimary && onPlot && model && model.clickIndex >= 0
        ? { x: ev.clientX, y: ev.clientY, id: ev.pointerId } : null;
    }, true);
    window.addEventListener("pointerup", (ev) => {
      if (!down || ev.pointerId !== down.id) return;
      const start = down;
      down = null;
      if (Math.hypot(ev.clientX - start.x, ev.clientY - start.y) > CLICK_SLOP_PX) return;
      const now = performance.now();
      const repeat = now - last.t < DOUBLE_CLICK_MS && Math.hypot(start.x - last.x, start.y - last.y) < 8;
      last = { t: now, x: start.x, y: start.y };
      if (repeat) return;
      const point = this.pointAt(div, start.x, start.y);
      // No new start point from a class's hidden run (the student answers in the class panel).
      if (point && this.setTriggerValue && !this.hidden) this.setTriggerValue("click", point);
    }, true);
  },

  pointAt(div, clientX, clientY) {
    const fl = div._fullLayout;
    const xa = fl && fl.xaxis;
    const ya = fl && fl.yaxis;
    if (!xa || !ya || typeof xa.p2d !== "function" || typeof ya.p2d !== "function") return null;
    const box = div.getBoundingClientRect();
    let x = Number(xa.p2d(clientX - box.left - xa._offset));
    let y = Number(ya.p2d(clientY - box.top - ya._offset));
    if (!Number.isFinite(x) || !Number.isFinite(y)) return null;
    const xr = xa.range.map(Number);
    const yr = ya.range.map(Number);
    if (xa.type === "linear") x = clamp(x, Math.min(...xr), Math.max(...xr));
    if (ya.type === "linear") y = clamp(y, Math.min(...yr), Math.max(...yr));
    return [Number(x.toPrecision(6)), Number(y.toPrecision(6))];
  },
};
