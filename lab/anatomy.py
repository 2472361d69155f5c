"""The anatomy of one step, as text: the five steps of the lesson with the engine's own numbers.

`anatomy_sections` is pure (numbers in, markdown and LaTeX out) so tests can check that what the
page prints is what the engine used. The page renders the sections with st.markdown/st.latex.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.anatomy import SampleView, state_buffers
from engine.train import Step

# f and ∇f of the classic surfaces, in the lesson's notation (w1, w2).
# Words for the optimizer state buffers, in the lesson's vocabulary.
BUFFER_WORDS = {
    "momentum_buffer": "velocity (momentum buffer)",
    "sum": "sum of squared gradients",
    "square_avg": "running mean of squared gradients",
    "grad_avg": "running mean of gradients",
    "acc_delta": "running mean of squared updates",
    "mu": "first moment m (running mean of gradients)",
    "nu": "second moment v (running mean of squared gradients)",
    "nu_max": "largest second moment so far (AMSGrad)",
    "inf_norm": "running max of |gradient| (infinity norm)",
    "prev": "previous gradient, zeroed where its sign flipped (Rprop)",
}  # Rprop's step sizes, ASGD's average and Adafactor's v are told by family_notes



def buffers(state, hyper: dict | None = None) -> dict[str, np.ndarray]:
    """The optimizer's per-weight buffers in `state`, named in words; with `hyper`, only those
    its settings use (no AMSGrad maximum when AMSGrad is off)."""
    unused = {"nu_max"} if hyper is not None and not hyper.get("amsgrad") else set()
    return {BUFFER_WORDS[name]: value for name, value in state_buffers(state).items()
            if name in BUFFER_WORDS and name not in unused}


def lines(*rows: str) -> str:
    """Formulas one under the other, centred (a long line would be cut off in a half-width column)."""
    return r"\begin{gathered}" + r" \\ ".join(rows) + r"\end{gathered}"


FORMULAS = {
    "bowl": (r"f = \tfrac12\,(w_1^2 + 25\,w_2^2)", r"\nabla f = (w_1,\; 25\,w_2)"),
    "rosenbrock": (r"f = (1-w_1)^2 + 100\,(w_2-w_1^2)^2",
                   lines(r"\partial f/\partial w_1 = -2(1-w_1) - 400\,w_1(w_2-w_1^2)",
                         r"\partial f/\partial w_2 = 200\,(w_2-w_1^2)")),
    "beale": (lines(r"f = r_1^2 + r_2^2 + r_3^2,\quad r_1 = 1.5 - w_1 + w_1w_2,",
                    r"r_2 = 2.25 - w_1 + w_1w_2^2,\quad r_3 = 2.625 - w_1 + w_1w_2^3"),
              r"\nabla f = \sum_k 2\,r_k\,\nabla r_k"),
    "himmelblau": (r"f = (w_1^2 + w_2 - 11)^2 + (w_1 + w_2^2 - 7)^2",
                   lines(r"\partial f/\partial w_1 = 4w_1(w_1^2+w_2-11) + 2(w_1+w_2^2-7)",
                         r"\partial f/\partial w_2 = 2(w_1^2+w_2-11) + 4w_2(w_1+w_2^2-7)")),
    "rastrigin": (r"f = 20 + \sum_i \big(w_i^2 - 10\cos 2\pi w_i\big)",
                  r"\partial f/\partial w_i = 2w_i + 20\pi \sin 2\pi w_i"),
    "ackley": (lines(r"f = -20\,e^{-0.2\sqrt{(w_1^2+w_2^2)/2}}",
                     r"- e^{(\cos 2\pi w_1 + \cos 2\pi w_2)/2} + e + 20"),
               r"\nabla f = \text{chain rule through both exponentials}"),
    "saddle": (r"f = w_1^2 - w_2^2", r"\nabla f = (2w_1,\; -2w_2)"),
    "booth": (r"f = (w_1 + 2w_2 - 7)^2 + (2w_1 + w_2 - 5)^2",
              lines(r"\partial f/\partial w_1 = 2(w_1+2w_2-7) + 4(2w_1+w_2-5)",
                    r"\partial f/\partial w_2 = 4(w_1+2w_2-7) + 2(2w_1+w_2-5)")),
    "six_hump_camel": (lines(r"f = (4 - 2.1w_1^2 + w_1^4/3)\,w_1^2",
                             r"+ w_1w_2 + (-4 + 4w_2^2)\,w_2^2"),
                       lines(r"\partial f/\partial w_1 = 8w_1 - 8.4w_1^3 + 2w_1^5 + w_2",
                             r"\partial f/\partial w_2 = w_1 - 8w_2 + 16w_2^3")),
    "styblinski_tang": (r"f = \tfrac12 \sum_i (w_i^4 - 16w_i^2 + 5w_i)",
                        r"\partial f/\partial w_i = 2w_i^3 - 16w_i + 2.5"),
    "plateau": (r"f = 1 - e^{-(w_1^2+w_2^2)/2}", r"\nabla f = (w_1,\; w_2)\,e^{-(w_1^2+w_2^2)/2}"),
}

# For each data model: the forward pass, the loss, and for each weight the chain-rule factors
# whose product is that weight's per-sample gradient.
MODELS = {
    "linear_regression": {
        "forward": [r"z = w\,x + b", r"\hat y = z"],
        "loss": r"\ell = (\hat y - y)^2,\quad L = \tfrac1B \textstyle\sum_{i\in\text{batch}} \ell_i",
        "chains": {"w": ["dL_dyhat", "dyhat_dw"], "b": ["dL_dyhat", "dyhat_db"]},
    },
    "logistic_regression": {
        "forward": [r"z = w\,x + b", r"p = \sigma(z) = 1/(1+e^{-z})"],
        "loss": r"\ell = -\big[y\log p + (1-y)\log(1-p)\big],\quad L = \tfrac1B \textstyle\sum \ell_i",
        "chains": {"w": ["dL_dp", "dp_dz", "dz_dw"], "b": ["dL_dp", "dp_dz", "dz_db"]},
    },
    "two_weight_net": {
        "forward": [r"z = w_1\,x", r"a = \tanh z", r"\hat y = w_2\,a"],
        "loss": r"\ell = (\hat y - y)^2,\quad L = \tfrac1B \textstyle\sum \ell_i",
        "chains": {"w1": ["dL_dyhat", "dyhat_da", "da_dz", "dz_dw1"], "w2": ["dL_dyhat", "dyhat_dw2"]},
    },
}

SYMBOLS = {"yhat": r"\hat y", "dL_dyhat": r"\partial\ell/\partial\hat y", "dyhat_dw": r"\partial\hat y/\partial w",
           "dyhat_db": r"\partial\hat y/\partial b", "dL_dp": r"\partial\ell/\partial p",
           "dp_dz": r"\partial p/\partial z", "dz_dw": r"\partial z/\partial w", "dz_db": r"\partial z/\partial b",
           "dyhat_da": r"\partial\hat y/\partial a", "da_dz": r"\partial a/\partial z",
           "dz_dw1": r"\partial z/\partial w_1", "dyhat_dw2": r"\partial\hat y/\partial w_2",
           "dL_dz": r"\partial\ell/\partial z", "w1": "w_1", "w2": "w_2"}

RULES = {
    "sgd": r"w \leftarrow w - \eta\, g",
    "momentum": r"v \leftarrow \mu v + g,\quad w \leftarrow w - \eta\, v",
    "nesterov": r"v \leftarrow \mu v + g,\quad w \leftarrow w - \eta\,(g + \mu v)",
    "adagrad": r"s \leftarrow s + g^2,\quad w \leftarrow w - \eta\, g/(\sqrt{s} + \varepsilon)",
    "rmsprop": r"v \leftarrow \alpha v + (1-\alpha) g^2,\quad w \leftarrow w - \eta\, g/(\sqrt{v} + \varepsilon)",
    "adadelta": lines(r"v \leftarrow \rho v + (1-\rho) g^2,\quad \Delta = \tfrac{\sqrt{u+\varepsilon}}{\sqrt{v+\varepsilon}}\,g",
                      r"w \leftarrow w - \eta\,\Delta"),
    "adam": lines(r"m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2",
                  r"w \leftarrow w - \eta\,\hat m/(\sqrt{\hat v} + \varepsilon)"),
    "adamw": r"w \leftarrow w(1-\eta\lambda),\ \text{then Adam's step}",
    "nadam": lines(r"\text{Adam with Nesterov momentum:}",
                   r"w \leftarrow w - \eta\,[\ldots\, g + \ldots\, m]/(\sqrt{\hat v}+\varepsilon)"),
    "adamax": lines(r"m \leftarrow \beta_1 m + (1-\beta_1) g,\quad u \leftarrow \max(\beta_2 u, |g| + \varepsilon)",
                    r"w \leftarrow w - \tfrac{\eta}{1-\beta_1^t}\, m/u"),
    "radam": lines(r"\text{Adam whose step is rectified (}r_t\text{)}",
                   r"\text{once } \rho_t > 5\text{; plain momentum before}"),
    "rprop": lines(r"s_i = \operatorname{sign}(g_i\,g_i^\text{prev}),\quad "
                   r"\delta_i \leftarrow \operatorname{clamp}(\delta_i\cdot\{1.2,\,0.5,\,1\}_{s_i=+1,-1,0})",
                   r"w_i \leftarrow w_i - \operatorname{sign}(g_i)\,\delta_i\quad(g_i := 0\text{ after a flip})"),
    "asgd": lines(r"w \leftarrow w(1-\lambda\eta_t) - \eta_t\,g,\quad \eta_t = \eta/(1+\lambda\eta t)^\alpha",
                  r"a_x \leftarrow a_x + \mu_t\,(w - a_x),\quad \mu_t = 1/\max(1,\,t-t_0)"),
    "adafactor": lines(r"v \leftarrow v + t^{c}\,(g^2 - v),\quad u = g/\sqrt{v}",
                       r"w \leftarrow w - \frac{\min(\eta, 1/\sqrt t)\,\max(\varepsilon_2, \mathrm{RMS}(w))}"
                       r"{\max(1,\,\mathrm{RMS}(u)/d)}\,u"),
    "muon": lines(r"B \leftarrow \mu B + (1-\mu)\,g,\quad U = g + \mu(B - g)\ \text{(Nesterov)}",
                  r"O = \text{Newton–Schulz}(U)\ \text{in bfloat16},\quad w \leftarrow w(1-\eta\lambda) - \eta\,O"),
    "lbfgs": lines(r"d = -H g\ \text{(two-loop recursion over the last }(s, y)\text{ pairs)}",
                   r"w \leftarrow w + t\,d,\quad t = \eta\ \text{or a strong-Wolfe line search}"),
    "newton": lines(r"w \leftarrow w - \eta\,(H + \lambda I)^{-1} g",
                    r"\text{(not a torch optimizer; }H\text{ the exact Hessian)}"),
}


def rule_for(preset: str, hyper: dict) -> str:
    """Which update rule to show: SGD's depends on its momentum settings, not its menu name."""
    if preset in ("sgd", "momentum", "nesterov"):
        if not hyper.get("momentum"):
            return "sgd"
        return "nesterov" if hyper.get("nesterov") else "momentum"
    return "lbfgs" if preset == "lbfgs_wolfe" else preset


