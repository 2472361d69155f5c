// Descent view: Plotly draws the three figures' skeletons (surface, filled contours, axes,
// legend); the component draws the runs' paths and heads on a canvas over each plot, and plays
// the descent back in the browser. The 3D dots are projected with the scene's own camera, in the
// same frame as the scene's own redraw (also while it is dragged); the WebGL scene and the filled
// contour are never redrawn for a new epoch or a new learning rate.
//
// Streamlit calls the default export on mount and again whenever `data` changes, with the same
// parentElement and without running the previous call's cleanup, so one long-lived instance is
// kept on the parent element and each call only hands it the new data.
//
// The data is one binary message (see ui/descent_view.py): b"DVW1", uint32 header length, a JSON
// header whose arrays are references {"$b": name, "shape"}, then the raw buffers.

const VIEWS = ["surface3d", "contour", "loss"];
const SPEED_SECONDS = { slow: 4.0, normal: 2.0, fast: 0.8 };
const DEFAULT_UIREVISION = "descent-view";
const CLICK_SLOP_PX = 5;  // a press and release closer than this is a click, not a drag
const DOUBLE_CLICK_MS = 400;
const LR_ECHO_MS = 8000;  // how long a reported η waits for Python's echo before Python wins again
const INSTANCE_KEY = "__descentView";
const DTYPES = {
  f4: Float32Array, f8: Float64Array,
  i1: Int8Array, u1: Uint8Array, u1c: Uint8ClampedArray,
  i2: Int16Array, u2: Uint16Array, i4: Int32Array, u4: Uint32Array,
};
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


// --- The binary message ------------------------------------------------------------------------

function unpack(data) {
  if (!(data instanceof Uint8Array) && !(data instanceof ArrayBuffer)) return { header: data, arrays: {} };
  const bytes = new Uint8Array(data);  // a copy: aligned at 0 whatever the protobuf's offset
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== "DVW1") throw new Error("the view's data is not a DVW1 message");
  const length = new DataView(bytes.buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  const base = 8 + length + ((8 - ((8 + length) % 8)) % 8);
  const arrays = {};
  for (const [name, [offset, size, dtype]] of Object.entries(header.buffers || {})) {
    const Ctor = DTYPES[dtype];
    arrays[name] = new Ctor(bytes.buffer, base + offset, size / Ctor.BYTES_PER_ELEMENT);
  }
  return { header, arrays };
}

// References → typed arrays; a 2-D array becomes rows (what Plotly takes for a surface's z).
function revive(value, arrays) {
  if (Array.isArray(value)) return value.map((v) => revive(v, arrays));
  if (value && typeof value === "object" && !ArrayBuffer.isView(value)) {
    if (typeof value.$b === "string") {
      const flat = arrays[value.$b];
      if (!flat) throw new Error(`missing buffer ${value.$b}`);
      const shape = value.shape || [flat.length];
      if (shape.length === 2 && !value.flat) {
        const rows = [];
        for (let r = 0; r < shape[0]; r++) rows.push(flat.subarray(r * shape[1], (r + 1) * shape[1]));
        return rows;
      }
      if (shape.length > 2) flat.shape = shape;  // frames (K × ny × nx) are cut by their shape
      return flat;
    }
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = revive(v, arrays);
    return out;
  }
  return value;
}

