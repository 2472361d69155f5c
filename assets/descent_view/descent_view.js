// The descent view: one long-lived instance per component that holds the three plots and hands
// each message from Python to its parts (wire.js, path_set.js, overlay.js, playback.js,
// skeleton.js; ui/descent_view.py joins the files in that order, this one last).
//
// Plotly draws the three figures' skeletons (surface, filled contours, axes, legend); the
// component draws the runs' paths and heads on a canvas over each plot, and plays the descent
// back in the browser. The 3D dots are projected with the scene's own camera, in the same frame as
// the scene's own redraw (also while it is dragged); the WebGL scene and the filled contour are
// never redrawn for a new epoch or a new learning rate.
//
// Streamlit calls the default export on mount and again whenever `data` changes, with the same
// parentElement and without running the previous call's cleanup, so one long-lived instance is
// kept on the parent element and each call only hands it the new data.

const VIEWS = ["surface3d", "contour", "loss"];
const INSTANCE_KEY = "__descentView";

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

    // Class mode: the question whose reveal shows the run (null: nothing hidden), and whether
    // the run is hidden now (no paths, heads or loss curve drawn, no playback).
    this.hiddenFor = null;
    this.hidden = false;

    this.tick = this.tick.bind(this);
    this.onPythonLr = (ev) => this.pythonLr(ev.detail);
    window.addEventListener("descent-view-lr", this.onPythonLr);
    // assets/class_follow announces a reveal in the same document: the run plays at once,
    // before (and whatever the timing of) the page's rerun.
    this.onReveal = (ev) => this.reveal(ev.detail);
    window.addEventListener("descent-lab-reveal", this.onReveal);
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
          // A view being taken off the page (class mode hides the run) reports a zero size:
          // Plotly refuses to resize a plot that is not displayed.
          // Shown again at the size Plotly drew it (Streamlit hid the element for a moment): no
          // redraw, the 3D scene's and the map's redraws are the dearest on the page.
          const drawnAt = div.__dvDrawnAt;
          const same = drawnAt && drawnAt[0] === div.clientWidth && drawnAt[1] === div.clientHeight;
          if (div._fullLayout && !same && div.isConnected && div.offsetParent !== null) {
            window.Plotly.Plots.resize(div);
            div.__dvDrawnAt = [div.clientWidth, div.clientHeight];
          }
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
        this.reportPainted();
      }
      this.applying = false;
    })();
  }

  // Tell Python once that the views are drawn (or could not be): the page sends what lies under
  // the views only then, so none of it competes with the first paint (state "painted").
  reportPainted() {
    if (this.paintedSent || !this.setStateValue || this.destroyed) return;
    this.paintedSent = true;
    this.root.dataset.painted = "1";
    requestAnimationFrame(() => requestAnimationFrame(() => this.setStateValue("painted", true)));
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
      // Class mode's reveal: the playback started at the teacher's click (`started_at`, on the
      // server's clock; class_follow.js keeps this browser's offset to it), so every screen
      // shows the class's epoch, however late its page arrived.
      const since = Number.isFinite(animation.started_at)
        ? Math.max(0, (Date.now() / 1000 + (window.__descentLabServerOffset || 0)) - animation.started_at)
        : null;
      this.anchor = since !== null && this.playing ? now - since * 1000 : null;
      if (this.anchor !== null) {
        const t = since / this.duration();
        this.epoch = clamp(Math.floor(t * epochs), 0, epochs);
        this.playStart = this.anchor;
        if (t >= 1) { this.epoch = epochs; this.playing = false; }
      }
    } else {
      this.epoch = clamp(this.epoch, 0, epochs);
      if (speed !== this.speed) {
        this.speed = speed;
        if (this.playing) this.playStart = now - this.fraction() * this.duration() * 1000;
      }
    }
    // Class mode: the run came hidden for a question; shown once its reveal is announced (the
    // follower's event, or its note of it if that came before this message).
    const hiddenFor = typeof animation.hidden === "string" && animation.hidden ? animation.hidden : null;
    const wasHidden = this.hidden;
    const known = window.__descentLabReveal;
    const announced = hiddenFor !== null && known && known.question === hiddenFor ? known : null;
    this.hiddenFor = hiddenFor;
    this.hidden = hiddenFor !== null && !announced;
    this.root.dataset.hidden = this.hidden ? "1" : "0";
    if (this.hidden) {
      this.playing = false;
      this.epoch = 0;
      this.anchor = null;
    } else if (announced && (restarted || wasHidden)) {
      this.playFrom(Number(announced.revealed_at), "message");
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

    const timing = await this.drawSkeletons(Plotly, models, previous, current, now);
    this.models = models;
    this.pathSet = pathSet;
    this.current = current;
    this.stop = stop;
    this.hook3d();
    this.syncHidden();
    for (const view of VIEWS) this.dirty.add(view);
    timing.total = performance.now() - now;
    window.__dvTiming = timing;
    // The clock stood still while Plotly drew (see tick): go on from the epoch on screen, so a
    // slow first draw skips no epochs.
    // A class's playback keeps the class's clock instead.
    if (this.playing) {
      this.playStart = this.anchor != null ? this.anchor
        : performance.now() - this.fraction() * this.duration() * 1000;
    }
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

  // The follower saw this question revealed: show the run and play it on the reveal's clock.
  reveal(detail) {
    if (!detail || !this.hidden || detail.question !== this.hiddenFor) return;
    this.hidden = false;
    this.root.dataset.hidden = "0";
    this.syncHidden();
    this.playFrom(Number(detail.revealed_at), "event");
  }

  // Play as if playback had started at `started` (Unix seconds on the server's clock), as every
  // screen of the class does; `by` (for tests): what showed the run, "event" or "message".
  playFrom(started, by) {
    const now = performance.now();
    const since = Number.isFinite(started)
      ? Math.max(0, Date.now() / 1000 + (window.__descentLabServerOffset || 0) - started) : 0;
    if (this.speed === "instant" || this.epochs === 0) {
      this.epoch = this.epochs;
      this.playing = false;
      this.anchor = null;
    } else {
      const t = since / this.duration();
      this.anchor = now - since * 1000;
      this.playStart = this.anchor;
      this.playing = t < 1;
      this.epoch = t < 1 ? clamp(Math.floor(t * this.epochs), 0, this.epochs) : this.epochs;
    }
    this.root.dataset.revealedBy = by;
    this.root.dataset.revealedAtUpdate = String(Number(this.root.dataset.updates || 0));
    for (const v of VIEWS) this.dirty.add(v);
    this.renderControls();
    this.requestTick();
  }

  showMessage(text) {
    this.message.hidden = !text;
    this.message.textContent = text || "";
  }

  destroy() {
    this.destroyed = true;
    window.removeEventListener("descent-view-lr", this.onPythonLr);
    window.removeEventListener("descent-lab-reveal", this.onReveal);
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

Object.assign(DescentView.prototype, PLAYBACK, SKELETON);

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
