// The path set: every run's trajectory at every η stop the page sent, turned into each view's
// coordinates at the stop on screen (as figures/descent.py draws a trajectory), with the loss
// curve's axis for that stop.

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
      evals: run.evals ? flatRef(run.evals, arrays) : null,  // the loss curve's x, when it counts evaluations
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
        ex[e] = run.evals ? run.evals[k * E + e] : e;
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
  // The ends snap outward to a coarse grid (half a decade on a log axis, half the span's decade
  // on a linear one), so neighbouring η stops mostly share one axis and a step of the view's η
  // slider seldom makes Plotly redraw the loss axis (a relayout costs 20–45 ms).
  const grid = axis.log ? 0.5 : 10 ** Math.floor(Math.log10(Math.max(hi - lo, 1e-300))) / 2;
  const snap = (value, round) => (Number.isFinite(grid) && grid > 0 ? round(value / grid) * grid : value);
  return {
    "yaxis.type": axis.log ? "log" : "linear",
    "yaxis.title.text": axis.title || "loss",
    "yaxis.dtick": axis.log ? axis.dtick : null,
    "yaxis.tick0": axis.log ? axis.tick0 : null,
    "yaxis.range": [snap(lo - pad, Math.floor), snap(hi + pad, Math.ceil)],
    "yaxis.autorange": false,
  };
}
