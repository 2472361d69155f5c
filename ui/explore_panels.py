"""Panels that explore at scale on the current surface: the learning-rate sweep with the
stability limit, basins of attraction, and a fair race. Each computation is one vectorized
batch per optimizer, cached for the server (every session) on what it depends on."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from engine import sweep
from figures import explore
from lab.runs import TOLERANCE, surface_key, sweep_settings
from ui import cache
from ui.sidebar import SHARED, hyper_key, learning_rate_key
from lab.config import LR_OPTIONS, PRESETS, Config, RunChoice, snap_learning_rate, to_torch_hyper

LRS = np.array(LR_OPTIONS)  # the sweep runs the main slider's stops, so any point can be loaded
BASIN_POINTS = 100
MAX_BASIN_EPOCHS = 500


def _spec(choice: RunChoice) -> tuple[str, dict]:
    return PRESETS[choice.preset].optimizer, to_torch_hyper(choice.hyper())


def _name(choice: RunChoice) -> str:
    """A run's name where its η is what varies: the optimizer and its own settings."""
    return replace(choice, changes=tuple((k, v) for k, v in choice.changes if k != "lr")).label


def _training(config: Config) -> tuple:
    """What the explore computations' results depend on besides the surface and the optimizer."""
    return (config.start_point(), config.epochs, config.seed, config.batch_size, config.clip,
            config.clip_limit, config.schedule, config.warmup)


def _sweeps(config: Config, surface) -> dict:
    def make():
        out = {}
        for choice in config.runs:
            name, hyper = _spec(choice)
            try:
                out[_name(choice)] = sweep.lr_sweep(
                    surface, name, hyper, LRS, start=config.start_point(), epochs=config.epochs,
                    tol=TOLERANCE, budget=sweep.EXPLORE_BUDGET, **sweep_settings(config, choice))
            except ValueError as err:
                out[_name(choice)] = str(err)
        return out

    key = (surface_key(config), config.runs, _training(config))
    return cache.cached("sweep", key, make)


def cut_note(label: str, lrs, epochs: int, all_lrs, all_epochs: int) -> str | None:
    """Words for a sweep run on fewer η stops or epochs than asked (a looped family within
    sweep.EXPLORE_BUDGET), or None when it ran them all."""
    parts = []
    if len(lrs) < len(all_lrs):
        parts.append(f"{len(lrs)} of the {len(all_lrs)} learning rates")
    if epochs < all_epochs:
        parts.append(f"{epochs} of the {all_epochs} epochs")
    if not parts:
        return None
    return (f"{label}: {' and '.join(parts)}, to keep the page quick (it steps each run alone, "
            f"up to max_iter inner iterations an epoch).")


def _on_sweep_click() -> None:
    """A click on a sweep point loads its learning rate into the main view for that optimizer."""
    ss = st.session_state
    event = ss.get("sweep_chart")
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        getattr(getattr(event, "selection", None), "points", [])
    if not points:
        return
    point = points[0]
    lr = point.get("customdata")
    if isinstance(lr, (list, tuple)):
        lr = lr[0]
    if lr is None or not np.isfinite(float(lr)):
        return
    load_learning_rate(float(lr), ss.get("sweep_curves", {}).get(point.get("curve_number")))


def load_learning_rate(lr: float, run: str | None = None) -> None:
    """Set the shared learning rate (and let the run `run` (its key), if given, follow it)."""
    ss = st.session_state
    ss[learning_rate_key()] = snap_learning_rate(lr)
    if run is not None:
        ss[hyper_key(run, "lr")] = SHARED
    ss["sweep_loaded"] = f"Loaded η = {snap_learning_rate(lr):g} into the views above."


def lr_sweep_panel(config: Config, surface) -> None:
    st.caption(f"Every optimizer chosen above, run at {len(LRS)} learning rates from "
               f"{LRS[0]:g} to {LRS[-1]:g} for {config.epochs} epochs from the same start, "
               f"trained as the views train it, each optimizer as one vectorized batch.")
    results = _sweeps(config, surface)
    good = {label: r for label, r in results.items() if not isinstance(r, str)}
    for label, r in results.items():
        if isinstance(r, str):
            st.error(f"{label}: {r}", icon=":material/warning:")
    if not good:
        return
    for label, r in good.items():
        note = cut_note(label, r.lrs, r.epochs, LRS, config.epochs)
        if note:
            st.caption(note)
    limit = sweep.stability_limit(surface, config.start_point())
    current = {_name(c): c.lr(config.learning_rate) for c in config.runs if _name(c) in good}
    fig = explore.sweep_figure(LRS, good, limit, current=current, presenter=config.presenter)
    label_to_preset = {_name(c): c.key for c in config.runs}
    st.session_state["sweep_curves"] = {
        i: label_to_preset.get((t.meta or {}).get("optimizer")) for i, t in enumerate(fig.data)
        if isinstance(t.meta, dict)}
    st.plotly_chart(fig, key="sweep_chart", on_select=_on_sweep_click, selection_mode="points",
                    config={"displaylogo": False}, theme=None)
    if "sweep_loaded" in st.session_state:
        st.success(st.session_state.pop("sweep_loaded"))
    if limit is not None:
        st.caption(f"Dashed line: 2/λ_max = {limit:.3g}, from the Hessian at the minimum nearest the "
                   f"start. Plain gradient descent diverges to the right of it.")
    st.caption("Click a point to load its learning rate into the views above, or use a button:")
    cols = st.columns(min(len(good), 3))
    for i, (label, result) in enumerate(good.items()):
        best = sweep.tuned_index(result)
        if best is None:
            cols[i % len(cols)].caption(f"{label}: diverged at every learning rate.")
            continue
        cols[i % len(cols)].button(
            f"{label}: best η = {result.lrs[best]:g}", key=f"sweep_best_{label}",
            on_click=load_learning_rate, args=(float(result.lrs[best]), label_to_preset.get(label)))


