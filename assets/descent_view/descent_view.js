// Descent view: draws the three Plotly views and plays the descent back in the browser.
//
// Streamlit calls the default export on mount and again whenever `data` changes, with the same
// parentElement and without running the previous call's cleanup, so one long-lived instance is
// kept on the parent element and each call only hands it the new data.

const VIEWS = ["surface3d", "contour", "loss"];
const SPEED_SECONDS = { slow: 4.0, normal: 2.0, fast: 0.8 };
const DEFAULT_UIREVISION = "descent-view";
// With software WebGL a 3D frame costs 100-400 ms, and the page paints nothing else meanwhile.
// After a 3D update the next waits until GL_WATCH_FRAMES frames have shown what that frame cost,
// and then GL_WAIT_FACTOR times that cost, so the 2D views keep most of the frames.
const FRAME_MS = 1000 / 60;
const GL_WATCH_FRAMES = 3;
const GL_WAIT_FACTOR = 1.5;
const CLICK_SLOP_PX = 5;  // a press and release closer than this is a click, not a drag
const DOUBLE_CLICK_MS = 400;
const INSTANCE_KEY = "__descentView";
const DTYPES = {
  f4: Float32Array, f8: Float64Array,
  i1: Int8Array, u1: Uint8Array, u1c: Uint8ClampedArray,
  i2: Int16Array, u2: Uint16Array, i4: Int32Array, u4: Uint32Array,
};
// Plotly renders 3D at twice the screen resolution by default (plotGlPixelRatio 2): four times the
// pixels, which software WebGL cannot afford per frame. Match the screen instead.
const PLOT_CONFIG = {
  displaylogo: false, responsive: false, scrollZoom: false,
  plotGlPixelRatio: Math.min(2, Math.max(1, window.devicePixelRatio || 1)),
};

// Plotly's bundle is 4.8 MB: one <script> per page, shared by every instance and every rerun.
function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!url) return Promise.reject(new Error("no URL was given for plotly.min.js"));
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

// Plotly's JSON encodes numeric arrays as {dtype, bdata: base64}; slicing needs real arrays.
function decodeArray(value) {
  if (value == null || Array.isArray(value) || ArrayBuffer.isView(value)) return value;
  if (typeof value === "object" && typeof value.bdata === "string") {
    const Ctor = DTYPES[value.dtype];
    if (!Ctor) throw new Error(`unsupported typed-array dtype ${value.dtype}`);
    const bin = atob(value.bdata);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Ctor(bytes.buffer);
  }
  return value;
}

function head(arr, n) {
  return ArrayBuffer.isView(arr) ? arr.subarray(0, n) : arr.slice(0, n);
}

function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

// Plotly's shape string for a typed array: "K, ny, nx" -> [K, ny, nx].
function parseShape(shape, length) {
  if (Array.isArray(shape)) return shape.map(Number);
  if (typeof shape === "string") return shape.split(",").map((v) => Number(v.trim()));
  return [length];
}

