"""The surface page: runs for the config (cached, streamed with a progress bar), the header and
messages, the three views, and the panels under them."""

from __future__ import annotations

import html
import hashlib
import time
from dataclasses import replace

import numpy as np
import streamlit as st

from figures import descent as figures
from lab import export, lessons
from lab import runs as lab_runs
from lab.config import LR_OPTIONS, PRESETS, Config, to_torch_hyper
from lab.link import code
from ui import cache, explore_panels, panels, sidebar
from ui.descent_view import (FIRST_PAINT_LIMIT, PathRun, PathSet, show_lr_views, show_views,
                             views_painted)
from ui.link_state import show_link_notices

PANELS = ["Summary table", "The five steps", "Curvature and η", "Learning-rate sweep", "Basins",
          "Fair race", "Share and export"]
_UPLOAD_MESSAGE = "upload_message"


def _on_upload() -> None:
    """A saved runs file: refused in words, or loaded with its exact trajectories."""
    upload = st.session_state.get(panels.UPLOAD_KEY)
    if upload is None:
        return
    try:
        config, results = export.from_json(upload.getvalue())
    except export.LoadError as err:
        # The file's name is shown literally (a code span); the loader's words quote the file
        # the same way, so nothing from the file is read as Markdown.
        st.session_state[_UPLOAD_MESSAGE] = ("error", f"Could not load {code(upload.name)}: {err}")
        return
    sidebar.load_config(config)
    for key, result in results.items():  # this session's own: a file is not shared
        cache.put_session("run", key, result)
    st.session_state[_UPLOAD_MESSAGE] = ("success", f"Loaded {code(upload.name)}: the saved runs are shown.")


def surface_grid(config: Config, points: int) -> figures.Grid:
    """The surface's loss on a points × points grid, computed once per server process (shared)."""
    def make() -> figures.Grid:
        with np.errstate(all="ignore"):  # a typed surface may be undefined on part of its box: gaps
            xs, ys, Z = config.surface_obj().grid(points)
        return figures.Grid(np.asarray(xs), np.asarray(ys), np.asarray(Z))

    return cache.cached("grid", (lab_runs.surface_key(config), points), make)


BAR_AFTER_S = 0.25  # training that ends sooner shows no progress bar


