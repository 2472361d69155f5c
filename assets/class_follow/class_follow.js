// Class mode's follower: polls the class's small JSON state (classroom/routes.py) every 1-2 s
// with its ETag (a 304 costs the server almost nothing) and asks Streamlit for a rerun only when
// what this page shows is out of date: the class's version (a new question, the reveal), and for
// the teacher also the counts. Without the route (the page run without serving/web.py) it falls
// back to a rerun every FALLBACK_MS.
//
// Streamlit calls the default export on mount and whenever `data` changes, with the same
// parentElement: one poller is kept on the element and each call only hands it the new data.

const FALLBACK_MS = 5000;
const KEY = "__classFollow";

class Follower {
  constructor(parent) {
    this.parent = parent;
    // The polls' count and the class's version, for tests and curious eyes.
    this.marks = parent.querySelector(".class-follow") || document.createElement("span");
    this.etag = null;
    this.asked = null;  // the key we last asked a rerun for
    this.timer = 0;
    this.stopped = false;
    this.poll = this.poll.bind(this);
  }

  set(data, trigger) {
    const changedUrl = this.data && this.data.url !== data.url;
    this.data = data;
    this.trigger = trigger;
    if (changedUrl) this.etag = null;
    if (!this.timer) this.timer = setTimeout(this.poll, this.jitter());
  }

  jitter() {
    // Spread 200 followers over the interval instead of polling in step.
    const every = this.data.interval_ms || 1500;
    return every * (0.75 + 0.5 * Math.random());
  }

  keyOf(state) {
    return this.data.watch === "counts"
      ? `${state.version}:${state.joined}:${state.answered}` : String(state.version);
  }

  async poll() {
    this.timer = 0;
    if (this.stopped || !this.parent.isConnected) return;
    let next = this.jitter();
    try {
      const headers = this.etag ? { "If-None-Match": this.etag } : {};
      const sent = Date.now();
      const response = await fetch(this.data.url, { headers, cache: "no-store", credentials: "same-origin" });
      // The server's clock against this browser's (half the round trip after it was read):
      // the descent view plays a reveal on the server's clock.
      const serverTime = Number(response.headers.get("X-Server-Time"));
      if (Number.isFinite(serverTime) && serverTime > 0) {
        window.__descentLabServerOffset = serverTime - (sent + Date.now()) / 2000;
      }
      const type = response.headers.get("content-type") || "";
      if (response.status === 200 && type.includes("application/json")) {
        this.etag = response.headers.get("ETag");
        const state = await response.json();
        this.marks.dataset.classVersion = String(state.version);
        this.marks.dataset.classPolls = String(Number(this.marks.dataset.classPolls || 0) + 1);
        const key = this.keyOf(state);
        if (key !== this.data.seen && key !== this.asked) {
          this.asked = key;
          this.trigger("changed", key);
        }
      } else if (response.status === 304) {
        this.marks.dataset.classPolls = String(Number(this.marks.dataset.classPolls || 0) + 1);
      } else if (response.status === 404 && type.includes("application/json")) {
        // The class is gone (ended or expired): one rerun tells the page so.
        if (this.asked !== "gone") { this.asked = "gone"; this.trigger("changed", "gone"); }
        next = FALLBACK_MS;
      } else {
        // No such route here: follow by a plain rerun now and then.
        this.trigger("changed", `tick-${Date.now()}`);
        next = FALLBACK_MS;
      }
    } catch (err) {
      next = FALLBACK_MS;
    }
    if (!this.stopped) this.timer = setTimeout(this.poll, next);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

export default function classFollow(component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!data || !data.url) return undefined;
  let follower = parentElement[KEY];
  if (!follower || follower.stopped) {
    follower = new Follower(parentElement);
    parentElement[KEY] = follower;
  }
  follower.set(data, setTriggerValue);
  return () => setTimeout(() => {
    if (!parentElement.isConnected) follower.stop();
  }, 0);
}