def num(value: float) -> str:
    """A number for LaTeX: 4 significant digits, powers of ten written out."""
    value = float(value)
    if not math.isfinite(value):
        return r"\infty" if value > 0 else (r"-\infty" if value < 0 else r"\text{NaN}")
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa}\times10^{{{int(exponent)}}}"
    return text


def factor(value: float) -> str:
    """A number as a factor in a product or after a minus sign: a negative one in parentheses."""
    text = num(value)
    return rf"\left({text}\right)" if text.startswith("-") else text


def vec(values) -> str:
    return r"\big(" + ",\\; ".join(num(v) for v in np.ravel(values)) + r"\big)"


@dataclass
class Section:
    title: str
    latex: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _list(values) -> str:
    return ", ".join(f"{v:.4g}" for v in np.ravel(values))


def family_notes(rule: str, step: Step, hyper: dict, surface) -> list[str]:
    """What makes the newer families different, in this step's numbers: Rprop's sign rule and
    per-weight step sizes, ASGD's average, Adafactor's second moment and relative step, Muon's
    orthogonalized step and its length, L-BFGS's direction and accepted step, Newton's Hessian."""
    before, after, g = step.state_before, step.state_after, np.asarray(step.clipped)
    if rule == "rprop":
        signs = np.sign(g * before.prev)
        words = {1.0: "kept (×etaplus)", -1.0: "flipped (×etaminus, this weight rests)", 0.0: "no previous (×1)"}
        return ["Sign rule, per weight: " + "; ".join(words.get(float(v), "?") for v in signs) + ".",
                f"Step sizes {_list(before.step_size if before.count else np.full_like(g, step.lr))} "
                f"→ {_list(after.step_size)}: each weight moves by its own step size, whatever |g| is."]
    if rule == "asgd":
        eta = before.eta if before.count else step.lr  # torch sets η_1 = lr at the first step
        return [f"η_t used this step: {float(np.max(eta)):.4g}; averaging weight μ = {before.mu:.4g}.",
                f"Averaged weights a_x = {_list(after.ax)} (the dashed path); torch reports w, not a_x."]
    if rule == "adafactor":
        t = after.count
        rms_w = float(np.sqrt(np.mean(np.asarray(step.params) ** 2)))
        u = g / np.sqrt(np.maximum(after.variance, np.finfo(float).eps ** 2))
        return [f"Second moment v = {_list(after.variance)} (a vector's, unfactored; a matrix keeps "
                f"one row and one column factor instead).",
                f"Relative step: min(η, 1/√t) · max(eps2, RMS(w)) = {min(step.lr, t ** -0.5):.4g} · "
                f"{max(hyper.get('eps2', 1e-3), rms_w):.4g}; RMS(u) = {float(np.sqrt(np.mean(u * u))):.4g}."]
    if rule == "muon":
        from engine.rounding import newton_schulz_row

        mom = float(hyper.get("momentum", 0.95))
        buf = after.momentum_buffer
        u = g + mom * (buf - g) if hyper.get("nesterov", True) else buf
        coefficients = tuple(hyper.get(k, d) for k, d in (("ns_a", 3.4445), ("ns_b", -4.775), ("ns_c", 2.0315)))
        ortho = newton_schulz_row(u, coefficients, int(hyper.get("ns_steps", 5)), float(hyper.get("eps", 1e-7)))
        return [f"Orthogonalized step O = {_list(ortho)}, length ‖O‖ = {float(np.linalg.norm(ortho)):.4g} "
                f"(the momentum's length was {float(np.linalg.norm(u)):.4g}): on a 1×2 matrix only the "
                f"direction survives."]
    if rule == "lbfgs":
        evals = after.func_evals - before.func_evals
        notes = [f"This step evaluated the loss and gradient {evals} time(s); {len(after.old_dirs)} "
                 f"(s, y) pair(s) in its history."]
        if after.d is not None and after.t is not None:
            notes.append(f"Last search direction d = {_list(after.d)}, accepted step t = {float(after.t):.4g} "
                         f"(steepest descent would be −g = {_list(-g)}).")
        return notes
    if rule == "newton":
        h = np.asarray(surface.hessian(step.params), dtype=np.float64)
        eig = np.linalg.eigvalsh(h)
        return [f"Hessian H = [[{_list(h[0])}], [{_list(h[1])}]], eigenvalues {_list(eig)}"
                + (": a saddle (one negative), so the pure step heads for it." if eig[0] < 0 < eig[-1] else ".")]
    return []


