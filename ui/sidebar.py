"""The sidebar: keyed widgets in, one Config out. Widgets read their values from session state,
which `load_config` fills from a Config (a link, a lesson) before the widgets are drawn. The plain
settings go both ways by looping over the link's field table (lab.link.FIELDS)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace
from typing import Any

import numpy as np
import streamlit as st

import surfaces
from engine.network import count_weights
from surfaces import datasets
from lab import lessons
from lab import user_data as lab_data
from lab import runs as lab_runs
from lab.config import (ACTIVATIONS, CLIPS, DEFAULT_EXPR_BOUNDS, DEFAULT_EXPRESSION, LOG_MODES,
                        LR_OPTIONS, MAX_EPOCHS, MAX_RUNS, MAX_SEED, MODES, PRESETS, SCHEDULES,
                        SPEEDS, TYPED, Config, RunChoice, batch_options, check_bounds,
                        clip_parts, clip_text, network_defaults, network_layers, parse_run_key,
                        preset_hyper, surface_for, surface_names, typed_surface,
                        HYPER_CHOICES, INT_HYPER, hyper_range, snap_learning_rate)
from lab.link import FIELD_BY_KEY, FIELDS, plain

HIDDEN_IN_PRESENTER = ("seed", "clip", "clip_limit", "schedule", "warmup", "log_scale", "batch",
                       "start_x", "start_y", "surface", "net_data", "net_hidden", "net_act",
                       "inspect_run", "inspect_epoch", "inspect_step", "expr_text", "fx0", "fx1", "fy0", "fy1",
                       "basin_opts")
MODE_LABEL = {"surface": "Two weights", "network": "Neural network"}
SHARED = "shared"  # an optimizer's learning-rate choice that follows the page's slider
KIND_LABEL = {"classic": "Classic function", "data": "Learned from data"}
START_STEPS = 200  # start sliders move in 1/200 of the surface's box

HYPER_HELP = {
    "momentum": "Fraction of the previous step kept (0 = none).",
    "dampening": "Damps the new gradient in the momentum buffer.",
    "nesterov": "Look ahead along the momentum before taking the gradient.",
    "weight_decay": "L2 penalty added to the gradient (AdamW: decoupled decay of the weights).",
    "beta1": "Decay of the running mean of gradients (first moment).",
    "beta2": "Decay of the running mean of squared gradients (second moment).",
    "eps": "Added to the denominator for numerical safety.",
    "alpha": "Decay of the running mean of squared gradients.",
    "centered": "Divide by the gradient's estimated variance instead of its raw second moment.",
    "rho": "Decay of the running averages.",
    "lr_decay": "The learning rate is divided by 1 + (t − 1)·lr_decay.",
    "initial_accumulator_value": "Starting value of the sum of squared gradients.",
    "amsgrad": "Use the maximum of past second moments (AMSGrad).",
    "momentum_decay": "How fast NAdam's momentum schedule changes (ψ).",
    "etaminus": "Rprop: a weight's step size is multiplied by this when its gradient changes sign.",
    "etaplus": "Rprop: a weight's step size is multiplied by this while its gradient keeps its sign.",
    "step_size_min": "Rprop: the smallest step size a weight can have.",
    "step_size_max": "Rprop: the largest step size a weight can have.",
    "lambd": "ASGD: decay term; the weights shrink by 1 − lambd·η each step and η decays.",
    "t0": "ASGD: the step after which the averaged weights (dashed path) start to average.",
    "beta2_decay": "Adafactor: the second moment's weight at step t is t^beta2_decay.",
    "eps2": "Adafactor: the smallest relative step size (the step is at least lr·eps2).",
    "d": "Adafactor: the update's RMS is clipped to this.",
    "ns_a": "Muon: Newton–Schulz coefficient a (of X).",
    "ns_b": "Muon: Newton–Schulz coefficient b (of X·Xᵀ·X).",
    "ns_c": "Muon: Newton–Schulz coefficient c (of (X·Xᵀ)²·X).",
    "ns_steps": "Muon: Newton–Schulz iterations (in bfloat16, as torch).",
    "adjust_lr_fn": "Muon: how lr is scaled for the matrix's shape (original: 1 for a 1×2 matrix).",
    "max_iter": "L-BFGS: iterations inside one step (one epoch).",
    "max_eval": "L-BFGS: most loss evaluations in one step (torch's default max_iter·5/4).",
    "tolerance_grad": "L-BFGS: a step stops when every gradient entry is this small.",
    "tolerance_change": "L-BFGS: a step stops when the loss or the weights change less than this.",
    "history_size": "L-BFGS: how many (s, y) pairs its curvature estimate remembers.",
    "line_search_fn": "L-BFGS: strong_wolfe searches along the direction (more evaluations, "
                      "safe steps); none takes steps of lr.",
    "damping": "Newton (not a torch optimizer): added to the Hessian's diagonal; 0 is the pure "
               "Newton step, which heads for saddles as readily as for minima.",
}


def hyper_key(run: str, name: str) -> str:
    """The widget key of one run's setting, by the run's key (sgd, sgd-2): a hyperparameter, or
    "lr", "batch", "clip", "clip_limit", "schedule" (its own, or SHARED for the page's)."""
    return f"hp.{run}.{name}"


def widget_key(link_key: str) -> str:
    """The widget key of a plain setting, by its key in the link (the field table's row)."""
    return FIELD_BY_KEY[link_key].widget


def learning_rate_key() -> str:
    """The widget key of the shared learning-rate slider."""
    return widget_key("lr")


def _start_step(surface) -> tuple[float, float]:
    (x0, x1), (y0, y1) = surface.bounds
    return (x1 - x0) / START_STEPS, (y1 - y0) / START_STEPS


def snap_start(surface, point) -> tuple[float, float]:
    """A point clamped into the surface's box and rounded to the start sliders' step."""
    (x0, x1), (y0, y1) = surface.bounds
    sx, sy = _start_step(surface)
    out = []
    for v, lo, hi, step, home in ((point[0], x0, x1, sx, surface.start[0]),
                                  (point[1], y0, y1, sy, surface.start[1])):
        v = float(v) if np.isfinite(v) else float(home)  # a NaN is no place: the surface's start
        v = float(np.clip(v, lo, hi))
        on_grid = lo + round((v - lo) / step) * step
        if abs(on_grid - v) <= 1e-9 * step:  # already a slider stop (a link's, an edge): exact
            out.append(v)
            continue
        snapped = round(on_grid, 10)
        # Rounding to 10 decimals can push a point of a box with more decimals (-3.6350000000000002)
        # just outside it: clamp again, so the slider and the link always hold a point in the box.
        out.append(float(min(max(snapped, lo), hi)))
    return out[0], out[1]


def load_config(config: Config) -> None:
    """Put a config into the widgets' session state (before the widgets are drawn)."""
    ss = st.session_state
    surface = config.surface_obj()
    for f in FIELDS:
        ss[f.widget] = getattr(config, f.attr)
    ss["lesson"] = config.lesson
    ss["surface"] = config.surface
    ss["expr"] = ss["expr_text"] = config.expression
    ss["expr_bounds"] = config.expr_bounds
    (ss["fx0"], ss["fx1"]), (ss["fy0"], ss["fy1"]) = config.expr_bounds
    ss.pop("expr_error", None)
    ss["optimizers"] = [run.key for run in config.runs]
    n = _samples(config.mode, config.dataset, surface)
    for run in config.runs:
        for name, value in run.hyper().items():
            ss[hyper_key(run.key, name)] = value
        ss[hyper_key(run.key, "lr")] = run.own_lr if run.own_lr is not None else SHARED
        ss[hyper_key(run.key, "batch")] = SHARED if run.batch is None else (run.batch or n)
        kind, limit = clip_parts(run.clip) if run.clip is not None else (SHARED, config.clip_limit)
        ss[hyper_key(run.key, "clip")] = kind
        ss[hyper_key(run.key, "clip_limit")] = limit if kind not in (SHARED, "off") else config.clip_limit
        ss[hyper_key(run.key, "schedule")] = SHARED if run.schedule is None else run.schedule
    ss["batch"] = config.batch_size if config.batch_size is not None else n
    ss["start_x"], ss["start_y"] = snap_start(surface, config.start_point())


def _shared_lr_for_all(presets: list[str]) -> None:
    for preset in presets:
        st.session_state[hyper_key(preset, "lr")] = SHARED


def _on_lesson_change() -> None:
    """Choosing a lesson loads its whole configuration (presenter mode stays as it is)."""
    key = st.session_state.get("lesson") or ""
    if key in lessons.LESSONS:
        presenter = bool(st.session_state.get("presenter", False))
        load_config(replace(lessons.get(key).config, presenter=presenter))


def keep_widget_state() -> None:
    """Keep the values of widgets that this run may not draw: presenter mode hides some, and a
    run that stops early (an error) draws none after it. Streamlit forgets a widget's value when
    the widget is not drawn, and the next run would then silently take the widget's own default
    (epochs 1, speed instant). Every setting of the field table is kept, with the run settings
    (hp.*) and the sidebar's other keyed settings."""
    ss = st.session_state
    kept = set(HIDDEN_IN_PRESENTER) | {f.widget for f in FIELDS} | {"optimizers", "lesson"}
    for key in list(ss.keys()):
        if isinstance(key, str) and (key.startswith("hp.") or key in kept):
            ss[key] = ss[key]


def _samples(mode: str, dataset: str, surface) -> int:
    return len(datasets.load(dataset)[1]) if mode == "network" else surface.n_samples


def _on_mode_change() -> None:
    """Each mode starts from settings that show its lesson: Adam on the network's data."""
    ss = st.session_state
    mode = ss.get("mode") or "surface"
    ss["lesson"] = ""
    start = network_defaults() if mode == "network" else Config()
    ss["optimizers"] = [run.key for run in start.runs]
    for key in ("lr", "epochs"):
        f = FIELD_BY_KEY[key]
        ss[f.widget] = getattr(start, f.attr)
    ss["batch"] = start.batch_size if mode == "network" else current_surface().n_samples


def _on_dataset_change() -> None:
    n = len(datasets.load(st.session_state["net_data"])[1])
    st.session_state["batch"] = 32 if n > 32 else n


def current_surface():
    """The surface the controls describe (a typed one uses its last accepted text)."""
    ss = st.session_state
    _hold_upload()
    return surface_for(ss.get("surface", Config().surface), ss.get("expr", DEFAULT_EXPRESSION),
                       ss.get("expr_bounds", DEFAULT_EXPR_BOUNDS))


def _on_expr_change() -> None:
    """Accept a typed f(x, y) and its box, or keep the previous surface and say why."""
    from surfaces.expression import ExpressionError

    ss = st.session_state
    text = ss.get("expr_text", "")
    try:
        bounds = check_bounds(((ss["fx0"], ss["fx1"]), (ss["fy0"], ss["fy1"])))
    except ValueError as err:
        ss["expr_error"] = f"The box is not valid: {err}. The previous surface stays."
        return
    try:
        typed_surface(text, bounds)
    except ExpressionError as err:
        # The message and the typed text are shown as they are: the message escaped, the text
        # with its caret in a fenced block whose fence no run of backticks in the text can close.
        pointer = err.pointer()
        fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", pointer)), default=0))
        shown = f"\n\n{fence}\n{pointer}\n{fence}" if pointer else ""
        ss["expr_error"] = f"{plain(str(err))}{shown}\n\nThe previous surface stays."
        return
    ss.pop("expr_error", None)
    ss["expr"], ss["expr_bounds"] = text, bounds
    _on_surface_change()


def _on_surface_change() -> None:
    """A new surface starts from its own default start, on the full batch."""
    surface = current_surface()
    st.session_state["start_x"], st.session_state["start_y"] = snap_start(surface, surface.start)
    st.session_state["batch"] = surface.n_samples


def set_start(point) -> None:
    """Move the start sliders (used by a click on the contour map)."""
    surface = current_surface()
    st.session_state["start_x"], st.session_state["start_y"] = snap_start(surface, point)


def _surface_label(name: str) -> str:
    if name == TYPED:
        return "Your own f(x, y)  ·  Typed"
    if lab_data.is_uploaded(name):  # from the process store: AppTest formats outside the session
        try:
            return f"Your data: {lab_data.held(name).label}  ·  Uploaded"
        except KeyError:
            return "Your data  ·  Uploaded"
    s = surfaces.get(name)
    return f"{s.title}  ·  {KIND_LABEL.get(s.kind, s.kind)}"


def _fmt_lr(value: float) -> str:
    return f"{value:g}"


def _start_new_optimizers(chosen: list[str], surface_name: str, lesson: str) -> None:
    """Comparing works by default: an optimizer just added to the page (no learning-rate choice
    of its own yet) starts at lab.runs.starting_lr's η, which does not diverge here, instead
    of a shared η that would. Links and lessons set every choice, so they open as written."""
    ss = st.session_state
    for key in chosen:
        own_key = hyper_key(key, "lr")
        if own_key in ss:
            continue
        preset, copy = parse_run_key(key)
        choice = RunChoice(preset, copy=copy)
        probe = _config_from_state(surface_name, (choice,), ss.get(widget_key("lr"), 0.1),
                                   ss.get(widget_key("epochs"), Config().epochs),
                                   ss.get(widget_key("speed"), "normal"), lesson)
        lr = lab_runs.starting_lr(probe, choice)
        ss[own_key] = SHARED if lr is None else lr


def _hyper_widget(run: str, name: str, start_value: Any, prefix: str = "") -> Any:
    key = hyper_key(run, name)
    if key not in st.session_state:
        st.session_state[key] = start_value
    label = prefix + {"beta1": "β1", "beta2": "β2", "rho": "ρ", "alpha": "α", "eps": "ε"}.get(name, name)
    help_text = HYPER_HELP.get(name)
    if isinstance(start_value, bool):
        return st.checkbox(label, key=key, help=help_text)
    if name == "eps":
        return st.number_input(label, key=key, min_value=0.0, max_value=1.0, format="%.1e",
                               step=1e-8, help=help_text)
    if name in ("beta1", "beta2", "alpha", "rho", "momentum", "dampening"):
        upper = 0.9999 if name.startswith("beta") else 1.0
        return st.number_input(label, key=key, min_value=0.0, max_value=upper, step=0.01,
                               format="%.4f", help=help_text)
    if name in HYPER_CHOICES:  # words: L-BFGS's line search, Muon's lr adjustment
        return st.selectbox(label, HYPER_CHOICES[name], key=key, help=help_text)
    lo, hi = hyper_range(name)
    if name in INT_HYPER:
        return st.number_input(label, key=key, min_value=int(lo), max_value=int(hi), step=1,
                               help=help_text)
    if name in ("eps2", "tolerance_grad", "tolerance_change"):
        return st.number_input(label, key=key, min_value=lo, max_value=hi, format="%.1e",
                               step=1e-8, help=help_text)
    return st.number_input(label, key=key, min_value=float(lo), max_value=float(hi), step=0.001,
                           format="%.4g", help=help_text)


PRESENTER_HYPER = ("momentum", "beta1")  # what a lesson may ask the room to change live
ONE_RUN_SETTINGS = ("batch", "clip", "clip_limit", "schedule")


def _run_options() -> list[str]:
    """The runs the menu offers: every preset, and a second (third, …) run of each chosen one."""
    chosen = [k for k in st.session_state.get("optimizers", []) if parse_run_key(k)]
    options = list(PRESETS)
    for key in chosen:
        preset, copy = parse_run_key(key)
        for k in (key, f"{preset}-{copy + 2}"):
            if k not in options and parse_run_key(k):
                options.append(k)
    st.session_state["optimizers"] = chosen
    return options


def _run_option_label(key: str) -> str:
    preset, copy = parse_run_key(key)
    return PRESETS[preset].label if copy == 0 else f"{PRESETS[preset].label} · run {copy + 1}"


def _own_setting(run: str, name: str, options: list, presenter: bool, **widget) -> Any:
    """One of a run's own training settings (SHARED: the page's), drawn unless in presenter mode."""
    key = hyper_key(run, name)
    # A run just added has no value yet: it follows the page. Presenter mode draws no widget
    # that would create the key, so set it here rather than read a key that is not there.
    if key not in st.session_state or st.session_state[key] not in options:
        st.session_state[key] = SHARED
    if presenter:
        return st.session_state[key]
    return st.selectbox(widget.pop("label"), options, key=key, **widget)


def _run_controls(key: str, presenter: bool, n_samples: int, several: bool) -> RunChoice:
    """One run's settings: its own η and hyperparameters, batch size, clipping and schedule. In
    presenter mode only momentum and β1 are drawn (a lesson may ask the room to change them);
    the rest keep their values."""
    ss = st.session_state
    preset, copy = parse_run_key(key)
    base = preset_hyper(preset)
    name = _run_option_label(key)
    own_key = hyper_key(key, "lr")
    if own_key not in ss:
        ss[own_key] = SHARED
    sizes = batch_options(n_samples)
    shared_word = lambda v, words: "same as the page" if v == SHARED else words(v)
    if presenter:  # settings hidden: their kept values still count
        own_lr = ss[own_key]
        values = {n: ss.get(hyper_key(key, n), v) for n, v in base.items()}
        for n in PRESENTER_HYPER:
            if n in base and not isinstance(base[n], bool):
                values[n] = _hyper_widget(key, n, base[n], prefix=f"{name}: " if several else "")
        container = None
    else:
        container = st.expander(f"{name} settings")
        with container:
            own_lr = st.select_slider(
                "Own learning rate", [SHARED] + LR_OPTIONS, key=own_key,
                format_func=lambda v: "same as above" if v == SHARED else f"{v:g}",
                help="Give this optimizer its own η, for a fairer comparison.")
            values = {n: _hyper_widget(key, n, v) for n, v in base.items()}
    with container if container is not None else contextlib.nullcontext():
        batch = _own_setting(key, "batch", [SHARED] + sizes, presenter, label="Own batch size",
                             format_func=lambda v: shared_word(
                                 v, lambda b: f"full ({b})" if b == n_samples else str(b)))
        clip = _own_setting(key, "clip", [SHARED] + list(CLIPS), presenter, label="Own clipping",
                            format_func=lambda v: shared_word(
                                v, {"off": "off", "norm": "by norm", "value": "by value"}.get))
        limit_key = hyper_key(key, "clip_limit")
        ss.setdefault(limit_key, float(ss.get(widget_key("clip_limit"), 10.0)))
        if not presenter and clip not in (SHARED, "off"):
            st.number_input("Own clipping limit", min_value=1e-6, max_value=1e6, key=limit_key,
                            format="%g")
        schedule = _own_setting(key, "schedule", [SHARED] + list(SCHEDULES), presenter,
                                label="Own schedule",
                                format_func=lambda v: shared_word(v, _schedule_label))
    changes = [(n, v) for n, v in values.items() if v != base[n]]
    if own_lr != SHARED:
        changes.append(("lr", float(own_lr)))
    return RunChoice(
        preset, tuple(sorted(changes)), copy=copy,
        batch=None if batch == SHARED else (0 if batch == n_samples else int(batch)),
        clip=None if clip == SHARED else clip_text(clip, float(ss[limit_key])),
        schedule=None if schedule == SHARED else schedule)


# Class mode (ui/class_mode.py sets these before the sidebar is drawn, from the class's phase).
CLASS_ROLE = "class_role"  # "teacher", "student", or absent (no class)
LESSON_HELD = "class_lesson_held"  # True while the lesson's explanation would give the answer away
LESSON_HELD_LINE = "Predict first: the lesson's explanation comes after the reveal."


def lesson_held() -> bool:
    """In a class before the reveal (or as one starts): the lesson's explanation and watch-for
    state the run's outcome, so the sidebar and the page show only its title."""
    ss = st.session_state
    return bool(ss.get(LESSON_HELD) or ss.get("class_start"))


def lesson_title(key: str) -> str:
    """A lesson's title; in a class before the reveal only its part before a colon ("η too
    large: divergence" names the answer to "what will the run do?")."""
    title = lessons.get(key).title
    return title.split(":")[0] if lesson_held() else title


def _class_buttons() -> None:
    """Start a class; in a class, none for a student, and for the teacher a new class only after
    a confirm (the open one would be left behind). ui/class_mode.py reads "class_start"."""
    ss = st.session_state
    role = ss.get(CLASS_ROLE)
    if role == "student":
        return
    if role != "teacher":
        st.button("Start a class", key="class_start", icon=":material/groups:",
                  help="Students join with a code or a QR code, predict, then the run reveals who was right.")
        return
    if not ss.get("class_new_asked"):
        st.button("Start a new class", key="class_new", icon=":material/groups:",
                  on_click=lambda: ss.__setitem__("class_new_asked", True),
                  help="Leaves this class: its students stay on the old code.")
        return
    st.warning("Start a new class? This class's students stay on the old code.", icon=":material/groups:")
    yes, no = st.columns(2)
    yes.button("Start it", key="class_start", type="primary", on_click=lambda: ss.pop("class_new_asked", None))
    no.button("Cancel", key="class_new_cancel", on_click=lambda: ss.pop("class_new_asked", None))


def sidebar() -> Config:
    """Draw the controls and return the Config they describe."""
    ss = st.session_state
    keep_widget_state()
    with st.sidebar:
        lesson = st.selectbox(
            "Lessons", [""] + list(lessons.LESSONS), key="lesson", on_change=_on_lesson_change,
            format_func=lambda k: "— explore freely —" if not k else lessons.get(k).title,
            help="A ready-made demonstration: it sets every control, and its link opens it directly.")
        presenter = st.toggle("Presenter mode", key=widget_key("present"),
                              help="Big type and dots for a projector; hides the advanced controls.")
        lesson_box = st.container()  # filled below, once this run's class buttons are known
        _class_buttons()
        if presenter and lesson in lessons.LESSONS:
            with lesson_box, st.container(border=True):
                if lesson_held():
                    # A class before its reveal: the lesson's words tell the run's outcome.
                    st.markdown(f"**{lesson_title(lesson)}.** {LESSON_HELD_LINE}")
                else:
                    st.markdown(f"**{lessons.get(lesson).title}.** {lessons.get(lesson).explanation}")
                    st.markdown(f"**Watch for:** {lessons.get(lesson).watch_for}")
        if ss.get("mode") not in MODES:
            ss["mode"] = "surface"
        mode = st.segmented_control("Mode", MODES, key=widget_key("mode"), format_func=MODE_LABEL.get,
                                    on_change=_on_mode_change) or "surface"
        _check_link_upload()
        _adopt_loaded_upload()
        if ss.get("surface") not in surface_names() + _uploaded_names():
            ss["surface"] = Config().surface
        surface_name = ss["surface"]
        if mode == "network":
            st.header("Network")
            dataset = st.selectbox("Data set", datasets.names(), key=widget_key("data"),
                                   format_func=lambda n: datasets.get(n).title,
                                   on_change=_on_dataset_change)
            st.caption(datasets.get(dataset).about)
            st.text_input("Hidden layers", key=widget_key("hidden"), max_chars=60,
                          help="Sizes of the hidden layers, e.g. 16-16. Empty: no hidden layer.")
            st.radio("Activation", ACTIVATIONS, key=widget_key("act"), horizontal=True)
            st.select_slider("Held-out share", datasets.TEST_SHARES, key=widget_key("test"),
                             format_func=lambda share: f"{share:.0%}",
                             help="Samples the network never trains on, as a share of all samples: "
                                  "new draws from the same distribution (seeded), so the training "
                                  "set stays the same. Their loss and accuracy are drawn beside "
                                  "the training curve.")
            probe = Config(mode="network", dataset=dataset, hidden=ss.get("net_hidden", ""))
            try:
                layers = network_layers(probe)
                st.caption(f"Network {'-'.join(map(str, layers))}: {count_weights(layers):,} weights, "
                           f"seen on a 2-D slice of their loss surface.")
            except ValueError as err:
                st.error(str(err))
        else:
            st.header("Loss surface")
            names = (surfaces.names(kind="classic") + surfaces.names(kind="data") + [TYPED]
                     + _uploaded_names())
            surface_name = st.selectbox("Surface", names, key="surface", format_func=_surface_label,
                                        on_change=_on_surface_change)
            if surface_name == TYPED:
                _typed_surface_inputs()
            if not presenter:
                _upload_section()
            if not presenter:
                st.caption(current_surface().about)
        surface = current_surface()
        n_samples = _samples(mode, ss.get("net_data", Config().dataset), surface)

        st.header("Optimizers")
        chosen = st.multiselect(
            f"Compare up to {MAX_RUNS}", _run_options(), key="optimizers", max_selections=MAX_RUNS,
            format_func=_run_option_label,
            help="Each run starts from the same point; a single run is drawn in blue. A second "
                 "run of a chosen optimizer (e.g. SGD · run 2) can have its own batch size, "
                 "clipping and schedule, for a side-by-side comparison.")
        if not chosen:
            st.info("Choose at least one optimizer. Showing Adam meanwhile.")
            chosen = ["adam"]
        if mode != "network":
            _start_new_optimizers(chosen, surface_name, lesson)
        learning_rate = st.select_slider(
            "Learning rate η (log scale)", LR_OPTIONS, key=widget_key("lr"), format_func=_fmt_lr,
            help="The step size in w ← w − η·g. Arrow keys move it one stop.")
        runs = [_run_controls(key, presenter, n_samples, len(chosen) > 1) for key in chosen]
        own = [run.label for run in runs if run.own_lr is not None]
        if own:
            if len(own) == len(runs):
                st.caption("Every optimizer has its own η (in its settings), so this slider changes "
                           "nothing until one is set back to 'same as above'.")
            else:
                st.caption(f"With its own η: {', '.join(own)}. An optimizer you add starts at a "
                           f"tuned η below this one when this one makes it diverge here.")
            st.button("Use this η for all", key="lr_for_all", on_click=_shared_lr_for_all,
                      args=([run.key for run in runs],))

        st.header("Training")
        epochs = st.slider("Epochs", 1, MAX_EPOCHS, key=widget_key("epochs"))
        sizes = batch_options(n_samples)
        if ss.get("batch") not in sizes:
            ss["batch"] = n_samples
        if ss.get("speed") not in SPEEDS:
            ss["speed"] = "normal"
        speed = st.select_slider("Playback speed", SPEEDS, key=widget_key("speed"), format_func=str.capitalize)
        st.select_slider(
            "Batch size", sizes, key="batch",
            format_func=lambda b: f"full ({b})" if b == n_samples else str(b))
        # Presenter mode keeps what a lesson may ask the room to change (batch, clipping,
        # schedule) and hides the fine print: optimizer settings, start sliders, captions.
        if mode == "network" and not presenter:
            st.caption(f"The data set has {n_samples} points; a mini-batch of b estimates the "
                       f"gradient from b of them, and an epoch visits all of them once.")
        elif not presenter:
            st.caption(surface.batch_note)
            st.header("Start point")
            (x0, x1), (y0, y1) = surface.bounds
            sx, sy = _start_step(surface)
            st.slider("Start w1", float(x0), float(x1), step=sx, key="start_x", format="%.3f")
            st.slider("Start w2", float(y0), float(y1), step=sy, key="start_y", format="%.3f")
            st.caption("Or click the contour map to start there.")

        with st.expander("More: seed, clipping, schedule, colours"):
            st.number_input("Seed (mini-batch shuffling, data and initial weights)", 0, MAX_SEED,
                            step=1, key=widget_key("seed"))
            clip = st.radio("Gradient clipping", CLIPS, key=widget_key("clip"), horizontal=True,
                            format_func={"off": "Off", "norm": "By norm", "value": "By value"}.get)
            st.number_input("Clipping limit", min_value=1e-6, max_value=1e6,
                                         key=widget_key("clip_limit"), format="%g", disabled=clip == "off")
            st.selectbox(
                "Learning-rate schedule", SCHEDULES, key=widget_key("schedule"), format_func=_schedule_label)
            st.number_input("Linear warm-up (epochs)", 0, MAX_EPOCHS, step=1, key=widget_key("warmup"))
            if mode != "network":
                st.radio("Log colour and height", LOG_MODES, key=widget_key("log_scale"), horizontal=True,
                                 format_func={"auto": "Auto", "on": "On", "off": "Off"}.get,
                                 help="Log shows surfaces whose loss spans decades, such as Rosenbrock.")

    return _config_from_state(surface_name, runs, learning_rate, epochs, speed, lesson)


# --- Your own data: a CSV upload becomes a surface (lab.user_data) ------------------------------
UPLOAD_WIDGET = "user_csv"  # the file uploader
UPLOAD_HELD = "user_upload"  # the accepted upload (lab.user_data.Upload): the surface in use
UPLOAD_TABLE = "user_table"  # the last file read, whose columns the selectboxes offer
UPLOAD_ERROR = "user_error"
UPLOAD_LINK = "user_link_notice"
COLUMN_KEYS = ("user_x", "user_target", "user_loss")


def _hold_upload() -> None:
    """Keep this session's upload in the process store (which holds a few, most recent first)."""
    upload = st.session_state.get(UPLOAD_HELD)
    if upload is not None:
        lab_data.keep(upload)


def _uploaded_names() -> list[str]:
    upload = st.session_state.get(UPLOAD_HELD)
    return [] if upload is None else [upload.name]


def _adopt_loaded_upload() -> None:
    """A saved file that carried its data (loaded with lab.export) put its uploaded surface in
    the surface box: this session now holds it. (A link never names one here: lab.link refuses
    upload names, since a link cannot carry the data.)"""
    ss = st.session_state
    name = ss.get("surface")
    if lab_data.is_uploaded(name) and name not in _uploaded_names():
        try:
            upload = lab_data.held(name)
        except KeyError:
            return
        ss[UPLOAD_HELD], ss[UPLOAD_TABLE] = upload, upload.table
        ss["user_x"], ss["user_target"], ss["user_loss"] = upload.x, upload.target, upload.loss


def _check_link_upload() -> None:
    """Once per session: a link that names an uploaded surface cannot bring its data."""
    ss = st.session_state
    if "user_link_checked" in ss:
        return
    ss["user_link_checked"] = True
    asked = st.query_params.get("surface")
    if lab_data.is_uploaded(asked) and asked not in _uploaded_names():
        ss[UPLOAD_LINK] = True


def _accept_upload(upload) -> None:
    ss = st.session_state
    ss[UPLOAD_HELD] = upload
    ss[UPLOAD_TABLE] = upload.table
    ss["user_x"], ss["user_target"], ss["user_loss"] = upload.x, upload.target, upload.loss
    ss.pop(UPLOAD_ERROR, None)
    ss.pop(UPLOAD_LINK, None)
    ss["surface"] = upload.name
    _on_surface_change()
    # Its own starting η (the page's η diverged on unscaled data), by a rule that suits the runs
    # on the page; the caption says which rule chose it.
    ss[UPLOAD_LR_RULE] = upload_lr(upload)
    ss[learning_rate_key()] = ss[UPLOAD_LR_RULE][0]


UPLOAD_LR_RULE = "user_upload_lr_rule"  # (η, rule) the upload started at, for its caption


def upload_lr(upload) -> tuple[float, str]:
    """The η an upload starts at and the rule that chose it (lab.user_data.starting_lr): 1/λ_max
    when a run on the page steps η × gradient (SGD, Momentum), else, for Adam and the other
    adaptive runs, a tenth of the way to the minimum."""
    presets = [parse_run_key(k)[0] for k in st.session_state.get("optimizers", []) if parse_run_key(k)]
    return lab_data.starting_lr(upload, presets)


def _on_csv_upload() -> None:
    """Read the chosen file: its surface replaces the current one, or it is refused in words and
    the previous surface stays."""
    ss = st.session_state
    file = ss.get(UPLOAD_WIDGET)
    if file is None:  # the file was removed from the uploader: keep what is shown
        return
    if file.size > lab_data.MAX_BYTES:
        ss[UPLOAD_ERROR] = (f"Could not use {file.name}: it is {file.size / 2**20:.1f} MB; the limit "
                            f"is {lab_data.MAX_BYTES / 2**20:.0f} MB. The previous surface stays.")
        return
    try:
        table = lab_data.read(file.getvalue(), file.name)
    except lab_data.DataError as err:
        ss[UPLOAD_ERROR] = f"Could not use {file.name}: {err} The previous surface stays."
        return
    ss[UPLOAD_TABLE] = table
    try:
        upload = lab_data.build(table)
    except lab_data.DataError as err:
        x, target, loss = lab_data.default_choice(table)
        ss["user_x"], ss["user_target"], ss["user_loss"] = x, target, loss
        # Column pickers are drawn for a file of more than two columns only.
        what = ("Choose other columns below" if len(table.columns) > 2 else
                "Try the other loss below, or another file")
        ss[UPLOAD_ERROR] = (f"{file.name} was read, but {err} {what}; the previous surface stays "
                            f"until then.")
        return
    _accept_upload(upload)


def _on_columns_change() -> None:
    ss = st.session_state
    table = ss.get(UPLOAD_TABLE)
    if table is None:
        return
    try:
        upload = lab_data.build(table, ss.get("user_x"), ss.get("user_target"), ss.get("user_loss"))
    except lab_data.DataError as err:
        ss[UPLOAD_ERROR] = f"{err} The previous surface stays."
        # ...and so do the pickers and the loss that made it (the radio read "Linear" while the
        # logistic surface stayed)
        held = ss.get(UPLOAD_HELD)
        if held is not None and held.table is table:
            ss["user_x"], ss["user_target"], ss["user_loss"] = held.x, held.target, held.loss
        return
    _accept_upload(upload)


def _upload_section() -> None:
    """The upload of a CSV file and, when it has more than two columns, the choice of x and the
    target; the loss: MSE (a line) or cross-entropy (two classes)."""
    ss = st.session_state
    if ss.get(UPLOAD_LINK):
        st.warning(lab_data.LINK_MISSING, icon=":material/link_off:")
    with st.expander("Your own data (CSV)", expanded=bool(ss.get(UPLOAD_TABLE) or ss.get(UPLOAD_LINK))):
        st.file_uploader(
            "A CSV file with a header row", type=["csv"], key=UPLOAD_WIDGET, on_change=_on_csv_upload,
            help=f"Comma-separated (or ; or tab), a first row of column names, then 2 to "
                 f"{lab_data.MAX_ROWS:,} rows, at most {lab_data.MAX_BYTES // 2**20} MB. The columns "
                 f"used must hold numbers; a two-class target may hold words.")
        st.caption(lab_data.LINK_NOTE)
        table = ss.get(UPLOAD_TABLE)
        if table is not None:
            allowed = (table.columns, table.columns, lab_data.LOSSES)
            if any(ss.get(k) not in ok for k, ok in zip(COLUMN_KEYS, allowed)):
                # a widget not drawn for a while (presenter mode) lost its value: the accepted
                # upload's choice if it is of this table, else a guess (which reads every column)
                held = ss.get(UPLOAD_HELD)
                values = ((held.x, held.target, held.loss) if held is not None and held.table is table
                          else lab_data.default_choice(table))
                for key, value in zip(COLUMN_KEYS, values):
                    ss[key] = value
            if len(table.columns) > 2:
                st.selectbox("x (the input)", table.columns, key="user_x", on_change=_on_columns_change)
                st.selectbox("Target", table.columns, key="user_target", on_change=_on_columns_change)
            st.radio("Loss", lab_data.LOSSES, key="user_loss", format_func=lab_data.LOSS_WORDS.get,
                     on_change=_on_columns_change,
                     help="Mean squared error fits a line ŷ = w·x + b; cross-entropy fits "
                          "p = sigmoid(w·x + b) to a target of two classes.")
        upload = ss.get(UPLOAD_HELD)
        if upload is not None and ss.get("surface") == upload.name:
            st.caption(lab_data.stability_words(upload, *ss.get(UPLOAD_LR_RULE, upload_lr(upload))))
        if ss.get(UPLOAD_ERROR):
            st.error(ss[UPLOAD_ERROR], icon=":material/error:")


def _typed_surface_inputs() -> None:
    """The text box for f(x, y) and its box; a refused text shows why and changes nothing."""
    ss = st.session_state
    ss.setdefault("expr_text", ss.get("expr", DEFAULT_EXPRESSION))
    (x0, x1), (y0, y1) = ss.get("expr_bounds", DEFAULT_EXPR_BOUNDS)
    for key, value in (("fx0", x0), ("fx1", x1), ("fy0", y0), ("fy1", y1)):
        ss.setdefault(key, float(value))
    st.text_input("f(x, y) =", key="expr_text", max_chars=200, on_change=_on_expr_change,
                  help="+ − * / ^, parentheses, numbers, x and y, pi, e, and sin cos tan exp log "
                       "sqrt abs tanh sinh cosh min max. Press Enter to apply.")
    cols = st.columns(4)
    for col, key, label in zip(cols, ("fx0", "fx1", "fy0", "fy1"), ("x from", "x to", "y from", "y to")):
        col.number_input(label, key=key, min_value=-1e4, max_value=1e4, step=0.5, format="%g",
                         on_change=_on_expr_change)
    if ss.get("expr_error"):
        st.error(ss["expr_error"], icon=":material/error:")


def _config_from_state(surface_name, runs, learning_rate, epochs, speed, lesson) -> Config:
    """The Config of the drawn widgets plus the values kept for those not drawn."""
    ss = st.session_state
    surface = current_surface()
    default = Config()
    values = {}
    for f in FIELDS:
        value = ss.get(f.widget, getattr(default, f.attr))
        values[f.attr] = f.kind(value) if f.kind in (float, int, bool, str) else value
    values.update(learning_rate=float(learning_rate), epochs=int(epochs), speed=speed)
    values["mode"] = values["mode"] or "surface"
    n_samples = _samples(values["mode"], values["dataset"], surface)
    batch = ss.get("batch", n_samples)
    start = snap_start(surface, (ss.get("start_x", surface.start[0]), ss.get("start_y", surface.start[1])))
    default_start = snap_start(surface, surface.start)
    return Config(
        surface=surface_name, runs=tuple(runs), batch_size=None if batch == n_samples else int(batch),
        start=None if start == default_start else start, lesson=lesson or "",
        expression=ss.get("expr", DEFAULT_EXPRESSION), expr_bounds=ss.get("expr_bounds", DEFAULT_EXPR_BOUNDS),
        **values)


def _schedule_label(name: str) -> str:
    return {
        "constant": "Constant",
        "step": "Step (×0.5 every quarter of the epochs)",
        "exponential": "Exponential (to 1% by the last epoch)",
        "cosine": "Cosine annealing (to 0 at the last epoch)",
    }[name]
