// The overlays and their projection: a canvas over each plot on which the runs' paths and moving
// heads are drawn, placed with the 3D scene's own camera matrices or the 2D axes' data-to-pixel maps.

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