def anatomy_sections(surface, step: Step, preset: str, sample: SampleView | None,
                     weight_names=("w_1", "w_2"), hyper: dict | None = None) -> list[Section]:
    """The five steps for one engine step, numbers taken from `step` (and `sample`); `hyper`,
    the optimizer's settings, leaves out buffers they do not use."""
    sections = []
    n = surface.n_samples
    batch_size = n if step.batch is None else len(step.batch)
    model = MODELS.get(surface.name)
    if sample is not None and model is not None:
        fwd = Section("1 · Forward pass", notes=[
            f"Sample #{sample.index} of this mini-batch ({batch_size} of {n} samples) goes through the model "
            f"with the current weights."])
        fwd.latex += model["forward"]
        fwd.latex.append(", ".join(f"{SYMBOLS.get(k, k)} = {num(v)}" for k, v in sample.forward.items()))
        sections.append(fwd)
        sections.append(Section("2 · Loss", latex=[
            model["loss"],
            rf"\ell_{{\#{sample.index}}} = {num(sample.sample_loss)},\qquad L_\text{{batch}} = {num(sample.batch_loss)}"]))
        back = Section("3 · Backward pass (chain rule)", notes=[
            "Each factor is a local derivative; multiplying them gives this sample's gradient. "
            "The batch gradient is the mean over the batch."])
        for weight, (name, chain) in zip(sample.sample_grad, model["chains"].items()):
            factors = r" \cdot ".join(factor(sample.factors[f]) for f in chain)
            symbols = r" \cdot ".join(SYMBOLS.get(f, f) for f in chain)
            # the symbols, then the numbers under them: on one line it was cut off on the right
            back.latex.append(lines(rf"\partial\ell/\partial {SYMBOLS.get(name, name)} = {symbols}",
                                    rf"= {factors} = {num(weight)}"))
        back.latex.append(rf"g = \tfrac1B\textstyle\sum_i \nabla\ell_i = {vec(step.grad)}")
        sections.append(back)
    else:
        f_tex, grad_tex = FORMULAS.get(surface.name, ("f(w)", r"\nabla f(w)"))
        sec = Section("1–3 · Loss and gradient at the point", latex=[f_tex, grad_tex])
        sec.latex.append(rf"w = {vec(step.params)},\quad f(w) = {num(surface.loss(step.params))}")
        full = surface.grad(step.params)
        sec.latex.append(rf"\nabla f(w) = {vec(full)}")
        if step.batch is not None:
            sec.notes.append(f"Mini-batch of {batch_size} of the {n} noisy copies: its gradient is "
                             f"∇f plus the batch's average offset, right on average.")
            sec.latex.append(rf"g = \nabla f(w) + \bar a_\text{{batch}} = {vec(step.grad)}")
        else:
            sec.latex.append(rf"g = \nabla f(w) = {vec(step.grad)}")
        sections.append(sec)

    upd = Section("4 · Optimization (update)", latex=[RULES.get(preset, RULES["sgd"])])
    if not np.array_equal(step.clipped, step.grad):
        upd.latex.append(rf"\text{{clipped }} g = {vec(step.clipped)}")
    delta = step.new_params - step.params
    if preset == "sgd":  # plain gradient descent: the rule with the numbers in it
        for i, name in enumerate(weight_names):
            upd.latex.append(
                rf"{name}^\text{{new}} = {num(step.params[i])} - {num(step.lr)} \cdot {factor(step.clipped[i])} "
                rf"= {num(step.new_params[i])}")
    else:
        upd.latex.append(lines(rf"\eta = {num(step.lr)},\quad w = {vec(step.params)}", rf"g = {vec(step.clipped)}"))
        for words, value in buffers(step.state_after, hyper).items():
            upd.notes.append(f"{words}: {', '.join(f'{v:.4g}' for v in np.ravel(value))}")
        upd.latex.append(lines(rf"\Delta w = {vec(delta)}", rf"w^\text{{new}} = {vec(step.new_params)}"))
        with np.errstate(all="ignore"):
            effective = np.where(step.clipped != 0, -delta / step.clipped, np.nan)
        upd.notes.append("Effective learning rate per weight (−Δw / g): "
                         + ", ".join("—" if not np.isfinite(v) else f"{v:.4g}" for v in effective))
        upd.notes += family_notes(preset, step, hyper or {}, surface)
    sections.append(upd)
    steps_per_epoch = math.ceil(n / batch_size)
    sections.append(Section("5 · Iterate", notes=[
        f"This was step {step.index + 1} of {steps_per_epoch} in epoch {step.epoch} "
        f"(batch size {batch_size} of {n}); each epoch shuffles the samples and visits all of them."]))
    return sections