def results_for(config: Config) -> list[lab_runs.RunResult]:
    """Every run of the config, from the server's cache or trained now with a progress bar (a
    session asking for a run another session is training waits for that run)."""
    keys = [lab_runs.run_key(config, choice) for choice in config.runs]
    found = [cache.get("run", k) for k in keys]
    missing = [(i, k, c) for i, (k, c, r) in enumerate(zip(keys, config.runs, found)) if r is None]
    # The progress bar's place is on the page in every run, trained or not: an element that came
    # and went would move the views one place down, and Streamlit hides a moved element for the
    # rest of the run (display: none), which made the browser redraw all three views (3D too).
    slot = st.empty()
    if missing:
        total = len(missing) * config.epochs
        every = max(1, config.epochs // 50)
        # The bar shows only for training that takes a while: a run trained in a few tens of ms
        # sent 50 bar updates, each one more message for the browser to draw.
        started = time.monotonic()
        shown = [False]
        for done, (i, key, choice) in enumerate(missing):
            def on_epoch(epoch: int, done=done, choice=choice) -> None:
                if epoch % every or (not shown[0] and time.monotonic() - started < BAR_AFTER_S):
                    return
                shown[0] = True
                slot.progress(min(1.0, (done * config.epochs + epoch) / total),
                              text=f"Training {choice.label}: epoch {epoch} of {config.epochs}")
            found[i] = cache.cached("run", key, lambda: lab_runs.run_one(config, choice, on_epoch))
        if shown[0]:
            slot.empty()
    return found


def plain_text(text: str) -> str:
    """Text shown as itself in st.markdown with HTML allowed: HTML escaped, then every character
    Markdown (or Streamlit's $…$ math) would read as markup escaped with a backslash, so that a typed
    function such as sin(x)*cos(y) keeps its asterisks."""
    escaped = html.escape(text, quote=False)
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|~$:^" else c for c in escaped)


def _header(config: Config, surface, query: dict) -> None:
    title, about = plain_text(surface.title), plain_text(surface.lesson)
    # "Saddle point · saddle point" says it twice: the shape's name alone is enough then.
    words = "" if surface.lesson.strip().lower() in surface.title.lower() else (
        f" &nbsp;·&nbsp; <span style='font-weight:400'>{about}</span>")
    # A class on a projector: the class panel takes the title's place (the sidebar names the
    # surface), so the run's views stay in sight at 1280×720.
    if not (config.presenter and st.session_state.get(sidebar.CLASS_ROLE)):
        st.markdown(f"### {title}{words}", unsafe_allow_html=True)
    show_link_notices(query)
    if _UPLOAD_MESSAGE in st.session_state:
        kind, text = st.session_state.pop(_UPLOAD_MESSAGE)
        (st.error if kind == "error" else st.success)(text)
    if config.lesson:
        lesson = lessons.get(config.lesson)
        changed = replace(config, presenter=False, speed="normal") != replace(
            lesson.config, presenter=False, speed="normal")
        # In presenter mode the sidebar shows the lesson, so the views fill a 1280×720 screen.
        if not config.presenter:
            with st.container(border=True):
                if sidebar.lesson_held():  # a class before its reveal: the words tell the outcome
                    st.markdown(f"**Lesson: {sidebar.lesson_title(config.lesson)}.** {sidebar.LESSON_HELD_LINE}")
                else:
                    st.markdown(f"**Lesson: {lesson.title}.** {lesson.explanation}")
                    st.markdown(f"**What to watch for:** {lesson.watch_for}")
                if changed:
                    st.caption("You have changed this lesson's settings; choose it again in Lessons to reset.")


def _messages(config: Config, surface, results, show: bool = True) -> int:
    """Errors, divergences and runs off the map, above the views; returns how many (`show`
    False: only counts them, for class mode's hidden run, whose view keeps the same height)."""
    messages = 0
    for result in results:
        if result.error:
            if show:
                st.error(f"Could not run {result.error}", icon=":material/warning:")
            messages += 1
        message = lab_runs.divergence_message(config, result, short=config.presenter)
        if message:
            if show:
                st.error(message, icon=":material/error:")
            messages += 1
        outside = lab_runs.outside_message(result, surface.bounds)
        if outside:
            if show:
                st.info(outside, icon=":material/open_in_full:")
            messages += 1
    return messages


def _on_view_click(point) -> None:
    sidebar.set_start(point)


def _on_view_lr(index: int) -> None:
    """The view's η slider was released on stop `index`: it becomes the page's shared η (runs
    with their own η keep it), so the link, the sidebar and the panels follow."""
    st.session_state[sidebar.learning_rate_key()] = LR_OPTIONS[index]


def _stop_index(lr: float) -> int | None:
    return LR_OPTIONS.index(lr) if lr in LR_OPTIONS else None


def _run_views(ran) -> list:
    colors = figures.RUN_COLORS
    return [figures.RunView(label=r.choice.label, color=colors[i % len(colors)],
                            params=r.trajectory.params, loss=r.trajectory.loss,
                            status=r.trajectory.status, diverged_epoch=r.trajectory.diverged_epoch,
                            steps=r.steps, step_loss=r.step_loss, evals=r.trajectory.evals,
                            averaged=r.averaged, averaged_loss=r.averaged_loss,
                            probes=r.probes, probe_loss=r.probe_loss)
            for i, r in enumerate(ran)]


def _figures(config: Config, surface, ran, grid, log: bool) -> dict:
    run_views = _run_views(ran)
    uirevision = f"{figures.UIREVISION_PREFIX}{config.surface}"
    names = _axis_names(surface)
    figs = {
        "surface3d": figures.surface_3d(grid, run_views, surface.minima, log=log, uirevision=uirevision,
                                        axis_names=names),
        "contour": figures.contour_map(grid, run_views, surface.minima, config.start_point(), log=log,
                                       uirevision=uirevision, axis_names=names),
        "loss": figures.loss_curve(run_views, surface.minimum_loss, uirevision=uirevision,
                                   tolerance=lab_runs.TOLERANCE, bottom=_loss_bottom(surface, grid)),
    }
    if config.presenter:
        figs = {name: figures.for_presenter(fig) for name, fig in figs.items()}
    return figs


def _axis_names(surface) -> tuple[str, str]:
    """The weights' names on the axes: a model's own (w and b for a line), as its text says."""
    names = getattr(surface.model, "weight_names", None)
    return tuple(names) if names else ("w1", "w2")


def _data_picture(config: Config, surface, ran) -> None:
    """A data surface's rows and each run's model (line, sigmoid and boundary, or the network's
    curve) at the inspected epoch: the epoch the views were paused or scrubbed at, else the last.
    It follows the epoch on release, not frame by frame during playback."""
    from figures.data_fit import FitRun, data_fit_figure

    if surface.kind != "data" or surface.data is None or surface.model is None or not ran:
        return
    last = max(len(r.trajectory.params) - 1 for r in ran)
    epoch = min(int(st.session_state.get(panels.INSPECT_EPOCH, last)), last)
    colors = figures.RUN_COLORS
    fits = [FitRun(r.choice.label, colors[i % len(colors)],
                   r.trajectory.params[min(epoch, len(r.trajectory.params) - 1)],
                   min(epoch, len(r.trajectory.params) - 1)) for i, r in enumerate(ran)]
    classes = surface.model.name == "logistic_regression"
    what = ("the model p = σ(w·x + b) and its decision boundary (dotted)" if classes else
            "the line ŷ = w·x + b" if surface.model.name == "linear_regression" else
            "the network's curve ŷ = w2·tanh(w1·x)")
    fig = data_fit_figure(surface.data, surface.model, fits, classes=classes, presenter=config.presenter,
                          title=f"The data and {what} at epoch {epoch}")
    st.plotly_chart(fig, key="data_fit", config={"displayModeBar": False})
    st.caption("Pause or scrub the views to see the model at that epoch.")


def _loss_bottom(surface, grid) -> float | None:
    """Where the loss axis stops below on a surface with no minimum (the saddle): its lowest
    loss on the plotted box, since a dot below it is off the map (the axis ran to −1000)."""
    if np.isfinite(surface.minimum_loss):
        return None
    finite = grid.Z[np.isfinite(grid.Z)]
    return float(finite.min()) if finite.size else None


def _scene(grid, log: bool) -> dict:
    """The 3D view's height map, as figures.descent.surface_3d draws it: the height range of the
    grid, dots lifted 1.2% of it above the surface, the box outside which a point is not drawn."""
    finite = grid.Z[np.isfinite(grid.Z)]
    floor = float(finite.min()) if finite.size else 0.0
    h = figures.height(finite, floor, log)
    hmin, hmax = (float(h.min()), float(h.max())) if h.size else (0.0, 1.0)
    return {"floor": floor, "hmin": hmin, "hmax": hmax, "lift": 0.012 * (hmax - hmin or 1.0),
            "log": bool(log), "box": [float(grid.xs[0]), float(grid.xs[-1]),
                                      float(grid.ys[0]), float(grid.ys[-1])]}


def _padded(trajectory, epochs: int, by_evals: bool = False) -> PathRun:
    n = len(trajectory.loss)
    params = np.full((1, epochs + 1, 2), np.nan)
    loss = np.full((1, epochs + 1), np.nan)
    params[0, :n], loss[0, :n] = trajectory.params, trajectory.loss
    diverged = -1 if trajectory.diverged_epoch is None else trajectory.diverged_epoch
    evals = None
    if by_evals:
        evals = np.full((1, epochs + 1), np.nan)
        evals[0, :n] = trajectory.evals
    return PathRun(params, loss, np.array([n - 1]), np.array([diverged]), evals=evals)


def _path_set(config: Config, surface, ran, grid, log: bool, view_key) -> PathSet | None:
    """Every run at every η stop (one vectorized batch per optimizer), as lab.runs.lr_set_plan
    says: all before the first paint when that is cheap and small enough to send at once; when it
    is dearer (or larger than the first message sends: _whole_set_nbytes), first the runs on
    screen (already trained) and the other stops once the browser has drawn and asks for them
    (its state "full" names the set); else only the runs on screen, and each new η reruns."""
    if not ran or _stop_index(config.learning_rate) is None:
        return None
    plan = lab_runs.lr_set_plan(config, [r.choice for r in ran if r.choice.own_lr is None])
    fits = plan != lab_runs.RERUN
    # The whole set does not depend on η (view_key's last part, there for the figures' step
    # dots); without it, the set holds the η on screen only, so it depends on η.
    key = (view_key[:-1], fits, None if fits else config.learning_rate)
    later = plan == lab_runs.AFTER_PAINT or (
        plan == lab_runs.AHEAD and _whole_set_nbytes(config, ran) > FIRST_PAINT_LIMIT)
    if later and cache.get("lr-paths", key) is None:
        asked = (st.session_state.get("descent_view") or {}).get("full")
        if asked != _set_name(key):
            index = _stop_index(config.learning_rate)
            return cache.cached("lr-paths", key + ("first", index), lambda: _build_path_set(
                config, surface, ran, grid, log, key, fits, pending=True))
    return cache.cached("lr-paths", key, lambda: _build_path_set(
        config, surface, ran, grid, log, key, fits))


def _whole_set_nbytes(config: Config, ran) -> int:
    """What PathSet.nbytes says of the whole η set of `ran`, before computing it: each run's
    weights and loss at epochs + 1 points, float32, at every stop (a run with its own η: once).
    Above FIRST_PAINT_LIMIT the first message holds part of the set anyway (the stop on screen
    and its neighbours, ui.descent_view.first_rows); that part is then the stop on screen, from
    the runs already trained, and the set is computed when the browser asks for it, after its
    first paint: the batch of 61 stops costs about as much as the run itself again (its cost is
    Python's per epoch, nearly the same for 5 stops as for 61), and the first paint needs none
    of it."""
    per_row = (config.epochs + 1) * 3 * 4
    return sum(per_row * (1 if r.choice.own_lr is not None else len(LR_OPTIONS)) for r in ran)


def _set_name(key) -> str:
    """The path set's name for the browser: the same for a pending set and the whole one."""
    return hashlib.sha1(repr(key).encode()).hexdigest()[:16]


def _build_path_set(config, surface, ran, grid, log, key, fits: bool,
                    pending: bool = False) -> PathSet:
    """The η set of `key`: every stop (fits), or only the η on screen, from the runs already
    trained (not fits: each new η reruns; pending: the other stops come when the browser asks)."""
    from engine import sweep

    index = _stop_index(config.learning_rate)
    whole = fits and not pending
    rows = tuple(range(len(LR_OPTIONS))) if whole else (index,)
    runs = []
    by_evals = figures.uses_evals_axis(_run_views(ran))  # the loss curve counts evaluations
    for r in ran:
        if r.choice.own_lr is not None or not whole:
            run = _padded(r.trajectory, config.epochs, by_evals)
            runs.append(PathRun(run.params, run.loss, run.last, run.diverged, fixed=r.choice.own_lr is not None,
                                evals=run.evals))
            continue
        batch = sweep.lr_trajectories(
            surface, PRESETS[r.choice.preset].optimizer, to_torch_hyper(r.choice.hyper()),
            lrs=np.array(LR_OPTIONS), start=config.start_point(), epochs=config.epochs,
            batch_size=lab_runs.batch_size(config, r.choice), seed=config.seed,
            clip=lab_runs.make_clip(config, r.choice), schedule=lab_runs.make_schedule(config, r.choice))
        # a gradient-only rule evaluates once a step: epoch × steps per epoch, at every stop
        size = lab_runs.batch_size(config, r.choice)
        per_epoch = 1 if size is None else -(-int(surface.n_samples) // size)
        evals = (np.broadcast_to(np.arange(config.epochs + 1.0) * per_epoch, batch.loss.shape)
                 if by_evals else None)
        runs.append(PathRun(batch.params, batch.loss, np.asarray(batch.stop_epoch),
                            np.asarray(batch.diverged_epoch), evals=evals))
    axes: list = [None] * len(LR_OPTIONS)
    bottom = _loss_bottom(surface, grid)
    # the figure's dotted tolerance line is static: every stop's axis reaches it when drawn
    include = figures.tolerance_level([r.trajectory.loss for r in ran], surface.minimum_loss,
                                      lab_runs.TOLERANCE)
    for i, stop in enumerate(rows):
        losses = []
        for run in runs:
            row = 0 if run.fixed else i
            losses.append(run.loss[row, :int(run.last[row]) + 1])
        axes[stop] = figures.view_loss_axis(losses, surface.minimum_loss, presenter=config.presenter,
                                            bottom=bottom, include=include)
    note = "" if fits else (
        "The view's η slider reruns the page on release: every η ahead would take too long here "
        "(too many optimizers × epochs × mini-batches).")
    return PathSet(tuple(LR_OPTIONS), rows, tuple(runs), _scene(grid, log), tuple(axes),
                   _set_name(key), note, pending=pending)


def render(config: Config, query: dict, started_at: float | None = None,
           hidden: str | None = None) -> None:
    """The page for a config; `started_at`: class mode's reveal on the server's clock (the views
    play in step with the class); `hidden`: class mode's question (a student's page): the views
    come with the run but show none of it until the page's follower announces that question's
    reveal (with its time), and, before the reveal (no `started_at`), nothing that tells the run
    (messages, panels) is drawn. After it the view's message stays byte-identical to the one
    sent while the question was open (no `started_at` in it), so the reveal's rerun resends it as
    a reference only."""
    secret = hidden is not None and started_at is None
    view_started = None if hidden is not None else started_at
    surface = config.surface_obj()
    results = results_for(config)
    _header(config, surface, query)
    # One container, so the views keep their place when the messages appear at a class's reveal.
    with st.container(key="run_messages"):
        messages = _messages(config, surface, results, show=not secret)

    # --- Views: one browser component draws and animates all three. -------------------------
    ran = [r for r in results if r.trajectory is not None]
    grid = surface_grid(config, lab_runs.GRID_POINTS)
    log = config.use_log()

    def make_figures() -> dict:
        return _figures(config, surface, ran, grid, log)

    # Everything the views depend on but the shared η: the view's η slider swaps between the
    # stops in the browser, so a new η alone resends nothing and redraws nothing.
    # (Mini-batch step dots are static traces of the figures: a run that follows the shared η
    # and has them makes the figures depend on η.)
    steps_follow_eta = any(r.steps is not None and r.choice.own_lr is None for r in ran)
    view_key = ("views", tuple(lab_runs.run_key(replace(config, learning_rate=0.0), r.choice)
                               for r in ran), log, config.presenter,
                config.learning_rate if steps_follow_eta else None)
    paths = _path_set(config, surface, ran, grid, log, view_key)
    index = _stop_index(config.learning_rate)
    height = max(420, 560 - 66 * messages) if config.presenter else 600
    if paths is not None and index is not None:
        show_lr_views(make_figures, view_key, paths, index, height, config.speed,
                      cached=lambda k, make: cache.cached("view-wire", k, make),
                      # the epoch the user settles on (pause, slider released) becomes the five
                      # steps' epoch; the view's η, released, becomes the page's
                      on_click=_on_view_click, on_epoch=panels.set_inspected_epoch, on_lr=_on_view_lr,
                      started_at=view_started, hidden=hidden)
        if paths.note:
            st.caption(paths.note)
    else:
        figs = make_figures()
        run_views = _run_views(ran)
        show_views(figs, ([lab_runs.run_key(config, r.choice) for r in ran], log), height,
                   epochs=max((len(v.loss) - 1 for v in run_views), default=0), speed=config.speed,
                   on_click=_on_view_click, on_epoch=panels.set_inspected_epoch, started_at=view_started,
                   hidden=hidden)

    # Nothing under the views until the browser has drawn them (it reports it, and the page reruns).
    if not views_painted() or secret:
        return
    _data_picture(config, surface, ran)

    # --- Panels under the views: lazy tabs, so only the open one computes. ------------------
    # A tab click empties the panel until the rerun fills it: the page got shorter, the browser
    # clamped the scroll, and the page jumped on mouse-down, so that the release landed on the
    # loss chart's legend and hid a run. A panel at least a screen tall keeps the scroll.
    st.html("<style>.st-key-panel{min-height:100vh}</style>")
    tabs = dict(zip(PANELS, st.tabs(PANELS, key="panel", on_change="rerun")))
    if tabs["The five steps"].open:
        with tabs["The five steps"]:
            panels.five_steps(config, surface, ran)
    if tabs["Curvature and η"].open:
        with tabs["Curvature and η"]:
            panels.curvature_and_lr(config, surface, ran)
    if tabs["Summary table"].open:
        with tabs["Summary table"]:
            panels.summary_table(results)
    if tabs["Learning-rate sweep"].open:
        with tabs["Learning-rate sweep"]:
            explore_panels.lr_sweep_panel(config, surface)
    if tabs["Basins"].open:
        with tabs["Basins"]:
            explore_panels.basins_panel(config, surface)
    if tabs["Fair race"].open:
        with tabs["Fair race"]:
            explore_panels.race_panel(config, surface)
    if tabs["Share and export"].open:
        with tabs["Share and export"]:
            panels.share_and_export(config, query, results, make_figures(), surface, on_upload=_on_upload)

    if not config.presenter:
        st.caption(
            "Drag the 3D view to turn it; it stays turned when you change a control. Click the contour "
            "map to start from there. The address bar holds every setting, so a copied link shares this "
            "exact view.")
