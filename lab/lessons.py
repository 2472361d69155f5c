"""Ready-made lessons: a configuration, an explanation in classroom words, and what to watch for.

Each lesson's claim is checked against the engine's own results in tests/test_lessons.py, so
what the lesson says is what the room will see.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lab.config import Config, RunChoice


@dataclass(frozen=True)
class Question:
    """A class-mode question about one of the lesson's runs (`run`: its index). The answer's
    truth is read from the engine's run of the lesson (classroom.questions), never written here.
    about: "position" (a point on the map at `epoch`, or at the end when None), "outcome"
    (converges / diverges / stalls), "minimum" (which of the surface's minima it ends in),
    "tolerance" (the epoch its loss first comes within the tolerance), "divergence" (the epoch
    it diverges)."""
    about: str
    prompt: str
    run: int = 0
    epoch: int | None = None


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    explanation: str
    watch_for: str
    config: Config
    questions: tuple[Question, ...] = ()


def _lesson(key, title, explanation, watch_for, **config) -> Lesson:
    return Lesson(key, title, explanation, watch_for, replace(Config(**config), lesson=key))


# The words fit the presenter-mode sidebar at 1280×720: a title of at most 28 characters (the
# menu does not cut it) and an explanation and watch-for of at most 330 characters together.
LESSONS = {lesson.key: lesson for lesson in (
    _lesson(
        "lr-too-small", "η too small: crawling",
        "The bowl is 25 times steeper across than along. With η = 0.002 every step is tiny.",
        "The blue dots creep a fifth of the way to the minimum in 100 epochs and the blue loss "
        "stays high; the orange run, η = 0.05, reaches the dotted 0.001 line. Move η up and replay.",
        surface="bowl", runs=(RunChoice("sgd"), RunChoice("sgd", (("lr", 0.05),), copy=1)),
        learning_rate=0.002, epochs=100),
    _lesson(
        "lr-just-right", "η just right",
        "η = 0.05 is below this bowl's stability limit 2/λ_max = 0.08: each step goes most of "
        "the way downhill without overshooting.",
        "The path zig-zags a little across the valley, then settles at the minimum; the loss "
        "crosses the dotted 0.001 line near epoch 90, within the 120 epochs.",
        surface="bowl", runs=(RunChoice("sgd"),), learning_rate=0.05, epochs=120),
    _lesson(
        "lr-too-large", "η too large: divergence",
        "A step multiplies the distance to the minimum by (1 − η·λ). Here λ_max = 25 and "
        "η = 0.1 > 2/λ_max, so that factor is 1 − 0.1·25 = −1.5.",
        "The dots jump from wall to wall, half as far again each time, until the run leaves "
        "the picture and the page reports the divergence and its epoch.",
        surface="bowl", runs=(RunChoice("sgd"),), learning_rate=0.1, epochs=60, start=(-4.5, 0.2)),
    _lesson(
        "momentum-valley", "Momentum in a narrow valley",
        "η = 0.02 is safe for the steep walls, but plain SGD then closes only 2% of the way along "
        "the shallow floor per step. Momentum adds up those small steps.",
        "SGD slides slowly; Momentum swings across a few times, yet its loss crosses the dotted "
        "0.001 line in far fewer epochs than SGD's (near 60 against 230).",
        surface="bowl", runs=(RunChoice("sgd"), RunChoice("momentum")), learning_rate=0.02,
        epochs=350),
    _lesson(
        "adam-vs-sgd", "Adam against SGD",
        "Each at its own η. SGD's best here, 0.002 (tuned as in the fair race), is one stop "
        "below divergence; Adam divides each step by the gradient's running size.",
        "Both end near the minimum at (1, 1). The η slider moves Adam: from 0.1 to 3 it still "
        "gets there. SGD's own η (its settings) forgives nothing: 0.0025 diverges, 0.0015 stalls.",
        surface="rosenbrock", runs=(RunChoice("sgd", (("lr", 0.002),)), RunChoice("adam")),
        learning_rate=0.2, epochs=500),
    _lesson(
        "saddle", "A saddle point: the stall",
        "At the centre of x² − y² the gradient is zero but it is no minimum: downhill one way, "
        "uphill the other. Starting almost on the ridge, the run slides to the centre.",
        "The dots crowd near the centre for about twenty epochs while the gradient shrinks; then "
        "the tiny sideways offset grows and the run escapes downhill.",
        surface="saddle", runs=(RunChoice("sgd"),), learning_rate=0.05, epochs=78),
    _lesson(
        "local-minima", "Local minima: the start",
        "Himmelblau's function has four equally low minima. Gradient descent only goes downhill, "
        "so it ends in the valley it starts in.",
        "From here the run ends near (−3.78, −3.28). Click the map near (0.5, 0.5) and it ends at "
        "(3, 2); near (−1, 1), at (−2.81, 3.13).",
        surface="himmelblau", runs=(RunChoice("sgd"),), learning_rate=0.01, epochs=300),
    _lesson(
        "minibatch-noise", "Mini-batch noise",
        "A batch of 4 of the 64 points gives each step a noisy gradient: right on average, wrong "
        "in detail. The full batch uses all 64, one smooth step an epoch.",
        "The orange batch-4 path wobbles on its way down: its small pale dots, one per step, "
        "scatter along and around the smooth blue path, and its loss goes up as well as down.",
        surface="logistic_regression",
        runs=(RunChoice("sgd", batch=0), RunChoice("sgd", batch=4, copy=1)),
        learning_rate=0.2, epochs=100, batch_size=4),
    _lesson(
        "clipping", "Gradient clipping",
        "Rosenbrock's walls are so steep that at η = 0.003 one step flings the weights away. "
        "Clipping the gradient's norm to 10 caps every step's length.",
        "The clipped blue run survives the walls and creeps downhill; the unclipped orange run "
        "diverges within five epochs, as the red box says.",
        surface="rosenbrock",
        runs=(RunChoice("sgd", clip="norm:10"), RunChoice("sgd", clip="off", copy=1)),
        learning_rate=0.003, epochs=300, clip="norm", clip_limit=10.0),
    _lesson(
        "schedule", "A schedule settles the noise",
        "With batches of 2, a constant η keeps the weights jittering around the minimum. Cosine "
        "annealing shrinks η to zero by the last epoch.",
        "Both runs jitter early; the blue cosine run calms down as η falls and ends on the "
        "minimum's star, while the orange constant-η run, drawn on top, keeps jittering "
        "around it.",
        surface="logistic_regression",
        runs=(RunChoice("sgd", schedule="cosine"), RunChoice("sgd", schedule="constant", copy=1)),
        learning_rate=2.0, epochs=200, batch_size=2, schedule="cosine"),
    _lesson(
        "newton-saddle", "Newton and the saddle",
        "Newton's method (not a torch optimizer) jumps to where the local quadratic is flat, "
        "whatever its curvature: on x² − y² that is the saddle, a maximum along x.",
        "Blue, pure Newton, lands on (0, 0) in one step and stops there, 'converged'. Orange, "
        "damped by 4 > 2, shrinks x and doubles y each epoch: downhill.",
        surface="saddle",
        runs=(RunChoice("newton"), RunChoice("newton", (("damping", 4.0), ("lr", 1.0)), copy=1)),
        learning_rate=1.0, epochs=10),
    _lesson(
        "lbfgs-vs-adam", "L-BFGS vs Adam: evaluations",
        "L-BFGS (strong Wolfe) spends up to 25 gradient evaluations an epoch, Adam one, so with "
        "L-BFGS on the page the loss curve counts evaluations, not epochs.",
        "L-BFGS is within 0.001 of the minimum after 50 evaluations (epoch 2); Adam, one "
        "evaluation an epoch, after about 580.",
        surface="rosenbrock", runs=(RunChoice("lbfgs_wolfe", (("lr", 1.0),)), RunChoice("adam")),
        learning_rate=0.2, epochs=700),
)}


# "Where will it end?": the question a teacher can ask on any page.
WHERE_WILL_IT_END = Question("position", "Where will the blue run end? Click the map.")

# Each lesson's questions for class mode (predict, then watch). Kept beside LESSONS rather than
# in each lesson's call so the settings above read as before.
_QUESTIONS = {
    "lr-too-small": (Question("outcome", "In 100 epochs, what will the blue run do?"),
                     Question("position", "Where will the blue run be at epoch 50? Click the map.",
                              epoch=50)),
    "lr-just-right": (Question("tolerance", "At which epoch will the loss first come "
                                            "within 0.001 of its minimum?"),
                      Question("position", "Where will the run be at epoch 10? Click the map.",
                               epoch=10)),
    "lr-too-large": (Question("outcome", "At this η, what will the run do?"),
                     Question("divergence", "At which epoch will the page report the divergence?")),
    "momentum-valley": (Question("tolerance", "At which epoch will Momentum's loss come "
                                              "within 0.001 of its minimum?", run=1),),
    "adam-vs-sgd": (Question("position", "Where will Adam be at epoch 50? Click the map.", run=1,
                             epoch=50),),
    "saddle": (Question("position", "Where will the run be at epoch 60? Click the map.", epoch=60),),
    "local-minima": (Question("minimum", "Which of the four minima will the run end in?"),
                     Question("position", "Where will the run end? Click the map.")),
    "clipping": (Question("divergence", "At which epoch will the unclipped orange run diverge?",
                          run=1),),
    "newton-saddle": (Question("position", "Where will the blue Newton run be after one step? "
                                           "Click the map.", epoch=1),),
    "lbfgs-vs-adam": (Question("tolerance", "At which epoch will Adam's loss come within "
                                            "0.001 of its minimum?", run=1),),
}
LESSONS = {key: replace(lesson, questions=_QUESTIONS.get(key, ())) for key, lesson in LESSONS.items()}


def get(key: str) -> Lesson:
    try:
        return LESSONS[key]
    except KeyError:
        raise KeyError(f"Unknown lesson {key!r}; choose one of: {', '.join(LESSONS)}") from None