function flatRef(ref, arrays) {
  return arrays[ref.$b];
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

// --- Paths: what the overlay draws ---------------------------------------------------------------

// The paths of the views at one η stop, in each view's coordinates: {x, y, z?, n} per run, plus
// the loss axis and the divergence epochs.
function pathsFromFigures(models) {
  const out = { stop: null, axis: null, diverged: new Map(), views: {} };
  for (const view of VIEWS) out.views[view] = models[view] ? models[view].own : new Map();
  return out;
}

// The path set (every run at every sent stop) → the views' coordinates at stop `stop`,
// exactly as figures/descent.py turns a trajectory into traces.
class PathSet {
  constructor(spec, arrays) {
    this.key = spec.key;
    this.stops = spec.stops.map(Number);
    this.rowOf = new Map(spec.rows.map((stop, i) => [stop, i]));
    this.scene = spec.scene;
    this.axes = new Map(spec.rows.map((stop, i) => [stop, spec.lossAxes[i]]));
    this.complete = Boolean(spec.complete);
    this.runs = spec.runs.map((run) => ({
      fixed: run.fixed, params: flatRef(run.params, arrays), loss: flatRef(run.loss, arrays),
      epochs: run.loss.shape[1], last: run.last, diverged: run.diverged,
    }));
    this.cache = new Map();
  }

  has(stop) { return this.rowOf.has(stop); }

  // Stops sent earlier keep their rows when more arrive (the rest of the set after first paint).
  merge(older) {
    if (!older || older.key !== this.key) return;
    for (const [stop, row] of older.rowOf) {
      if (this.rowOf.has(stop)) continue;
      this.extra = this.extra || new Map();
      this.extra.set(stop, { older, row });
      this.rowOf.set(stop, -1);
      this.axes.set(stop, older.axes.get(stop));
    }
  }

  at(stop) {
    if (this.cache.has(stop)) return this.cache.get(stop);
    if (!this.rowOf.has(stop)) return null;
    let source = this;
    let row = this.rowOf.get(stop);
    if (row < 0) ({ older: source, row } = this.extra.get(stop));
    const { floor, hmin, hmax, lift, log, box } = source.scene;
    const axis = source.axes.get(stop) || { log: false, shift: 0, ceiling: Infinity };
    const out = { stop, axis, diverged: new Map(), views: { surface3d: new Map(), contour: new Map(), loss: new Map() } };
    source.runs.forEach((run, r) => {
      const k = run.fixed ? 0 : row;
      const E = run.epochs;
      const n = Math.min(E, run.last[k] + 1);
      const x = new Float64Array(n), y = new Float64Array(n), z = new Float64Array(n);
      const ex = new Float64Array(n), ly = new Float64Array(n);
      for (let e = 0; e < n; e++) {
        const px = run.params[(k * E + e) * 2];
        const py = run.params[(k * E + e) * 2 + 1];
        const loss = run.loss[k * E + e];
        const inside = Number.isFinite(px) && Number.isFinite(py)
          && px >= box[0] && px <= box[1] && py >= box[2] && py <= box[3];
        x[e] = inside ? px : NaN;
        y[e] = inside ? py : NaN;
        const h = log ? Math.log10(1 + Math.max(loss - floor, 0)) : loss;
        const zz = Math.min(Math.max(h, hmin), hmax) + lift;
        z[e] = inside && Number.isFinite(zz) ? zz : NaN;
        ex[e] = e;
        let v = Number.isFinite(loss) ? Math.min(loss - axis.shift, axis.ceiling) : NaN;
        // below the axis's bottom (a surface with no minimum, off the map): drawn at the bottom;
        // an exact 0 on a log axis: drawn at its zero level, so the line does not stop short
        if (axis.bottom != null && v < axis.bottom) v = axis.bottom;
        if (axis.log && !(v > 0)) v = Number.isFinite(v) && axis.zero ? axis.zero : NaN;
        ly[e] = v;
      }
      const key = String(r);
      out.views.surface3d.set(key, { x, y, z, n });
      out.views.contour.set(key, { x, y, n });
      out.views.loss.set(key, { x: ex, y: ly, n });
      if (run.diverged[k] >= 0) out.diverged.set(key, run.diverged[k]);
      // The trajectory itself, for tests: the engine's weights at this stop.
      out.views.contour.get(key).params = run.params.subarray(k * E * 2, (k * E + n) * 2);
    });
    this.cache.set(stop, out);
    return out;
  }
}

// The loss axis of a stop: its type, title and range over the paths on screen.
function lossLayout(axis, paths) {
  let lo = Infinity, hi = -Infinity;
  for (const p of paths.values()) {
    for (let i = 0; i < p.n; i++) {
      const v = p.y[i];
      if (!Number.isFinite(v)) continue;
      const w = axis.log ? Math.log10(v) : v;
      if (w < lo) lo = w;
      if (w > hi) hi = w;
    }
  }
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  // a level the axis must reach (the dotted "within tolerance" line whose legend is shown)
  if (axis.include != null && (!axis.log || axis.include > 0)) {
    const w = axis.log ? Math.log10(axis.include) : axis.include;
    lo = Math.min(lo, w); hi = Math.max(hi, w);
  }
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 0.5;
  return {
    "yaxis.type": axis.log ? "log" : "linear",
    "yaxis.title.text": axis.title || "loss",
    "yaxis.dtick": axis.log ? axis.dtick : null,
    "yaxis.tick0": axis.log ? axis.tick0 : null,
    "yaxis.range": [lo - pad, hi + pad],
    "yaxis.autorange": false,
  };
}

// --- Overlays --------------------------------------------------------------------------------

function matVec(m, v) {
  const r = [0, 0, 0, 0];
  for (let i = 0; i < 4; ++i) for (let j = 0; j < 4; ++j) r[j] += m[4 * i + j] * v[i];
  return r;
}

// A projector for a scene: data (x, y, z) -> [px, py] in the plot div's CSS pixels, as Plotly
// places its own 3D hover labels and annotations (projection · view · model · dataScale).
function sceneProjector(div) {
  const fl = div._fullLayout;
  const scene = fl && fl.scene && fl.scene._scene;
  if (!scene || !scene.glplot || !scene.glplot.cameraParams) return null;
  const cam = scene.glplot.cameraParams;
  const ds = scene.dataScale || [1, 1, 1];
  const box = scene.container.getBoundingClientRect();
  const own = div.getBoundingClientRect();
  const w = box.width, h = box.height, ox = box.left - own.left, oy = box.top - own.top;
  const pvm = mul(cam.projection, mul(cam.view, cam.model));
  return (x, y, z) => {
    const p = matVec(pvm, [x * ds[0], y * ds[1], z * ds[2], 1]);
    if (!(p[3] > 0)) return null;
    return [ox + (0.5 + 0.5 * p[0] / p[3]) * w, oy + (0.5 - 0.5 * p[1] / p[3]) * h];
  };
}

// a · b for column-major 4×4 matrices (gl-matrix's layout).
function mul(a, b) {
  const out = new Array(16).fill(0);
  for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) {
    let s = 0;
    for (let k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
    out[c * 4 + r] = s;
  }
  return out;
}

function planeProjector(div) {
  const fl = div._fullLayout;
  const xa = fl && fl.xaxis;
  const ya = fl && fl.yaxis;
  if (!xa || !ya || typeof xa.c2p !== "function" || !xa._length) return null;
  const fn = (x, y) => {
    const px = xa.c2p(x), py = ya.c2p(y);
    return Number.isFinite(px) && Number.isFinite(py) ? [xa._offset + px, ya._offset + py] : null;
  };
  fn.clip = [xa._offset, ya._offset, xa._length, ya._length];
  return fn;
}

class Overlay {
  constructor(div) {
    this.div = div;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "dv-overlay";
    this.canvas.setAttribute("aria-hidden", "true");
    div.appendChild(this.canvas);
    this.ctx = this.canvas.getContext("2d");
    this.drawn = [];  // per run: the points on screen (data coordinates), for tests
  }

  fit() {
    if (!this.canvas.isConnected) this.div.appendChild(this.canvas);
    const ratio = window.devicePixelRatio || 1;
    const w = this.div.clientWidth, h = this.div.clientHeight;
    if (this.canvas.width !== Math.round(w * ratio) || this.canvas.height !== Math.round(h * ratio)) {
      this.canvas.width = Math.round(w * ratio);
      this.canvas.height = Math.round(h * ratio);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${h}px`;
    }
    this.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.ctx.clearRect(0, 0, w, h);
  }

  // Draw every visible run's path up to `epoch` and its head at `epoch`.
  draw(model, paths, epoch, project, diverged) {
    this.fit();
    this.drawn = [];
    if (!model || !paths || !project) return;
    const ctx = this.ctx;
    ctx.save();
    if (project.clip) {
      ctx.beginPath();
      ctx.rect(...project.clip);
      ctx.clip();
    }
    const input = this.div.data || [];
    for (const [run, style] of model.styles) {
      const p = paths.get(run);
      const path = style.path;
      const shown = input[path ? path.index : -1];
      if (!p || !path || (shown && shown.visible !== undefined && shown.visible !== true)) {
        this.drawn.push({ run, n: 0, head: null });
        continue;
      }
      const n = Math.max(0, Math.min(epoch + 1, p.n));
      const pts = new Array(n);
      for (let i = 0; i < n; i++) pts[i] = p.z ? project(p.x[i], p.y[i], p.z[i]) : project(p.x[i], p.y[i]);
      if (path.mode.includes("lines")) {
        ctx.strokeStyle = path.color;
        ctx.lineWidth = path.width;
        ctx.lineJoin = "round";
        ctx.beginPath();
        let pen = false;
        for (let i = 0; i < n; i++) {
          const q = pts[i];
          if (!q || !Number.isFinite(p.x[i]) || !Number.isFinite(p.y[i])) { pen = false; continue; }
          if (pen) ctx.lineTo(q[0], q[1]); else ctx.moveTo(q[0], q[1]);
          pen = true;
        }
        ctx.stroke();
      }
      if (path.mode.includes("markers")) {
        ctx.fillStyle = path.color;
        const r = path.size / 2;
        ctx.beginPath();
        for (let i = 0; i < n; i++) {
          const q = pts[i];
          if (!q || !Number.isFinite(p.x[i]) || !Number.isFinite(p.y[i])) continue;
          ctx.moveTo(q[0] + r, q[1]);
          ctx.arc(q[0], q[1], r, 0, 2 * Math.PI);
        }
        ctx.fill();
      }
      let head = null;
      const k = Math.min(epoch, p.n - 1);
      const hs = style.head;
      if (hs && k >= 0 && Number.isFinite(p.x[k]) && Number.isFinite(p.y[k])) {
        const q = p.z ? project(p.x[k], p.y[k], p.z[k]) : project(p.x[k], p.y[k]);
        if (q) {
          ctx.beginPath();
          ctx.arc(q[0], q[1], hs.size / 2, 0, 2 * Math.PI);
          ctx.fillStyle = hs.color;
          ctx.fill();
          if (hs.outline && hs.outlineWidth) {
            ctx.strokeStyle = hs.outline;
            ctx.lineWidth = hs.outlineWidth;
            ctx.stroke();
          }
          head = q;
        }
      }
      // The loss curve: a dotted line at the epoch the run diverged.
      if (diverged && diverged.has(run) && project.clip) {
        const xa = this.div._fullLayout.xaxis;
        const px = xa._offset + xa.c2p(diverged.get(run));
        if (Number.isFinite(px)) {
          ctx.save();
          ctx.setLineDash([3, 4]);
          ctx.strokeStyle = path.color;
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.moveTo(px, project.clip[1]);
          ctx.lineTo(px, project.clip[1] + project.clip[3]);
          ctx.stroke();
          ctx.restore();
        }
      }
      this.drawn.push({ run, n, head, points: pts });
    }
    ctx.restore();
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
    this.lrGroup = this.root.querySelector(".dv-lr-group");
    this.lrSlider = this.root.querySelector(".dv-lr");
    this.lrLabel = this.root.querySelector(".dv-lr-label");
    this.message = this.root.querySelector(".dv-message");
    this.divs = {};
    this.overlays = {};
    for (const view of VIEWS) {
      this.divs[view] = this.root.querySelector(`.dv-${view}`);
      this.overlays[view] = new Overlay(this.divs[view]);
    }
    this.models = {};
    this.pathSet = null;
    this.current = null;  // the paths on screen: pathSet.at(stop), or the figures' own
    this.stop = null;  // the η stop on screen
    this.wantStop = null;  // the η stop the slider shows (not on screen until its paths are here)
    this.lossAxisKey = null;
    this.token = null;
    this.speed = "normal";
    this.epochs = 0;
    this.epoch = 0;
    this.playing = false;
    this.playStart = 0;  // performance.now() at which epoch 0 would have been shown
    this.dirty = new Set();
    this.viewFrames = Object.fromEntries(VIEWS.map((v) => [v, 0]));
    this.frameShown = Object.fromEntries(VIEWS.map((v) => [v, []]));
    this.framesBusy = Object.fromEntries(VIEWS.map((v) => [v, false]));
    this.reportEpoch = false;
    this.reportLr = false;
    this.sentEpoch = null;
    this.awaitLr = null;
    this.askedFull = null;
    this.setStateValue = null;
    this.setTriggerValue = null;
    this.reacting = false;
    this.pending = null;
    this.applying = false;
    this.raf = 0;
    this.lrRaf = 0;
    this.frames = 0;
    this.eventsBound = false;
    this.destroyed = false;

    this.tick = this.tick.bind(this);
    this.onPythonLr = (ev) => this.pythonLr(ev.detail);
    window.addEventListener("descent-view-lr", this.onPythonLr);
    this.button.addEventListener("click", () => this.togglePlay());
    this.slider.addEventListener("input", () => this.scrub(Number(this.slider.value)));
    // "change": the slider was released (or a key moved it): the epoch is settled.
    this.slider.addEventListener("change", () => {
      this.scrub(Number(this.slider.value));
      this.reportEpochToPython();
    });
    this.lrSlider.addEventListener("input", () => this.chooseStop(Number(this.lrSlider.value)));
    this.lrSlider.addEventListener("change", () => {
      this.chooseStop(Number(this.lrSlider.value));
      this.reportLrToPython();
    });
    this.root.addEventListener("keydown", (ev) => {
      // Space on a slider toggles playback, as it does on the button.
      if (ev.key === " " && (ev.target === this.slider || ev.target === this.lrSlider)) {
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
        for (const div of targets) {
          if (div._fullLayout) window.Plotly.Plots.resize(div);
          this.dirty.add(div.dataset.view);
        }
        this.requestTick();
      });
    });
    for (const view of VIEWS) this.resizer.observe(this.divs[view]);
  }

  // New data from Python. Updates are applied one at a time; only the newest waiting one is kept.
  update(data) {
    // For the benchmark: the size of each message the view received.
    (window.__dvMessageBytes = window.__dvMessageBytes || []).push(data && data.byteLength ? data.byteLength : 0);
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

  // The page asks for `base` px (sized to fit a 1280×720 projector). On a taller window the views
  // grow to fill the window below their top, up to twice that, so a 1920×1080 screen is used.
  fitHeight(base) {
    this.baseHeight = base;
    const top = this.root.getBoundingClientRect().top + window.scrollY;
    const room = window.innerHeight - top - 12;
    const height = window.innerHeight > 800 ? Math.max(base, Math.min(room, 2 * base)) : base;
    this.root.style.height = `${Math.round(height)}px`;
    if (!this.onWindowResize) {
      this.onWindowResize = () => this.fitHeight(this.baseHeight);
      window.addEventListener("resize", this.onWindowResize);
    }
  }

  async apply(raw) {
    const { header: data, arrays } = unpack(raw);
    if (Number.isFinite(data.height)) this.fitHeight(data.height);
    const Plotly = await loadPlotly(data.plotly_url).catch((err) => {
      throw new Error(`${err.message}. ${data.plotly_hint || ""}`.trim());
    });
    if (this.destroyed) return;
    const figures = data.figures || {};
    shareArrays(figures);
    const previous = this.models;
    const models = {};
    for (const view of VIEWS) {
      const key = JSON.stringify(figures[view] || {});
      models[view] = previous[view] && previous[view].key === key ? previous[view]
        : new FigureModel(figures[view], key, arrays);
    }

    // The path set: a new one, or more stops of the one in the browser (the rest after first paint).
    let pathSet = null;
    if (data.paths) {
      pathSet = new PathSet(data.paths, arrays);
      if (this.pathSet && this.pathSet.key === pathSet.key) pathSet.merge(this.pathSet);
    }
    this.reportEpoch = Boolean(data.report_epoch);
    this.reportLr = Boolean(data.report_lr);

    const animation = data.animation || {};
    const speed = animation.speed in SPEED_SECONDS || animation.speed === "instant" ? animation.speed : "normal";
    const figureEpochs = Math.max(...VIEWS.map((v) => models[v].maxEpoch));
    const epochs = Math.max(0, Math.floor(Number.isFinite(animation.epochs) ? animation.epochs : figureEpochs));
    const now = performance.now();
    this.epochs = epochs;
    const restarted = animation.token !== this.token;
    if (restarted) {
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
      this.epoch = clamp(this.epoch, 0, epochs);
      if (speed !== this.speed) {
        this.speed = speed;
        if (this.playing) this.playStart = now - this.fraction() * this.duration() * 1000;
      }
    }

    // Which η is on screen: Python's (from its own small element, see lr_echo.js), unless the
    // user moved the view's slider and Python has not caught up yet.
    let stop = null;
    if (pathSet) {
      const echo = window.__dvPythonLr;
      const fromPython = echo && echo.set === pathSet.key ? echo.lr_index
        : (Number.isInteger(data.lr_index) ? data.lr_index : null);
      stop = this.resolveStop(pathSet, fromPython);
    }
    const current = pathSet ? (stop === null ? null : pathSet.at(stop)) : pathsFromFigures(models);

    // Plotly draws a figure's skeleton only when it changed.
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
        return Promise.resolve(Plotly.react(div, model.traces, layout, PLOT_CONFIG))
          .then(() => { timing.react[view] = performance.now() - t0; });
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
    this.models = models;
    this.pathSet = pathSet;
    this.current = current;
    this.stop = stop;
    this.hook3d();
    for (const view of VIEWS) this.dirty.add(view);
    timing.total = performance.now() - now;
    window.__dvTiming = timing;
    // The clock stood still while Plotly drew (see tick): go on from the epoch on screen, so a
    // slow first draw skips no epochs.
    if (this.playing) this.playStart = performance.now() - this.fraction() * this.duration() * 1000;
    this.bindEvents();
    this.root.dataset.drawn = "1";
    this.root.dataset.token = String(this.token);
    this.root.dataset.updates = String(Number(this.root.dataset.updates || 0) + 1);
    // Python's η may have come (its own element) while this update was being drawn.
    const echo = window.__dvPythonLr;
    if (pathSet && echo && echo.set === pathSet.key) {
      const latest = this.resolveStop(pathSet, echo.lr_index);
      if (latest !== null) this.showStop(latest);
    }
    this.renderControls();
    this.markLr();
    this.requestTick();
    // A large set came as the chosen stop and its neighbours: ask for the rest once drawn.
    if (pathSet && !pathSet.complete && this.reportLr && this.setStateValue && this.askedFull !== pathSet.key) {
      this.askedFull = pathSet.key;
      requestAnimationFrame(() => requestAnimationFrame(() => this.setStateValue("full", pathSet.key)));
    }
  }

  // The loss axis (type, title, range) of the paths on screen, as a relayout and as a key.
  lossKeyFor(model, current) {
    if (!current || !model || !model.styles.size) return "none";
    return JSON.stringify(this.lossAxis(model, current));
  }

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
  }

  mergeLossAxis(layout, model, current) {
    const relayout = this.lossAxis(model, current);
    const yaxis = Object.assign({}, layout.yaxis || {});
    for (const [path, value] of Object.entries(relayout)) {
      const name = path.slice("yaxis.".length);
      if (name === "title.text") yaxis.title = Object.assign({}, yaxis.title || {}, { text: value });
      else yaxis[name] = value;
    }
    layout.yaxis = yaxis;
  }

  // The 3D overlay is redrawn inside the scene's own redraw (camera drag, resize), in its frame.
  hook3d() {
    const div = this.divs.surface3d;
    const scene = div._fullLayout && div._fullLayout.scene && div._fullLayout.scene._scene;
    if (!scene || !scene.glplot || scene.glplot.__dvHooked) return;
    const glplot = scene.glplot;
    const plotlyRender = glplot.onrender;
    glplot.onrender = () => {
      if (plotlyRender) plotlyRender();
      if (!this.reacting) this.paint("surface3d", false);
    };
    glplot.__dvHooked = true;
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

  // One animation frame: move the epoch with the clock while playing, then repaint the overlays
  // that changed, all three in the same frame.
  tick(now) {
    this.raf = 0;
    if (this.destroyed) return;
    if (this.playing && !this.reacting) {
      const t = (now - this.playStart) / (this.duration() * 1000);
      const epoch = clamp(Math.floor(t * this.epochs), 0, this.epochs);
      if (epoch !== this.epoch) { this.epoch = epoch; for (const v of VIEWS) this.dirty.add(v); }
      if (t >= 1) {
        this.epoch = this.epochs;
        this.playing = false;  // not reported: a rerun after every replay would cost a round trip
        for (const v of VIEWS) this.dirty.add(v);
      }
      this.renderControls();
    }
    if (!this.reacting) {
      for (const view of [...this.dirty]) {
        this.dirty.delete(view);
        this.paint(view, true);
      }
    }
    if (this.playing || this.dirty.size) this.requestTick();
  }

  // Paint one view's overlay (and its frames traces) at the epoch on screen.
  paint(view, counted) {
    const model = this.models[view];
    const div = this.divs[view];
    if (!model || !div._fullLayout) return;
    const project = view === "surface3d" ? sceneProjector(div) : planeProjector(div);
    const paths = this.current ? this.current.views[view] : null;
    this.overlays[view].draw(model, paths, this.epoch, project,
      view === "loss" && this.current ? this.current.diverged : null);
    this.paintFrames(view, model, div);
    if (!counted) return;
    this.viewFrames[view] += 1;
    this.root.dataset[`frames${view[0].toUpperCase()}${view.slice(1)}`] = String(this.viewFrames[view]);
    this.frames = Math.max(...VIEWS.map((v) => this.viewFrames[v]));
    this.root.dataset.frames = String(this.frames);
  }

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
  }

  // The stop to show, given Python's η: Python's, unless the user moved the view's slider since
  // and Python has not echoed that yet (a rerun that began before the move carries an older η).
  resolveStop(pathSet, fromPython) {
    let want = fromPython;
    if (this.awaitLr && performance.now() - this.awaitLr.t < LR_ECHO_MS && this.wantStop !== null) {
      if (fromPython === this.awaitLr.stop) this.awaitLr = null;
      want = this.wantStop;
    } else {
      this.awaitLr = null;
    }
    if (!Number.isInteger(want)) want = this.wantStop;
    this.wantStop = Number.isInteger(want) ? want : null;
    if (this.wantStop === null) return null;
    if (pathSet.has(this.wantStop)) return this.wantStop;
    return this.stop !== null && pathSet.has(this.stop) ? this.stop : null;
  }

  // Python's η changed (the sidebar, a link, or the echo of the view's own release).
  pythonLr(detail) {
    if (!this.pathSet || !detail || detail.set !== this.pathSet.key || this.applying) return;
    const stop = this.resolveStop(this.pathSet, detail.lr_index);
    if (stop !== null) this.showStop(stop);
    this.renderControls();
  }

  // The view's η slider moved to `stop`: swap the paths of all three views in this frame, if
  // the browser has them; otherwise they come with Python's answer on release.
  chooseStop(stop) {
    if (!this.pathSet) return;
    this.wantStop = clamp(Math.round(stop), 0, this.pathSet.stops.length - 1);
    if (this.pathSet.has(this.wantStop)) this.showStop(this.wantStop);
    this.renderControls();
    this.requestTick();
  }

  showStop(stop) {
    if (stop !== this.stop || !this.current) {
      this.stop = stop;
      this.current = this.pathSet.at(this.stop);
      const key = this.lossKeyFor(this.models.loss, this.current);
      if (key !== this.lossAxisKey && this.models.loss && this.divs.loss._fullLayout) {
        this.lossAxisKey = key;
        window.Plotly.relayout(this.divs.loss, this.lossAxis(this.models.loss, this.current));
      }
      for (const v of VIEWS) this.dirty.add(v);
      this.markLr();
    }
    this.requestTick();
  }

  // data-lr: the η whose paths are on screen, set once the frame that shows them is painted.
  markLr() {
    if (this.lrRaf) cancelAnimationFrame(this.lrRaf);
    const stop = this.stop;
    const value = this.pathSet && stop !== null ? String(this.pathSet.stops[stop]) : "";
    this.lrRaf = requestAnimationFrame(() => {
      this.lrRaf = requestAnimationFrame(() => {
        this.lrRaf = 0;
        this.root.dataset.lr = value;
      });
    });
  }

  reportLrToPython() {
    if (!this.reportLr || !this.setStateValue || this.wantStop === null) return;
    this.awaitLr = { stop: this.wantStop, t: performance.now() };
    this.root.dataset.sentLr = String(this.pathSet.stops[this.wantStop]);
    this.setStateValue("lr", this.wantStop);
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
    for (const v of VIEWS) this.dirty.add(v);
    this.renderControls();
    this.requestTick();
  }

  scrub(epoch) {
    this.playing = false;
    const next = clamp(Math.round(epoch), 0, this.epochs);
    if (next !== this.epoch) for (const v of VIEWS) this.dirty.add(v);
    this.epoch = next;
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
    const set = this.pathSet;
    this.lrGroup.hidden = !set;
    if (set && this.wantStop !== null) {
      const max = String(set.stops.length - 1);
      if (this.lrSlider.max !== max) this.lrSlider.max = max;
      if (this.lrSlider.value !== String(this.wantStop)) this.lrSlider.value = String(this.wantStop);
      const text = `η = ${formatLr(set.stops[this.wantStop])}`;
      this.lrSlider.setAttribute("aria-valuetext", text);
      this.lrLabel.textContent = text;
      this.root.dataset.lrStops = String(set.rowOf.size);
    }
  }

  // Events bound once the plots exist: repainting overlays after Plotly's own redraws, clicks.
  bindEvents() {
    if (this.eventsBound) return;
    this.eventsBound = true;
    for (const view of VIEWS) {
      const again = () => { this.dirty.add(view); this.requestTick(); };
      this.divs[view].on("plotly_afterplot", again);
      this.divs[view].on("plotly_relayouting", again);
      this.divs[view].on("plotly_relayout", () => { if (view === "surface3d") this.hook3d(); again(); });
    }
    this.bindClicks(this.divs.contour);
  }

  // For tests: the paths on screen in a view, per run: points drawn and the data behind them.
  onScreen(view) {
    const paths = this.current ? this.current.views[view] : null;
    return this.overlays[view].drawn.map((d) => {
      const p = paths && paths.get(d.run);
      return {
        run: Number(d.run), n: d.n, head: d.head,
        x: p ? Array.from(p.x.subarray(0, d.n), finiteOrNull) : [],
        y: p ? Array.from(p.y.subarray(0, d.n), finiteOrNull) : [],
        params: p && p.params ? Array.from(p.params.subarray(0, 2 * d.n)) : null,
      };
    });
  }

  // For tests: where the overlay puts the data point (x, y, z) of the 3D view, in page pixels.
  project3d(x, y, z) {
    const div = this.divs.surface3d;
    const project = sceneProjector(div);
    const q = project && project(x, y, z);
    if (!q) return null;
    const box = div.getBoundingClientRect();
    return [box.left + q[0], box.top + q[1]];
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
    window.removeEventListener("descent-view-lr", this.onPythonLr);
    if (this.raf) cancelAnimationFrame(this.raf);
    this.resizer.disconnect();
    if (this.onWindowResize) window.removeEventListener("resize", this.onWindowResize);
    if (window.Plotly) for (const view of VIEWS) window.Plotly.purge(this.divs[view]);
    if (this.parent[INSTANCE_KEY] === this) delete this.parent[INSTANCE_KEY];
  }
}

function finiteOrNull(v) {
  return Number.isFinite(v) ? v : null;
}

function formatLr(value) {
  return Number(value).toPrecision(3).replace(/\.?0+$/, "").replace(/\.?0+e/, "e");
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