// A "frames" trace: one picture per listed epoch (a heatmap's z, K × ny × nx, or a line's y,
// K × m). Frames are cut out of the one decoded buffer once, on first use, and kept.
class Frames {
  constructor(index, trace, meta) {
    const spec = meta.frames;
    const data = decodeArray(spec);
    const shape = parseShape(spec && spec.shape, data ? data.length : 0);
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

// One figure: its static traces, its path/head traces, and how to cut them at an epoch.
class FigureModel {
  constructor(fig) {
    this.layout = Object.assign({}, (fig && fig.layout) || {});
    this.traces = ((fig && fig.data) || []).map((t) => Object.assign({}, t));
    this.paths = new Map();
    this.heads = [];
    this.frames = [];
    this.clickIndex = -1;
    // What is not animated: a figure whose `skeleton` is unchanged needs no Plotly.react when
    // only the paths moved (a new learning rate): the path traces are updated in place.
    const skeleton = [];
    this.traces.forEach((trace, index) => {
      const meta = trace.meta || {};
      const bare = Object.assign({}, trace);
      if (meta.role === "path") {
        const x = decodeArray(trace.x);
        const y = decodeArray(trace.y);
        const z = trace.z === undefined ? undefined : decodeArray(trace.z);
        let n = Math.min(x ? x.length : 0, y ? y.length : 0);
        if (z !== undefined) n = Math.min(n, z ? z.length : 0);
        this.paths.set(String(meta.run), { index, x, y, z, n });
        delete bare.x; delete bare.y; delete bare.z;
      } else if (meta.role === "head") {
        this.heads.push({ index, run: String(meta.run), hasZ: trace.z !== undefined });
        delete bare.x; delete bare.y; delete bare.z;
      } else if (meta.role === "frames" && meta.frames) {
        const frames = new Frames(index, trace, meta);
        this.frames.push(frames);
        // Plotly need not carry (and copy) every frame: the trace keeps its meta without them.
        const { frames: _omit, ...rest } = meta;
        trace.meta = rest;
      } else if (meta.role === "click") {
        this.clickIndex = index;
        trace.visible = false;  // clicks are caught on the plot area instead (bindClicks)
      }
      skeleton.push(bare);
    });
    this.dynamic = [...[...this.paths.values()].map((p) => p.index), ...this.heads.map((h) => h.index)];
    this.hasZ = [...this.paths.values()].some((p) => p.z !== undefined);
    this.maxEpoch = Math.max(0, ...[...this.paths.values()].map((p) => p.n - 1),
      ...this.frames.map((f) => (f.count ? f.epochs[f.count - 1] : 0)));

    const lay = this.layout;
    delete lay.width;
    delete lay.height;
    lay.autosize = true;
    if (lay.uirevision === undefined || lay.uirevision === null) lay.uirevision = DEFAULT_UIREVISION;
    this.skeleton = JSON.stringify([skeleton, lay]);
    this.key = JSON.stringify(fig);
  }

  // The x, y (, z) arrays of every dynamic trace at epoch e, in this.dynamic order.
  slices(epoch) {
    const out = { x: [], y: [], z: [] };
    for (const p of this.paths.values()) {
      const n = clamp(epoch + 1, 0, p.n);
      out.x.push(head(p.x, n));
      out.y.push(head(p.y, n));
      if (this.hasZ) out.z.push(p.z === undefined ? undefined : head(p.z, n));
    }
    for (const h of this.heads) {
      const p = this.paths.get(h.run);
      if (!p || p.n === 0) {
        out.x.push([]); out.y.push([]); if (this.hasZ) out.z.push(h.hasZ ? [] : undefined);
        continue;
      }
      const k = clamp(epoch, 0, p.n - 1);
      out.x.push([p.x[k]]);
      out.y.push([p.y[k]]);
      if (this.hasZ) out.z.push(h.hasZ && p.z ? [p.z[k]] : undefined);
    }
    if (!this.hasZ) delete out.z;
    return out;
  }

  // The whole paths (and heads at the start), in this.dynamic order: what Plotly draws in 2D.
  wholePaths() {
    const out = { x: [], y: [] };
    for (const p of this.paths.values()) { out.x.push(p.x); out.y.push(p.y); }
    for (const h of this.heads) {
      const p = this.paths.get(h.run);
      out.x.push(p && p.n ? [p.x[0]] : []);
      out.y.push(p && p.n ? [p.y[0]] : []);
    }
    return out;
  }
}

// Frame updates. Plotly.restyle would recompute and redraw every trace of a figure, the
// surface mesh and the filled contour included, for each frame; these touch only the moving
// parts and fall back to Plotly.restyle when a figure does not have the expected structure.
//  - 3D: hand the sliced arrays straight to the scene's scatter3d objects and let the scene's
//    own render loop draw them (Plotly internals: _fullLayout.scene._scene.traces[uid]).
//  - 2D: Plotly has drawn the whole paths; show the first points and move the head's marker
//    in its SVG (the .scatterlayer trace groups, bound to Plotly's calcdata). After any
//    Plotly redraw (zoom, pan, resize) the current epoch is applied again.
function updateTraces(Plotly, div, model, epoch) {
  if (model.hasZ) {
    const slices = model.slices(epoch);
    if (updateGlDirect(div, model, slices)) return null;
    return Plotly.restyle(div, slices, model.dynamic);
  }
  if (updateSvgDirect(div, model, epoch)) return null;
  return Plotly.restyle(div, model.slices(epoch), model.dynamic);
}

function svgTraceGroups(div) {
  const groups = new Map();
  for (const g of div.querySelectorAll(".scatterlayer .trace")) {
    const cd = g.__data__;
    const trace = cd && cd[0] && cd[0].trace;
    if (trace && Number.isInteger(trace.index)) groups.set(trace.index, { g, cd, trace });
  }
  return groups;
}

function pixelPoint(plotinfo, pt) {
  if (!pt) return null;
  const px = plotinfo.xaxis.c2p(pt.x);
  const py = plotinfo.yaxis.c2p(pt.y);
  return Number.isFinite(px) && Number.isFinite(py) ? [px, py] : null;
}

function updateSvgDirect(div, model, epoch) {
  const plots = div._fullLayout && div._fullLayout._plots;
  if (!plots || !div.data) return false;
  const groups = svgTraceGroups(div);
  const plan = [];
  for (const p of model.paths.values()) {
    const input = div.data[p.index];
    if (input && input.visible === false) continue;
    const group = groups.get(p.index);
    // The drawn trace must be the whole path: a restyle may have left a slice in its place.
    if (!group || group.cd.length !== p.n && !(p.n === 0 && group.cd.length <= 1)) return false;
    const plotinfo = plots[(group.trace.xaxis || "x") + (group.trace.yaxis || "y")];
    if (!plotinfo || !plotinfo.xaxis || !plotinfo.yaxis) return false;
    plan.push({ kind: "path", p, group, plotinfo });
  }
  for (const h of model.heads) {
    const input = div.data[h.index];
    if (input && input.visible === false) continue;
    const group = groups.get(h.index);
    const path = model.paths.get(h.run);
    if (!group || !path) return false;
    const pathGroup = groups.get(path.index);
    if (!pathGroup) return false;
    const plotinfo = plots[(pathGroup.trace.xaxis || "x") + (pathGroup.trace.yaxis || "y")];
    if (!plotinfo) return false;
    plan.push({ kind: "head", p: path, group, pathGroup, plotinfo });
  }
  for (const step of plan) {
    const { p, group, plotinfo } = step;
    if (step.kind === "path") {
      const n = clamp(epoch + 1, 0, p.n);
      const lines = group.g.querySelectorAll("path.js-line");
      if (lines.length) {
        let d = "";
        let pen = false;
        for (let i = 0; i < n; i++) {
          const xy = pixelPoint(plotinfo, group.cd[i]);
          if (!xy) { pen = false; continue; }
          d += `${pen ? "L" : "M"}${xy[0].toFixed(2)},${xy[1].toFixed(2)}`;
          pen = true;
        }
        lines[0].setAttribute("d", d || "M0,0");
        lines[0].style.visibility = d ? "" : "hidden";
        for (let k = 1; k < lines.length; k++) lines[k].style.visibility = "hidden";
      }
      for (const el of group.g.querySelectorAll(".points path.point, .text text")) {
        const i = el.__data__ && el.__data__.i;
        const show = Number.isInteger(i) ? i < n : true;
        const want = show ? "" : "hidden";
        if (el.style.visibility !== want) el.style.visibility = want;
      }
    } else {
      const k = clamp(epoch, 0, p.n - 1);
      const xy = p.n > 0 ? pixelPoint(plotinfo, step.pathGroup.cd[k]) : null;
      for (const el of group.g.querySelectorAll(".points path.point")) {
        if (xy) {
          el.setAttribute("transform", `translate(${xy[0].toFixed(2)},${xy[1].toFixed(2)})`);
          el.style.visibility = "";
        } else {
          el.style.visibility = "hidden";
        }
      }
    }
  }
  return true;
}

function updateGlDirect(div, model, slices) {
  const fullLayout = div._fullLayout;
  const fullData = div._fullData;
  if (!fullLayout || !fullData) return false;
  const plan = [];
  for (let k = 0; k < model.dynamic.length; k++) {
    const index = model.dynamic[k];
    const full = fullData[index];
    if (!full || full.type !== "scatter3d" || slices.z[k] === undefined) return false;
    const scene = fullLayout[full.scene] && fullLayout[full.scene]._scene;
    const obj = scene && scene.traces && scene.traces[full.uid];
    if (!obj || typeof obj.update !== "function" || !scene.glplot) return false;
    plan.push({ k, index, full, obj, scene });
  }
  const scenes = new Set();
  for (const { k, index, full, obj, scene } of plan) {
    const trace = Object.assign(Object.create(Object.getPrototypeOf(full)), full,
      { x: slices.x[k], y: slices.y[k], z: slices.z[k] });
    obj.update(trace);
    // Keep the input in step, so a later full replot (resize, relayout) draws the same epoch.
    Object.assign(div.data[index], { x: slices.x[k], y: slices.y[k], z: slices.z[k] });
    scenes.add(scene);
  }
  for (const scene of scenes) scene.glplot.update({});  // marks the scene dirty for its loop
  return true;
}

// A trace whose meta names `z_from` (the contour map) draws the z of that view's first trace
// (the 3D surface's grid), which the server sends only once.
function shareArrays(figures) {
  for (const view of VIEWS) {
    for (const trace of ((figures[view] && figures[view].data) || [])) {
      const source = trace.meta && trace.meta.z_from;
      const from = source && figures[source] && figures[source].data && figures[source].data[0];
      if (from && trace.z === undefined) trace.z = from.z;
    }
  }
}

class DescentView {
  constructor(parentElement) {
    this.parent = parentElement;
    this.root = parentElement.querySelector(".dv-root");
    this.root.__descentView = this;  // for tests and the benchmark
    this.button = this.root.querySelector(".dv-play");
    this.slider = this.root.querySelector(".dv-epoch");
    this.label = this.root.querySelector(".dv-label");
    this.message = this.root.querySelector(".dv-message");
    this.divs = {};
    for (const view of VIEWS) this.divs[view] = this.root.querySelector(`.dv-${view}`);

    this.models = {};
    this.token = null;
    this.speed = "normal";
    this.epochs = 0;
    this.epoch = 0;
    this.playing = false;
    this.playStart = 0;  // performance.now() at which epoch 0 would have been shown
    // Per view: the epoch on screen, whether a redraw is running, how many redraws so far.
    this.drawn = Object.fromEntries(VIEWS.map((v) => [v, -1]));
    this.viewBusy = Object.fromEntries(VIEWS.map((v) => [v, false]));
    this.viewFrames = Object.fromEntries(VIEWS.map((v) => [v, 0]));
    // 3D frame skipping (see tick): frames left to watch after a 3D update, the worst frame
    // time seen in them, the resulting cost of a 3D frame, and when the next 3D update may go.
    this.gl3d = { watch: 0, worst: 0, cost: 0, next: 0, lastTick: 0 };
    this.glSkip = true;  // the benchmark turns it off to measure the alternative
    this.frameShown = Object.fromEntries(VIEWS.map((v) => [v, []]));  // frame index per frames trace
    this.reportEpoch = false;
    this.sentEpoch = null;
    this.setStateValue = null;
    this.reacting = false;  // a Plotly.react is running: frames wait for it
    this.pending = null;
    this.applying = false;
    this.raf = 0;
    this.frames = 0;
    this.eventsBound = false;
    this.setTriggerValue = null;
    this.destroyed = false;

    this.tick = this.tick.bind(this);
    this.button.addEventListener("click", () => this.togglePlay());
    this.slider.addEventListener("input", () => this.scrub(Number(this.slider.value)));
    // "change": the slider was released (or a key moved it): the epoch is settled.
    this.slider.addEventListener("change", () => {
      this.scrub(Number(this.slider.value));
      this.reportEpochToPython();
    });
    this.root.addEventListener("keydown", (ev) => {
      // Space on the slider toggles playback, as it does on the button.
      if (ev.key === " " && ev.target === this.slider) {
        ev.preventDefault();
        this.togglePlay();
      }
    });

    this.resizeQueued = new Set();
    this.resizer = new ResizeObserver((entries) => {
      for (const entry of entries) this.resizeQueued.add(entry.target);
      requestAnimationFrame(() => {
        const targets = [...this.resizeQueued];
        this.resizeQueued.clear();
        if (!window.Plotly) return;
        for (const div of targets) if (div._fullLayout) window.Plotly.Plots.resize(div);
      });
    });
    for (const view of VIEWS) this.resizer.observe(this.divs[view]);
  }

  // New data from Python. Updates are applied one at a time; only the newest waiting one is kept.
  update(data) {
    this.pending = data;
    if (this.applying) return;
    this.applying = true;
    (async () => {
      while (this.pending && !this.destroyed) {
        const next = this.pending;
        this.pending = null;
        try {
          await this.apply(next);
          this.showMessage(null);
        } catch (err) {
          console.error("descent view:", err);
          this.showMessage(`The charts could not be drawn: ${err && err.message ? err.message : err}`);
        }
      }
      this.applying = false;
    })();
  }

  async apply(data) {
    // Streamlit sizes the element, but the wrappers around this HTML have no height of their own.
    if (Number.isFinite(data.height)) this.root.style.height = `${data.height}px`;
    const Plotly = await loadPlotly(data.plotly_url).catch((err) => {
      throw new Error(`${err.message}. ${data.plotly_hint || ""}`.trim());
    });
    if (this.destroyed) return;
    const figures = data.figures || {};
    shareArrays(figures);
    const models = {};
    for (const view of VIEWS) models[view] = new FigureModel(figures[view]);
    const animation = data.animation || {};
    const speed = animation.speed in SPEED_SECONDS || animation.speed === "instant" ? animation.speed : "normal";
    const figureEpochs = Math.max(...VIEWS.map((v) => models[v].maxEpoch));
    const epochs = Math.max(0, Math.floor(Number.isFinite(animation.epochs) ? animation.epochs : figureEpochs));
    const now = performance.now();

    const previous = this.models;
    this.reportEpoch = Boolean(data.report_epoch);
    this.epochs = epochs;
    const restarted = animation.token !== this.token;
    if (restarted) {
      // A new computation: play it from the start (or jump to the end for "instant").
      this.token = animation.token;
      this.speed = speed;
      if (speed === "instant" || epochs === 0) {
        this.epoch = epochs;
        this.playing = false;
      } else {
        this.epoch = 0;
        this.playing = true;
        this.playStart = now;
      }
    } else {
      // Same computation, other settings: keep the position; a speed change keeps it too.
      this.epoch = clamp(this.epoch, 0, epochs);
      if (speed !== this.speed) {
        this.speed = speed;
        if (this.playing) this.playStart = now - this.fraction() * this.duration() * 1000;
      }
    }

    // Per view, the least that brings it up to date: nothing when its figure is unchanged; the
    // path traces alone when only they changed (a new learning rate, start or optimizer
    // setting on the same surface); else Plotly.react. Plotly.react recomputes and redraws every
    // trace, the surface mesh and the filled contours included, which costs most of a redraw.
    // The whole paths are drawn first, so that autoranged axes cover them and do not jump as
    // they grow; then they are cut at the current epoch (before the browser paints).
    this.reacting = true;
    const timing = { received: now, react: {}, how: {} };
    try {
      const jobs = VIEWS.map((view) => {
        const div = this.divs[view];
        const old = previous[view];
        const model = models[view];
        const drawnBefore = div._fullLayout && div.data && div.data.length === model.traces.length;
        const t0 = performance.now();
        let how;
        let job;
        if (old && drawnBefore && old.key === model.key) {
          models[view] = old;  // same figure: keep the decoded arrays and the frames shown
          how = "unchanged";
          job = null;
        } else if (old && drawnBefore && old.skeleton === model.skeleton && model.frames.length === 0) {
          how = "paths";
          this.frameShown[view] = [];
          // 3D: drawView hands the new paths straight to the scene's objects. 2D: Plotly redraws
          // the figure with the new whole paths (restyle skips react's diffing of every trace).
          job = model.hasZ || !model.dynamic.length ? null : Plotly.restyle(div, model.wholePaths(), model.dynamic);
        } else {
          how = "react";
          this.frameShown[view] = [];
          job = Plotly.react(div, model.traces, model.layout, PLOT_CONFIG);
        }
        timing.how[view] = how;
        return Promise.resolve(job).then(() => { timing.react[view] = performance.now() - t0; return how; });
      });
      const hows = await Promise.all(jobs);
      this.models = models;
      VIEWS.forEach((view, i) => { if (hows[i] !== "unchanged") this.drawn[view] = -1; });
      await Promise.all(VIEWS.map((view) => (this.drawn[view] === this.epoch ? null : this.drawView(view, this.epoch))));
    } finally {
      this.reacting = false;
    }
    timing.total = performance.now() - now;
    window.__dvTiming = timing;
    // The clock starts once epoch 0 is on screen, so a slow first draw skips no epochs.
    if (restarted && this.playing) this.playStart = performance.now();
    this.bindEvents();
    this.root.dataset.drawn = "1";
    this.root.dataset.token = String(this.token);
    this.root.dataset.updates = String(Number(this.root.dataset.updates || 0) + 1);
    this.renderControls();
    this.requestTick();
  }

  duration() {
    return SPEED_SECONDS[this.speed] || SPEED_SECONDS.normal;
  }

  fraction() {
    return this.epochs > 0 ? this.epoch / this.epochs : 1;
  }

  requestTick() {
    if (!this.raf && !this.destroyed) this.raf = requestAnimationFrame(this.tick);
  }

  // One animation frame: move the epoch with the clock while playing, then redraw each view
  // whose last redraw is done. Playback is time-based and views redraw independently, so a slow
  // view (3D on software WebGL) skips epochs instead of slowing the clock or the other views.
  tick(now) {
    this.raf = 0;
    if (this.destroyed) return;
    if (this.playing) {
      const t = (now - this.playStart) / (this.duration() * 1000);
      this.epoch = clamp(Math.floor(t * this.epochs), 0, this.epochs);
      if (t >= 1) {
        this.epoch = this.epochs;
        this.playing = false;  // not reported: a rerun after every replay would cost a round trip
      }
      this.renderControls();
    }
    const wall = performance.now();
    const gl = this.gl3d;
    if (gl.watch > 0) {
      // The frames after a 3D update: how long the page waited for the scene to be drawn.
      gl.worst = Math.max(gl.worst, wall - gl.lastTick);
      gl.watch -= 1;
      if (gl.watch === 0) {
        gl.cost = Math.max(0, gl.worst - FRAME_MS);
        gl.next = wall + gl.cost * GL_WAIT_FACTOR;
        this.root.dataset.glFrameMs = String(Math.round(gl.cost));
      }
    }
    gl.lastTick = wall;
    let behind = false;
    if (!this.reacting) {
      for (const view of VIEWS) {
        if (this.drawn[view] === this.epoch) continue;
        behind = true;
        if (this.viewBusy[view]) continue;
        if (view === "surface3d") {
          // Frame skipping: the 3D scene takes the next epoch only once its previous frame is
          // drawn and the 2D views have had their share of frames since.
          if (this.glSkip && (gl.watch > 0 || wall < gl.next)) continue;
          gl.watch = GL_WATCH_FRAMES;
          gl.worst = 0;
        }
        this.drawView(view, this.epoch);
      }
    } else {
      behind = true;
    }
    if (this.playing || behind || gl.watch > 0) this.requestTick();
  }

  // Redraw one view's path, head and frames traces at `epoch`; resolves when Plotly is done.
  drawView(view, epoch) {
    const model = this.models[view];
    const div = this.divs[view];
    if (!model || !div._fullLayout) return Promise.resolve();
    const jobs = [];
    this.viewBusy[view] = true;
    try {
      if (model.dynamic.length) jobs.push(updateTraces(window.Plotly, div, model, epoch));
      const shown = this.frameShown[view] || (this.frameShown[view] = []);
      model.frames.forEach((frames, i) => {
        const k = frames.indexAt(epoch);
        if (k < 0 || shown[i] === k) return;  // the same frame: nothing to redraw
        shown[i] = k;
        jobs.push(window.Plotly.restyle(div, { [frames.attr]: [frames.frame(k)] }, [frames.index]));
      });
    } catch (err) {
      jobs.push(Promise.reject(err));
    }
    const counted = jobs.length > 0;
    return Promise.all(jobs).then(() => {
      this.drawn[view] = epoch;
      if (!counted) return;
      this.viewFrames[view] += 1;
      this.root.dataset[`frames${view[0].toUpperCase()}${view.slice(1)}`] = String(this.viewFrames[view]);
      this.frames = Math.max(...VIEWS.map((v) => this.viewFrames[v]));
      this.root.dataset.frames = String(this.frames);
    }).catch((err) => {
      this.drawn[view] = epoch;  // do not retry a failing frame forever
      console.error(`descent view: redrawing ${view} failed`, err);
    }).finally(() => {
      this.viewBusy[view] = false;
      this.requestTick();
    });
  }

  // Tell Python the epoch on screen (state "epoch") when the user has settled on one: playback
  // paused, or the epoch slider released. The same epoch twice is sent once.
  reportEpochToPython() {
    if (!this.reportEpoch || !this.setStateValue || this.epoch === this.sentEpoch) return;
    this.sentEpoch = this.epoch;
    this.root.dataset.sentEpoch = String(this.epoch);
    this.setStateValue("epoch", this.epoch);
  }

  togglePlay() {
    if (this.playing) {
      this.playing = false;
      this.reportEpochToPython();
    } else {
      if (this.epoch >= this.epochs) this.epoch = 0;
      if (this.speed === "instant") this.speed = "normal";
      this.playing = this.epochs > 0;
      this.playStart = performance.now() - this.fraction() * this.duration() * 1000;
    }
    this.renderControls();
    this.requestTick();
  }

  scrub(epoch) {
    this.playing = false;
    this.epoch = clamp(Math.round(epoch), 0, this.epochs);
    this.renderControls();
    this.requestTick();
  }

  renderControls() {
    const { epoch, epochs, playing } = this;
    if (this.slider.max !== String(epochs)) this.slider.max = String(epochs);
    if (this.slider.value !== String(epoch)) this.slider.value = String(epoch);
    this.slider.setAttribute("aria-valuetext", `Epoch ${epoch} of ${epochs}`);
    this.label.textContent = `Epoch ${epoch} / ${epochs}`;
    this.button.querySelector(".dv-play-icon").textContent = playing ? "\u275A\u275A" : "\u25B6";
    this.button.querySelector(".dv-play-text").textContent = playing ? "Pause" : "Play";
    this.button.setAttribute("aria-label", playing ? "Pause" : "Play");
    this.root.dataset.epoch = String(epoch);
    this.root.dataset.epochs = String(epochs);
    this.root.dataset.playing = String(playing);
  }

  // Events bound once the plots exist: re-cutting paths after Plotly's own redraws, and clicks.
  bindEvents() {
    if (this.eventsBound) return;
    this.eventsBound = true;
    for (const view of VIEWS) {
      // Plotly redrew a figure by itself (zoom, pan, resize, legend click) from its whole paths:
      // cut them at the epoch on screen again.
      this.divs[view].on("plotly_afterplot", () => {
        const model = this.models[view];
        if (this.reacting || !model || model.hasZ || this.drawn[view] < 0) return;
        updateSvgDirect(this.divs[view], model, this.drawn[view]);
      });
    }
    this.bindClicks(this.divs.contour);
  }

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
      if (point && this.setTriggerValue) this.setTriggerValue("click", point);
    }, true);
  }

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
  }

  showMessage(text) {
    this.message.hidden = !text;
    this.message.textContent = text || "";
  }

  destroy() {
    this.destroyed = true;
    if (this.raf) cancelAnimationFrame(this.raf);
    this.resizer.disconnect();
    if (window.Plotly) for (const view of VIEWS) window.Plotly.purge(this.divs[view]);
    if (this.parent[INSTANCE_KEY] === this) delete this.parent[INSTANCE_KEY];
  }
}

export default function descentView(component) {
  const { data, parentElement, setTriggerValue } = component;
  let view = parentElement[INSTANCE_KEY];
  // The HTML is re-inserted if Streamlit ever replaces it; start over on the new nodes then.
  if (view && !parentElement.contains(view.root)) {
    view.destroy();
    view = null;
  }
  if (!view) {
    if (!parentElement.querySelector(".dv-root")) return undefined;
    view = new DescentView(parentElement);
    parentElement[INSTANCE_KEY] = view;
  }
  view.setTriggerValue = setTriggerValue;
  view.setStateValue = component.setStateValue;
  if (data) view.update(data);
  // Streamlit runs this cleanup on unmount, and also at once for a call whose data was already
  // superseded; only the first case leaves the nodes detached, so only then is the view torn down.
  return () => setTimeout(() => {
    if (!view.root.isConnected) view.destroy();
  }, 0);
}