@dataclass(frozen=True)
class CurvaturePoint:
    """A point where the curvature panel judges a learning rate: `eta` is the η the inspected
    run itself used there (its own or the shared one, through its schedule), `whose` says so."""

    where: str
    params: np.ndarray
    eta: float
    whose: str


def epoch_lr(base_lr: float, schedule, epoch: int) -> float:
    """The η the engine uses during `epoch` (1-based), as engine.train asks the schedule."""
    return float(base_lr) if schedule is None else float(schedule(max(epoch, 1) - 1, base_lr))


def curvature_points(start, label: str | None, base_lr: float, schedule,
                     step: Step | None) -> list[CurvaturePoint]:
    """The start and, when a step is inspected, its epoch, each with the η of the inspected run
    (`label`, whose η is `base_lr` before its `schedule`): the η of epoch 1 at the start and
    the η the engine used in the inspected step at that epoch. Without a run (label None) it is
    the page's shared η."""
    if label is None:
        return [CurvaturePoint("the start", np.asarray(start, dtype=float), float(base_lr),
                               "The shared η")]
    scheduled = schedule is not None
    first = epoch_lr(base_lr, schedule, 1)
    points = [CurvaturePoint("the start", np.asarray(start, dtype=float), first,
                             f"The η of {label}" + (" in epoch 1 (by its schedule)" if scheduled else ""))]
    if step is not None:
        points.append(CurvaturePoint(f"epoch {step.epoch} ({label})", np.asarray(step.params),
                                     float(step.lr), f"The η of {label}"
                                     + (f" in epoch {step.epoch} (by its schedule)" if scheduled else "")))
    return points
