// Class mode's follower: polls the class's small JSON state (classroom/routes.py) every 1-2 s
// with its ETag (a 304 costs the server almost nothing) and asks Streamlit for a rerun only when
// what this page shows is out of date: the class's version (a new question, the reveal), and for
// the teacher also the counts. A reveal is first announced to the page's descent view (a window
// event), which plays the run it holds hidden at once; the rerun that draws the answers follows. Without the route (the page run without serving/web.py) it falls
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
    // A page drawn after the reveal (its rerun, a reload): the view shows the run at once.
    if (data.reveal) this.announce(data.reveal);
    // The teacher's page: the secret in a cookie (Python reads it from st.context.cookies), so a
    // reload, whose address bar holds only ?class=CODE for the projector, stays the teacher's.
    const teacher = data.teacher;
    if (teacher && /^dl_teacher_[0-9A-Z]+$/.test(teacher.name) && typeof teacher.secret === "string") {
      document.cookie = `${teacher.name}=${encodeURIComponent(teacher.secret)}; SameSite=Strict; path=/; max-age=43200`;
    }
    if (!this.timer) this.timer = setTimeout(this.poll, this.jitter());
  }

  jitter() {
    // Spread 200 followers over the interval instead of polling in step.
    const every = this.data.interval_ms || 1500;
    return every * (0.75 + 0.5 * Math.random());
  }

  // Tell the descent view in this document (assets/descent_view) that a question was revealed:
  // it shows the run it already holds and plays it on the reveal's clock, without a rerun. Kept
  // on window too, for a view whose message arrives after this.
  announce(reveal) {
    if (!reveal || typeof reveal.question !== "string" || !Number.isFinite(Number(reveal.revealed_at))) return;
    const detail = { question: reveal.question, revealed_at: Number(reveal.revealed_at) };
    const known = window.__descentLabReveal;
    if (known && known.question === detail.question && known.revealed_at === detail.revealed_at) return;
    window.__descentLabReveal = detail;
    this.marks.dataset.classRevealed = detail.question;
    window.dispatchEvent(new CustomEvent("descent-lab-reveal", { detail }));
  }

  // The rerun for a new class state; a student's, after a reveal, waits a random share of
  // spread_ms so a class's pages do not all rerun at once (the run plays already), and starts
  // only once every page has had its poll (an interval and a half after the reveal): 200 reruns
  // at once starve the server's polls, and a late poll is a late run.
  ask(key, state) {
    this.asked = key;
    const spread = Number(this.data.spread_ms) || 0;
    let wait = 0;
    if (state && state.phase === "revealed" && spread > 0) {
      const serverNow = Date.now() / 1000 + (window.__descentLabServerOffset || 0);
      const quiet = 1.5 * (this.data.interval_ms || 1500) / 1000;
      const after = Number(state.revealed_at) + quiet - serverNow;
      wait = 1000 * Math.min(quiet, Math.max(0, Number.isFinite(after) ? after : 0)) + Math.random() * spread;
    }
    clearTimeout(this.rerunTimer);
    this.rerunTimer = setTimeout(() => {
      this.marks.dataset.classReruns = String(Number(this.marks.dataset.classReruns || 0) + 1);
      this.trigger("changed", key);
    }, wait);
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
        if (state.phase === "revealed" && state.question) {
          this.announce({ question: state.question, revealed_at: state.revealed_at });
        }
        const key = this.keyOf(state);
        if (key !== this.data.seen && key !== this.asked) this.ask(key, state);
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
    clearTimeout(this.rerunTimer);
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
