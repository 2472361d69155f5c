// Playback and the control bar: the clock that moves the epoch, the Play button, the epoch and η
// sliders, and what the view reports to Python when the user settles (the epoch, the η stop).

const SPEED_SECONDS = { slow: 4.0, normal: 2.0, fast: 0.8 };
const LR_ECHO_MS = 8000;  // how long a reported η waits for Python's echo before Python wins again

// DescentView's methods for the clock, the epoch and η sliders, and what they tell Python.
const PLAYBACK = {
  duration() {
    return SPEED_SECONDS[this.speed] || SPEED_SECONDS.normal;
  },

  fraction() {
    return this.epochs > 0 ? this.epoch / this.epochs : 1;
  },

  requestTick() {
    if (!this.raf && !this.destroyed) this.raf = requestAnimationFrame(this.tick);
  },

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
  },

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
  },

  // Python's η changed (the sidebar, a link, or the echo of the view's own release).
  pythonLr(detail) {
    if (!this.pathSet || !detail || detail.set !== this.pathSet.key || this.applying) return;
    const stop = this.resolveStop(this.pathSet, detail.lr_index);
    if (stop !== null) this.showStop(stop);
    this.renderControls();
  },

  // The view's η slider moved to `stop`: swap the paths of all three views in this frame, if
  // the browser has them; otherwise they come with Python's answer on release.
  chooseStop(stop) {
    if (!this.pathSet) return;
    this.wantStop = clamp(Math.round(stop), 0, this.pathSet.stops.length - 1);
    if (this.pathSet.has(this.wantStop)) this.showStop(this.wantStop);
    this.renderControls();
    this.requestTick();
  },

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
  },

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
  },

  reportLrToPython() {
    if (!this.reportLr || !this.setStateValue || this.wantStop === null) return;
    this.awaitLr = { stop: this.wantStop, t: performance.now() };
    this.root.dataset.sentLr = String(this.pathSet.stops[this.wantStop]);
    this.setStateValue("lr", this.wantStop);
  },

  // Tell Python the epoch on screen (state "epoch") when the user has settled on one: playback
  // paused, or the epoch slider released. The same epoch twice is sent once.
  reportEpochToPython() {
    if (!this.reportEpoch || !this.setStateValue || this.epoch === this.sentEpoch) return;
    this.sentEpoch = this.epoch;
    this.root.dataset.sentEpoch = String(this.epoch);
    this.setStateValue("epoch", this.epoch);
  },

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
  },

  scrub(epoch) {
    this.playing = false;
    const next = clamp(Math.round(epoch), 0, this.epochs);
    if (next !== this.epoch) for (const v of VIEWS) this.dirty.add(v);
    this.epoch = next;
    this.renderControls();
    this.requestTick();
  },

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
  },
};

function formatLr(value) {
  return Number(value).toPrecision(3).replace(/\.?0+$/, "").replace(/\.?0+e/, "e");
}