def basins_panel(config: Config, surface) -> None:
    labels = [_name(c) for c in config.runs]
    st.session_state.setdefault("basin_opts", labels[:1])
    st.session_state["basin_opts"] = [l for l in st.session_state["basin_opts"] if l in labels] or labels[:1]
    chosen = st.multiselect("Optimizers to map (up to two, side by side)", labels, key="basin_opts",
                            max_selections=2)
    epochs = min(config.epochs, MAX_BASIN_EPOCHS)
    if not chosen:
        st.caption(f"Each of {BASIN_POINTS}×{BASIN_POINTS} starts over the box runs {epochs} "
                   f"epochs at the optimizer's learning rate; its colour is the minimum it ends in.")
        return
    # The caption gives each map's own grid and epochs: a looped family's map is coarser.
    sizes = []
    for label in chosen:
        name, hyper = _spec(config.runs[labels.index(label)])
        plan = sweep.basin_plan(name, hyper, BASIN_POINTS, epochs, _steps(config, surface, label, labels))
        sizes.append((label, plan.grid_n, plan.epochs))
    st.caption(basin_caption(sizes, epochs))
    cols = st.columns(len(chosen))
    for col, label in zip(cols, chosen):
        choice = config.runs[labels.index(label)]
        name, hyper = _spec(choice)
        lr = choice.lr(config.learning_rate)
        key = (surface_key(config), choice, lr, epochs, _training(config))
        settings = sweep_settings(config, choice)
        try:
            result = cache.cached("basins", key, lambda: sweep.basins(
                surface, name, hyper, lr, grid_n=BASIN_POINTS, epochs=epochs, tol=1e-4, **settings))
        except ValueError as err:
            col.error(f"{label}: {err}", icon=":material/warning:")
            continue
        with col:
            st.plotly_chart(explore.basin_figure(surface, result, title=f"{label}, η = {lr:g}",
                                                 presenter=config.presenter),
                            key=f"basins_{label}", config={"displaylogo": False}, theme=None)


def _steps(config: Config, surface, label: str, labels: list) -> int:
    """Optimizer steps per epoch of the run `label` (its own batch size or the page's)."""
    size = sweep_settings(config, config.runs[labels.index(label)])["batch_size"]
    return 1 if size is None else -(-int(surface.n_samples) // int(size))


def basin_caption(sizes, epochs: int) -> str:
    """The basin maps' caption with each map's real grid and epochs: `sizes` is (label, grid
    side, epochs) per map, `epochs` the epochs asked."""
    first = sizes[0]
    same = all(s[1:] == first[1:] for s in sizes)
    if same:
        what = f"Each of {first[1]}×{first[1]} starts over the box runs {first[2]} epochs"
    else:
        what = "Each start over the box (" + "; ".join(
            f"{label}: {n}×{n} starts, {e} epochs" for label, n, e in sizes) + ") runs"
    text = (f"{what} at the optimizer's learning rate, trained as the views train it; its "
            f"colour is the minimum it ends in. Hover for the start, the end and the epochs taken.")
    cut = [label for label, n, e in sizes if n < BASIN_POINTS or e < epochs]
    if cut:
        text += (f" {', '.join(cut)}: a coarser map than {BASIN_POINTS}×{BASIN_POINTS}"
                 f"{'' if all(e >= epochs for _, _, e in sizes) else f' and fewer than {epochs} epochs'}"
                 f", to keep the page quick (it steps each run alone).")
    return text


def _apply_tuned(tuned: dict) -> None:
    for run, lr in tuned.items():
        st.session_state[hyper_key(run, "lr")] = snap_learning_rate(lr)
    st.session_state["race_applied"] = True


def race_panel(config: Config, surface) -> None:
    specs = [sweep.OptimizerSpec(_name(c), *_spec(c)) for c in config.runs]
    key = (surface_key(config), config.runs, _training(config))
    # The race takes one set of training settings for every optimizer: the page's.
    settings = sweep_settings(config)
    if any(c.own_settings() for c in config.runs):
        st.caption("The race trains every optimizer with the page's batch size, clipping and "
                   "schedule, not a run's own.")
    try:
        result = cache.cached("race", key, lambda: sweep.race(
            surface, specs, start=config.start_point(), epochs=config.epochs,
            tol=TOLERANCE, lrs=LRS, budget=sweep.EXPLORE_BUDGET, **settings))
    except ValueError as err:
        st.error(str(err), icon=":material/warning:")
        return
    st.dataframe(explore.race_table(result), hide_index=True, width="stretch")
    st.caption("The rule: " + result.rule)
    for entry in result.entries:
        if entry.sweep is None:  # not run: too much work (its row's status says so)
            continue
        note = cut_note(entry.label, entry.sweep.lrs, entry.sweep.epochs, result.lrs, result.epochs)
        if note:
            st.caption(note + " Its row is not on equal terms with the others.")
    tuned = {c.key: e.lr for c, e in zip(config.runs, result.entries) if e.lr is not None}
    if tuned:
        st.button("Race them side by side with these learning rates", key="race_apply",
                  on_click=_apply_tuned, args=(tuned,), type="primary")
    if st.session_state.pop("race_applied", False):
        st.success("Each optimizer now runs with its tuned learning rate in the views above.")
