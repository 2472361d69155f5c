"""Ready-made lessons: a configuration, an explanation in classroom words, and what to watch for.

Each lesson's claim is checked against the engine's own results in tests/test_lessons.py, so
what the lesson says is what the room will see.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lab.config import Config, RunChoice


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    explanation: str
    watch_for: str
    config: Config


def _lesson(key, title, explanation, watch_for, **config) -> Lesson:
    return Lesson(key, title, explanation, watch_for, replace(Config(**config), lesson=key))


LESSONS = {lesson.key: lesson for lesson in (
    _lesson(
        "lr-too-small", "A learning rate too small: crawling",
        "The bowl is 25 times steeper across than along. With η = 0.002 each step is tiny: the "
        "weights creep downhill and after 100 epochs they are still far from the bottom.",
        "The dots bunch up and hardly move. The loss curve falls slowly and is still high at the "
        "end. Move the learning rate up a few stops and play again.",
        surface="bowl", runs=(RunChoice("sgd"),), learning_rate=0.002, epochs=100),
    _lesson(
        "lr-just-right", "A learning rate just right",
        "With η = 0.05, below the stability limit 2/λ_max = 0.08 of this bowl, each step goes "
        "most of the way downhill without overshooting.",
        "The path zig-zags a little across the steep direction, then settles at the minimum; the "
        "loss falls below 0.001 within 100 epochs.",
        surface="bowl", runs=(RunChoice("sgd"),), learning_rate=0.05, epochs=100),
    _lesson(
        "lr-too-large", "A learning rate too large: overshooting, then divergence",
        "Along a direction of curvature λ, a step of gradient descent multiplies the distance to "
        "the minimum by (1 − η·λ). The steep direction of this bowl has λ_max = 25, so any "
        "η above 2/λ_max = 0.08 makes that factor larger than 1 in size: every step overshoots "
        "further than the last. Here η = 0.09, so the factor is 1 − 0.09·25 = −1.25.",
        "The dots jump from one wall of the valley to the other, a quarter higher each time, "
        "until the run leaves the picture and the page reports the divergence and its epoch.",
        surface="bowl", runs=(RunChoice("sgd"),), learning_rate=0.09, epochs=60, start=(-4.5, 0.2)),
    _lesson(
        "momentum-valley", "Momentum through a narrow valley",
        "The bowl is 25 times steeper across than along. A learning rate safe for the steep walls "
        "(η = 0.02) makes plain SGD crawl along the shallow floor: each step closes only 2% of the "
        "distance. Momentum keeps a running velocity, so the small steps along the floor add up.",
        "SGD slides smoothly but slowly. Momentum swings across the valley a few times, yet "
        "reaches the bottom (loss within 0.001) in about a quarter of SGD's epochs: compare the "
        "'epoch within' column of the summary table.",
        surface="bowl", runs=(RunChoice("sgd"), RunChoice("momentum")), learning_rate=0.02,
        epochs=300),
    _lesson(
        "adam-vs-sgd", "Adam against SGD on Rosenbrock",
        "Rosenbrock's valley is curved and its floor is almost flat. SGD must use a small "
        "learning rate to survive the steep walls, so it crawls along the floor. Adam divides "
        "each step by a running size of the gradient, so it keeps moving where the floor is flat.",
        "SGD (η = 0.001) is still high up the valley after 500 epochs; Adam (η = 0.1) follows "
        "the curve to near the minimum at (1, 1).",
        surface="rosenbrock", runs=(RunChoice("sgd"), RunChoice("adam", (("lr", 0.1),))),
        learning_rate=0.001, epochs=500),
    _lesson(
        "saddle", "A saddle point: the stall",
        "At the centre of x² − y² the gradient is zero, but it is not a minimum: downhill in one "
        "direction, uphill in the other. Starting almost on the ridge, gradient descent slides to "
        "the centre and nearly stops there.",
        "The dots crowd together near the centre for dozens of epochs while the gradient shrinks "
        "towards zero; then the tiny sideways offset grows and the run escapes downhill.",
        surface="saddle", runs=(RunChoice("sgd"),), learning_rate=0.05, epochs=110),
    _lesson(
        "local-minima", "Local minima: where you start decides where you end",
        "Himmelblau's function has four minima, all equally low. Gradient descent only ever "
        "goes downhill from where it is, so it ends in the valley whose slope it starts on.",
        "From the default start the run ends near (−3.78, −3.28). Click the contour map near "
        "(0.5, 0.5) and it ends at (3, 2) instead; near (−1, 1), at (−2.81, 3.13).",
        surface="himmelblau", runs=(RunChoice("sgd"),), learning_rate=0.01, epochs=300),
    _lesson(
        "minibatch-noise", "Mini-batch noise against the full batch",
        "With a batch of 4 out of 64 points, each step sees only a few data points, so its "
        "gradient is a noisy estimate of the full one: right on average, wrong in detail.",
        "The path wobbles and the loss curve goes up as well as down; set the batch size to "
        "'full' and the same run goes smoothly downhill.",
        surface="linear_regression", runs=(RunChoice("sgd"),), learning_rate=0.05, epochs=100,
        batch_size=4),
    _lesson(
        "clipping", "Gradient clipping tames a steep cliff",
        "Rosenbrock's walls are so steep that, with η = 0.003, one gradient step flings the "
        "weights far away and the run diverges within a few epochs. Clipping the gradient's "
        "norm to 10 caps the length of every step, so the run survives the walls.",
        "With clipping on, the run survives the walls and keeps going downhill, slowly, because "
        "the clipped steps are short. Turn clipping off (More → Gradient clipping) and the page "
        "reports a divergence at epoch 4.",
        surface="rosenbrock", runs=(RunChoice("sgd"),), learning_rate=0.003, epochs=300,
        clip="norm", clip_limit=10.0),
    _lesson(
        "schedule", "A learning-rate schedule settles the noise",
        "With tiny mini-batches, a constant learning rate keeps the weights jittering around the "
        "minimum. Cosine annealing shrinks η to zero by the last epoch: big steps early, careful "
        "steps at the end.",
        "The jitter dies down as η falls, and the final loss ends much closer to the minimum "
        "than with the schedule set to constant.",
        surface="linear_regression", runs=(RunChoice("sgd"),), learning_rate=0.1, epochs=200,
        batch_size=2, schedule="cosine"),
)}


def get(key: str) -> Lesson:
    try:
        return LESSONS[key]
    except KeyError:
        raise KeyError(f"Unknown lesson {key!r}; choose one of: {', '.join(LESSONS)}") from None
