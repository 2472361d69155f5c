"""NumPy training engine: torch-exact optimizers, schedules, clipping and the training loop."""

from engine import optimizers, schedules
from engine.clipping import clip_grad_norm, clip_grad_value
from engine.train import Record, Trajectory, collect, train

__all__ = ["optimizers", "schedules", "clip_grad_norm", "clip_grad_value", "train", "collect",
           "Record", "Trajectory"]
