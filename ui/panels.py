"""The panels under the views: the five steps of one epoch, curvature and the learning rate,
the summary table, and sharing and export. Each draws into the current Streamlit container."""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import streamlit as st

from engine.anatomy import replay_step, sample_view
from engine.curvature import curvature
from figures.html import figures_html, size_words
from lab import anatomy, export
from lab import runs as lab_runs
from lab.config import Config


INSPECT_EPOCH = "inspect_epoch"  # widget key of the five steps' epoch slider
UPLOAD_KEY = "upload_runs"  # widget key of the runs-file uploader


def set_inspected_epoch(epoch: int) -> None:
    """The epoch the user settled on in the views becomes the five steps' epoch."""
    st.session_state[INSPECT_EPOCH] = max(1, int(epoch))


def inspected_step(config: Config, surface, ran: list, *, draw_controls: bool):
    """The run and engine step chosen for inspection (the run selector and epoch slider are drawn
    when `draw_controls`); (None, None) when the run stopped before any step."""
    if not ran:
        return None, None
    ss = st.session_state
    labels = [r.choice.label for r in ran]
    if ss.get("inspect_run") not in labels:
        ss["inspect_run"] = labels[0]
    if draw_controls:
        left, right = st.columns([1, 2])
        left.selectbox("Run", labels, key="inspect_run")
    chosen = ran[labels.index(ss["inspect_run"])]
    last_epoch = len(chosen.trajectory.loss) - 1
    if last_epoch < 1:
        return chosen, None
    # Until the user settles on an epoch in the views, the last one: what the views show.
    wanted = ss.get(INSPECT_EPOCH, last_epoch)
    ss[INSPECT_EPOCH] = min(max(1, int(wanted)), last_epoch)
    if draw_controls:
        right.slider("Epoch to take apart", 1, max(last_epoch, 2), key=INSPECT_EPOCH,
                     disabled=last_epoch == 1,
                     help="Pausing or scrubbing the views above also sets this epoch.")
    epoch = min(int(ss[INSPECT_EPOCH]), last_epoch)
    batch = lab_runs.batch_size(config, chosen.choice)
    steps_per_epoch = 1 if batch is None else -(-surface.n_samples // batch)
    index = 0
    if steps_per_epoch > 1:
        ss["inspect_step"] = min(max(1, int(ss.get("inspect_step", 1))), steps_per_epoch)
        if draw_controls:
            right.slider("Mini-batch step within the epoch", 1, steps_per_epoch, key="inspect_step")
        index = int(ss["inspect_step"]) - 1
    step = replay_step(
        surface, chosen.choice.make(config.learning_rate), epoch=epoch, index=index, epochs=config.epochs,
        batch_size=batch, start=config.start_point(), seed=config.seed,
        clip=lab_runs.make_clip(config, chosen.choice),
        schedule=lab_runs.make_schedule(config, chosen.choice))
    return chosen, step


def five_steps(config: Config, surface, ran: list) -> None:
    chosen, step = inspected_step(config, surface, ran, draw_controls=True)
    if chosen is None:
        return
    if step is None:
        st.info("This run stopped before any step was taken.")
        return
    names = surface.model.weight_names if surface.model is not None else ("w1", "w2")
    sections = anatomy.anatomy_sections(
        surface, step, anatomy.rule_for(chosen.choice.preset, chosen.choice.hyper()),
        sample_view(surface, step), weight_names=tuple(anatomy.SYMBOLS.get(n, n) for n in names),
        hyper=chosen.choice.hyper())
    cols = st.columns(2)
    for i, section in enumerate(sections):
        with cols[i % 2]:
            st.markdown(f"**{section.title}**")
            for line in section.latex:
                st.latex(line)
            for note in section.notes:
                st.caption(note)


def curvature_and_lr(config: Config, surface, ran: list) -> None:
    # Judge the η the inspected run used, not the shared one: a run may have its own η and schedule.
    chosen, step = inspected_step(config, surface, ran, draw_controls=False)
    if chosen is None:
        points = anatomy.curvature_points(config.start_point(), None, config.learning_rate, None, None)
    else:
        points = anatomy.curvature_points(
            config.start_point(), chosen.choice.label, chosen.choice.lr(config.learning_rate),
            lab_runs.make_schedule(config, chosen.choice), step)
    cols = st.columns(len(points))
    for col, point in zip(cols, points):
        where, w, eta = point.where, point.params, point.eta
        c = curvature(surface, w)
        with col:
            st.markdown(f"**At {where}**, w = ({w[0]:.4g}, {w[1]:.4g})")
            if not np.all(np.isfinite(c.eigenvalues)):
                st.caption("The curvature is not defined at this point (a kink).")
                continue
            st.latex(rf"\lambda = {anatomy.num(c.eigenvalues[0])},\ {anatomy.num(c.eigenvalues[1])}"
                     rf"\qquad \kappa = {anatomy.num(c.condition)}")
            if np.isfinite(c.lr_limit):
                ratio = eta / c.lr_limit
                st.latex(rf"\eta = {anatomy.num(eta)}\quad\text{{vs}}\quad "
                         rf"2/\lambda_{{max}} = {anatomy.num(c.lr_limit)}")
                st.progress(min(1.0, ratio / 2), text=f"{point.whose} is {ratio:.3g} times the "
                                                      f"stability limit of plain gradient descent here")
                if ratio > 1:
                    st.caption("Above the limit: along the steepest direction each plain gradient step "
                               "overshoots by more than it corrects, so the error grows.")
                else:
                    st.caption("Below the limit: plain gradient descent shrinks the error along every "
                               "direction here.")
            else:
                st.caption("No positive curvature here: nothing to overshoot, the surface bends down "
                           "(a saddle or a maximum) or is flat.")
            if c.eigenvalues[0] < 0 < c.eigenvalues[-1]:
                st.caption("One eigenvalue is negative and one positive: this is saddle-shaped.")
    st.caption("The limit is for plain gradient descent near a point; momentum and adaptive "
               "optimizers rescale the step, so their limits differ.")


def summary_table(results: list) -> None:
    rows = lab_runs.summary_rows(results)
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(f"Tolerance: the loss within {lab_runs.TOLERANCE:g} of the best minimum's loss. "
               f"Distance: from the last finite weights to the nearest known minimum.")


def network_summary(result) -> None:
    """The network mode's table: last-epoch training and held-out loss and accuracy per run."""
    rows = lab_runs.network_summary_rows(result)
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    st.caption("Training: the samples the network learns from. Held out: samples it never trains "
               "on; where its loss climbs while the training loss falls, the network is "
               "memorizing its training samples (overfitting). Values at the last epoch (before a "
               "divergence, the last finite one).")


def share_and_export(config: Config, query: dict, results: list, figs: dict, surface, *,
                     on_upload) -> None:
    """The surface page's Share and export panel."""
    export_panel(config, query, results, figs, f"Descent Lab · {surface.title}",
                 csv_text=lambda: export.to_csv(config, results),
                 json_text=lambda: export.to_json(config, results), on_upload=on_upload)


def export_panel(config: Config, query: dict, runs: list, figs: dict, title: str, *, csv_text,
                 json_text, on_upload=None) -> None:
    """Share and export, for either mode: the link, the runs as CSV and as JSON with the settings
    (`csv_text`, `json_text` make them when asked), the figures as offline HTML, loading a saved
    file (with `on_upload`), and any run (with .choice and .trajectory) as a PyTorch script."""
    base_url = (st.context.url or "").split("?")[0]
    st.markdown("**Copy link**: it reopens exactly this page.")
    st.code(f"{base_url.rstrip('/')}/?{urlencode(query)}", language=None, wrap_lines=True)
    c1, c2, c3 = st.columns(3)
    c1.download_button("Trajectories (CSV)", csv_text, file_name="descent-lab-runs.csv",
                       mime="text/csv", key="dl_csv", on_click="ignore")
    c2.download_button("Trajectories and settings (JSON)", json_text,
                       file_name="descent-lab-runs.json", mime="application/json", key="dl_json",
                       on_click="ignore")
    page = figures_html(figs, title)  # built now: its size is on the button
    c3.download_button(f"Figures (offline HTML, {size_words(len(page.encode()))})", page,
                       file_name="descent-lab-figures.html", mime="text/html", key="dl_html",
                       on_click="ignore", help="The three views with Plotly inside: opens without a "
                       "network at the last epoch, with an epoch slider and Play.")
    if on_upload is not None:
        st.file_uploader("Load runs saved as JSON", type=["json"], key=UPLOAD_KEY, on_change=on_upload)
    copy_as_pytorch(config, runs)


def copy_as_pytorch(config: Config, results: list) -> None:
    """Any run (with .choice and .trajectory) as one PyTorch script, shown and downloadable."""
    from lab.torch_script import torch_script

    ran = [r for r in results if r.trajectory is not None]
    if not ran:
        return
    st.markdown("**Copy as PyTorch**: one Python file that trains this run with torch.optim, with "
                "the same loss, settings and mini-batches, and checks that every epoch's weights "
                "agree with this page to 1e-10 (on a chaotic run, past the edge of stability: no "
                "further than torch agrees with itself from a start one ulp away).")
    labels = [r.choice.label for r in ran]
    chosen = ran[0]
    if len(ran) > 1:
        label = st.selectbox("Run to copy as PyTorch", labels, key="torch_run")
        chosen = ran[labels.index(label)] if label in labels else ran[0]
    try:
        script = torch_script(config, chosen)
    except (ValueError, KeyError) as err:  # e.g. a surface with no torch form yet
        st.info(f"{chosen.choice.label} has no PyTorch form here: {err}")
        return
    file_name = f"descent-lab-{chosen.choice.key}.py"
    st.download_button("PyTorch script (.py)", script, file_name=file_name, mime="text/x-python",
                       key="dl_torch", on_click="ignore")
    st.code(script, language="python", height=360)
    st.caption(f"Needs PyTorch (`pip install torch`). Run `python {file_name}`: it prints the largest "
               f"difference from this page's trajectory; `--out torch.json` also saves torch's own.")
