"""A small multilayer perceptron written out by hand: forward pass, loss, backward pass (chain rule).

The network is a "surface with many weights": it has the interface `engine.train` needs
(`n_samples`, `start`, `bounds`, `loss(w, idx)`, `grad(w, idx)`), with every weight and bias in
one flat float64 vector, so every optimizer, schedule and clipping rule runs on it unchanged.

Layers follow torch.nn.Linear: layer l has a weight matrix W of shape (out, in) and a bias b of
shape (out,), and computes z = a_prev · Wᵀ + b for a batch of rows a_prev. Row j of W holds the
weights into unit j (a "filter" in Li et al. 2018). The flat vector is W₁ (row-major), b₁, W₂,
b₂, …, the order of torch's `model.parameters()`.

    hidden layers:  z = a_prev · Wᵀ + b,  a = activation(z)        (ReLU, tanh or sigmoid)
    classification: the last z are logits; softmax, then cross-entropy L = mean(−log p[y])
    regression:     the last z is the prediction ŷ; L = mean((ŷ − y)²)   (torch's MSELoss)

Every function takes weights with leading axes too: w of shape (..., d) gives losses of shape
(...), which is how a whole grid of weight vectors is evaluated at once for a loss landscape.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple, Sequence

import numpy as np

ACTIVATIONS = ("relu", "tanh", "sigmoid")
TASKS = ("classification", "regression")
INITS = ("he", "xavier")
# Above this many weights the page would no longer respond at once; the lesson needs far fewer.
MAX_WEIGHTS = 100_000
# loss_many evaluates this many activations (samples × widest layer × weight vectors) at a time:
# 2^18 float64 values are 2 MB, so a chunk's arrays stay in the CPU cache.
CHUNK_VALUES = 1 << 18

# A default that reaches ≥ 95% training accuracy on two moons (tests/test_network.py checks it).
DEFAULT_CONFIG = {"dataset": "two_moons", "layers": (2, 16, 16, 2), "activation": "relu",
                  "init": "he", "optimizer": "adam", "lr": 0.03, "batch_size": 32, "epochs": 100}


# --------------------------------------------------------------------------- activations
# Each activation gives a = f(z); its derivative is written from z and a, whichever is cheaper.

def _relu(z):
    return np.maximum(z, 0.0)


def _relu_prime(z, a):
    return (z > 0).astype(np.float64)


def _tanh_prime(z, a):
    return 1.0 - a * a


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1/(1 + e^−z), without overflow for any z


def _sigmoid_prime(z, a):
    return a * (1.0 - a)


def _relu_inplace(v):
    np.maximum(v, 0.0, out=v)


def _tanh_inplace(v):
    np.tanh(v, out=v)


def _sigmoid_inplace(v):
    v *= 0.5
    np.tanh(v, out=v)
    v += 1.0
    v *= 0.5


_IN_PLACE = {"relu": _relu_inplace, "tanh": _tanh_inplace, "sigmoid": _sigmoid_inplace}
_ACTIVATION_FNS = {"relu": (_relu, _relu_prime), "tanh": (np.tanh, _tanh_prime),
                   "sigmoid": (_sigmoid, _sigmoid_prime)}


# --------------------------------------------------------------------------- validation

def parse_layers(text: str) -> list[int]:
    """'2-16-16-2' (or '2,16,16,2', '2 16 16 2') → [2, 16, 16, 2]; ValueError naming the bad part."""
    parts = [p for p in str(text).replace(",", "-").replace(" ", "-").split("-") if p]
    if not parts:
        raise ValueError(f"Invalid layer sizes {text!r}: write them as e.g. 2-16-16-2")
    sizes = []
    for part in parts:
        try:
            sizes.append(int(part))
        except ValueError:
            raise ValueError(f"Invalid layer size {part!r} in {text!r}: each size must be a "
                             f"whole number, e.g. 2-16-16-2") from None
    return sizes


def count_weights(layers: Sequence[int]) -> int:
    """The number of weights and biases of a network with these layer sizes."""
    return sum(n_out * n_in + n_out for n_in, n_out in zip(layers[:-1], layers[1:]))


def _check_layers(layers) -> tuple[int, ...]:
    if isinstance(layers, str):
        layers = parse_layers(layers)
    try:
        sizes = list(layers)
    except TypeError:
        raise ValueError(f"Invalid layers: {layers!r}; give a list of sizes such as "
                         f"[2, 16, 16, 2]") from None
    if len(sizes) < 2:
        raise ValueError(f"Invalid layers: {sizes!r}; need at least an input and an output size, "
                         f"such as [2, 16, 16, 2]")
    for size in sizes:
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Integral):
            raise ValueError(f"Invalid layer size {size!r} in {sizes!r}; each size must be a "
                             f"whole number >= 1")
        if size < 1:
            raise ValueError(f"Invalid layer size {size} in {sizes!r}; each size must be >= 1")
    sizes = tuple(int(s) for s in sizes)
    n_weights = count_weights(sizes)
    if n_weights > MAX_WEIGHTS:
        raise ValueError(f"Layers {'-'.join(map(str, sizes))} have {n_weights:,} weights; the "
                         f"limit is {MAX_WEIGHTS:,}. Use fewer or narrower hidden layers.")
    return sizes


def _choose(name: str, value, options) -> str:
    if value not in options:
        raise ValueError(f"Unknown {name} {value!r}; choose one of: {', '.join(options)}")
    return value


def _check_data(data, sizes, task) -> tuple[np.ndarray, np.ndarray, int]:
    if data is None:
        raise ValueError("An MLP needs data=(X, y): X of shape (n, inputs) and the targets y")
    X, y = data
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] < 1:
        raise ValueError(f"Invalid inputs X of shape {X.shape}; need (n_samples, n_inputs)")
    n, n_in = X.shape
    if n_in != sizes[0]:
        raise ValueError(f"The first layer size {sizes[0]} does not match the data, which has "
                         f"{n_in} input(s) per sample")
    if not np.all(np.isfinite(X)):
        raise ValueError("The inputs X contain non-finite values")
    y = np.asarray(y)
    if task == "classification":
        if y.shape != (n,) or not (np.issubdtype(y.dtype, np.integer) or np.all(y == np.round(y))):
            raise ValueError(f"Classification targets must be n = {n} class labels 0, 1, …; "
                             f"got shape {y.shape}")
        y = y.astype(np.int64)
        n_classes = int(y.max()) + 1
        if y.min() < 0:
            raise ValueError(f"Class labels must be >= 0; got {int(y.min())}")
        if sizes[-1] != n_classes or n_classes < 2:
            raise ValueError(f"The last layer size {sizes[-1]} does not match the data, which has "
                             f"{n_classes} class(es); classification needs one output per class "
                             f"(at least 2)")
    else:
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape != (n, sizes[-1]):
            raise ValueError(f"The last layer size {sizes[-1]} does not match the regression "
                             f"targets of shape {y.shape[1:] or ()} per sample (need {n} rows of "
                             f"{sizes[-1]} value(s))")
        if not np.all(np.isfinite(y)):
            raise ValueError("The regression targets y contain non-finite values")
        n_classes = 0
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y, n_classes


# --------------------------------------------------------------------------- the network

class Cache(NamedTuple):
    """What the forward pass keeps for the backward pass, per layer l = 1 … L.

    z[l−1] is layer l's weighted sum and a[l] its activation; a[0] is the input x, and a[L] is
    the output (softmax probabilities, or the regression prediction ŷ). W[l−1] is layer l's
    weight matrix, needed to send the error back through it.
    """

    z: list
    a: list
    W: list


class MLP:
    """A multilayer perceptron on a data set, seen as a loss surface over its flat weight vector.

    >>> from surfaces import datasets
    >>> net = MLP([2, 16, 16, 2], "tanh", data=datasets.two_moons(seed=0))
    >>> net.d, net.grad(net.start).shape, net.loss_many(np.stack([net.start] * 3)).shape
    (354, (354,), (3,))
    """

    bounds = None  # no box: train() treats weights beyond ±1e6 as diverged

    def __init__(self, layers=(2, 16, 16, 2), activation: str = "relu",
                 task: str = "classification", data=None, init: str | None = None, seed: int = 0):
        self.layers = _check_layers(layers)
        self.activation = _choose("activation", activation, ACTIVATIONS)
        self.task = _choose("task", task, TASKS)
        # He suits ReLU and Xavier suits tanh and sigmoid, as in the papers that introduced them.
        self.init = _choose("init", init if init is not None else
                            ("he" if activation == "relu" else "xavier"), INITS)
        self.seed = seed
        self.X, self.y, self.n_classes = _check_data(data, self.layers, self.task)
        self.n_samples = self.X.shape[0]
        self._act, self._act_prime = _ACTIVATION_FNS[self.activation]

        # (W shape, b shape) per layer, and where each sits in the flat vector.
        self.shapes = [((n_out, n_in), (n_out,)) for n_in, n_out in
                       zip(self.layers[:-1], self.layers[1:])]
        self._slices = []
        offset = 0
        for (n_out, n_in), _ in self.shapes:
            w_slice = slice(offset, offset + n_out * n_in)
            b_slice = slice(w_slice.stop, w_slice.stop + n_out)
            self._slices.append((w_slice, b_slice))
            offset = b_slice.stop
        self.d = offset
        self.start = self.initial_weights(seed)
        self.start.setflags(write=False)

    def __repr__(self) -> str:
        return (f"MLP({'-'.join(map(str, self.layers))}, {self.activation}, {self.task}, "
                f"{self.d} weights, {self.n_samples} samples)")

    # ----------------------------------------------------------------- weights

    def initial_weights(self, seed: int = 0) -> np.ndarray:
        """Seeded He or Xavier (Glorot) normal initialisation; biases start at zero.

        He (kaiming_normal_, fan_in): W ~ N(0, 2/fan_in). Xavier (xavier_normal_):
        W ~ N(0, 2/(fan_in + fan_out)).
        """
        rng = np.random.default_rng(seed)
        w = np.zeros(self.d)
        for ((n_out, n_in), _), (w_slice, _) in zip(self.shapes, self._slices):
            var = 2.0 / n_in if self.init == "he" else 2.0 / (n_in + n_out)
            w[w_slice] = rng.normal(0.0, np.sqrt(var), n_out * n_in)
        return w

    def unflatten(self, w) -> list[tuple[np.ndarray, np.ndarray]]:
        """The flat vector(s) (..., d) as [(W, b), …] per layer, views of shapes (..., out, in), (..., out)."""
        w = self._weights(w)
        lead = w.shape[:-1]
        return [(w[..., ws].reshape(lead + W_shape), w[..., bs])
                for (W_shape, _), (ws, bs) in zip(self.shapes, self._slices)]

    def flatten(self, params) -> np.ndarray:
        """[(W, b), …] per layer (with the same leading axes) back into the flat vector (..., d)."""
        if len(params) != len(self.shapes):
            raise ValueError(f"Expected {len(self.shapes)} (W, b) pairs, got {len(params)}")
        parts = []
        for (W, b), (W_shape, b_shape) in zip(params, self.shapes):
            W, b = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)
            if W.shape[-2:] != W_shape or b.shape[-1:] != b_shape:
                raise ValueError(f"Expected W {W_shape} and b {b_shape}, got {W.shape}, {b.shape}")
            parts += [W.reshape(W.shape[:-2] + (-1,)), b]
        return np.concatenate(parts, axis=-1)

    def _weights(self, w) -> np.ndarray:
        w = np.asarray(w, dtype=np.float64)
        if w.ndim == 0 or w.shape[-1] != self.d:
            raise ValueError(f"Weights must have shape (..., {self.d}) for layers "
                             f"{'-'.join(map(str, self.layers))}; got shape {w.shape}")
        return w

    def _batch(self, idx):
        if idx is None:
            return self.X, self.y
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"A mini-batch must be a non-empty 1-D array of integer sample "
                             f"indices; got dtype {idx.dtype} and shape {idx.shape}")
        return self.X[idx], self.y[idx]

    # ----------------------------------------------------------------- the five steps

    def forward(self, w, X) -> tuple[np.ndarray, Cache]:
        """Forward pass: layer by layer, z = a_prev·Wᵀ + b, then a = activation(z).

        w is (..., d) and X is (n, inputs); the output is (..., n, outputs): the class
        probabilities (softmax of the last z) or the regression prediction ŷ (the last z).
        """
        params = self.unflatten(w)
        a = np.asarray(X, dtype=np.float64)
        zs, activations, Ws = [], [a], []
        for layer, (W, b) in enumerate(params, start=1):
            z = a @ W.mT + b[..., None, :]
            if layer < len(params):
                a = self._act(z)
            elif self.task == "classification":
                a = _softmax(z)
            else:
                a = z
            zs.append(z)
            activations.append(a)
            Ws.append(W)
        return a, Cache(zs, activations, Ws)

    def _loss_from(self, cache: Cache, y) -> np.ndarray:
        """Loss calculation: mean cross-entropy of the logits, or mean squared error (..., )."""
        z_out = cache.z[-1]
        if self.task == "classification":
            # −log softmax(z)[y] = logsumexp(z) − z[y], with the max taken out so exp never overflows.
            z_max = z_out.max(axis=-1, keepdims=True)
            log_sum = np.log(np.exp(z_out - z_max).sum(axis=-1)) + z_max[..., 0]
            picked = (z_out * _one_hot(y, z_out.shape[-1])).sum(axis=-1)
            return (log_sum - picked).mean(axis=-1)
        return ((z_out - y) ** 2).mean(axis=(-2, -1))

    def backward(self, cache: Cache, y) -> tuple[list, list]:
        """Backward pass: the gradient of the mean loss, by the chain rule from the output back.

        dz is ∂L/∂z of the current layer. At the output it is (p − onehot(y))/n for softmax with
        cross-entropy and 2(ŷ − y)/(n·outputs) for mean squared error. Then, layer by layer:
            dW = dzᵀ · a_prev      db = Σ_samples dz      (the layer's own gradients)
            da_prev = dz · W       dz_prev = da_prev ⊙ activation′(z_prev)
        Returns ([dW₁, …, dW_L], [db₁, …, db_L]) with the shapes of W and b (plus leading axes).
        """
        y = np.asarray(y)
        out = cache.a[-1]
        n = out.shape[-2]
        if self.task == "classification":
            dz = (out - _one_hot(y, out.shape[-1])) / n
        else:
            dz = 2.0 * (out - y) / (n * out.shape[-1])
        n_layers = len(cache.W)
        dWs, dbs = [None] * n_layers, [None] * n_layers
        for l in reversed(range(n_layers)):
            a_prev = cache.a[l]
            dWs[l] = dz.mT @ a_prev
            dbs[l] = dz.sum(axis=-2)
            if l > 0:
                da_prev = dz @ cache.W[l]
                dz = da_prev * self._act_prime(cache.z[l - 1], a_prev)
        return dWs, dbs

    # ----------------------------------------------------------------- the surface interface

    def loss(self, w, idx=None):
        """Mean loss over all samples, or over the samples idx (a mini-batch): w (..., d) → (...)."""
        X, y = self._batch(idx)
        w = self._weights(w)
        if w.ndim > 1:
            return self.loss_many(w, idx)
        with np.errstate(over="ignore", invalid="ignore"):
            _, cache = self.forward(w, X)
            return self._loss_from(cache, y)

    def grad(self, w, idx=None) -> np.ndarray:
        """Exact gradient (backpropagation) of the mean loss over all samples or idx: (..., d)."""
        X, y = self._batch(idx)
        with np.errstate(over="ignore", invalid="ignore"):
            _, cache = self.forward(self._weights(w), X)
            dWs, dbs = self.backward(cache, y)
        return self.flatten(list(zip(dWs, dbs)))

    def loss_many(self, W, idx=None, chunk: int | None = None, dtype=np.float64) -> np.ndarray:
        """The loss at many weight vectors W (k, d) → (k,), in chunks so memory stays bounded.

        This is the loss landscape's workhorse: the same network as `forward`, but with no
        cache kept, and laid out for speed (see `_chunk_loss`). `chunk` weight vectors go
        through together; by default as many as keep each activation array near CHUNK_VALUES
        values (2 MB). dtype=np.float32 is about twice as fast (NumPy's float32 tanh is
        vectorised) and agrees with float64 to about 1e-7 relative: enough for a picture, while
        numbers shown as numbers should come from float64.
        """
        X, y = self._batch(idx)
        return self._loss_many_on(self._weights(W), X, y, chunk, dtype)

    def _loss_many_on(self, W, X, y, chunk, dtype) -> np.ndarray:
        lead = W.shape[:-1]
        W = W.reshape(-1, self.d)
        if chunk is None:
            chunk = max(1, CHUNK_VALUES // (X.shape[0] * max(self.layers)))
        # Inputs as columns with a row of ones beneath, so each layer's bias rides in its matmul.
        a_in = np.concatenate([X.T, np.ones((1, X.shape[0]))]).astype(dtype)
        target = (_one_hot(y, self.n_classes) if self.task == "classification" else y).T.astype(dtype)
        out = np.empty(W.shape[0])
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, W.shape[0], chunk):
                out[start:start + chunk] = self._chunk_loss(W[start:start + chunk].astype(dtype),
                                                            a_in, target)
        return out.reshape(lead)

    def _chunk_loss(self, W, a_in, target) -> np.ndarray:
        """Loss of k weight vectors W (k, d) at once, activations transposed: (k, units, n).

        Each layer is one batched matmul [W | b] · [a; 1] into a buffer whose last row is ones
        for the next layer's bias, and the activation runs in place on contiguous rows. Same
        network and loss as forward + _loss_from, to rounding (the tests check it).
        """
        k, n = W.shape[0], a_in.shape[1]
        a = a_in
        for layer, (((n_out, n_in), _), (w_slice, b_slice)) in enumerate(
                zip(self.shapes, self._slices), start=1):
            Wb = np.empty((k, n_out, n_in + 1), dtype=W.dtype)
            Wb[:, :, :n_in] = W[:, w_slice].reshape(k, n_out, n_in)
            Wb[:, :, n_in] = W[:, b_slice]
            if layer == len(self.shapes):
                z = Wb @ a  # (k, outputs, n)
                break
            nxt = np.empty((k, n_out + 1, n), dtype=W.dtype)
            np.matmul(Wb, a, out=nxt[:, :n_out])
            _IN_PLACE[self.activation](nxt[:, :n_out])
            nxt[:, n_out] = 1.0
            a = nxt
        if self.task == "classification":
            z -= z.max(axis=1, keepdims=True)  # log-sum-exp without overflow
            return (np.log(np.exp(z).sum(axis=1)) - (z * target).sum(axis=1)).mean(axis=-1)
        z -= target
        return (z * z).mean(axis=(1, 2))

    # ----------------------------------------------------------------- curvature

    def hvp(self, w, v, idx=None) -> np.ndarray:
        """Hessian-vector products H·v of the mean loss at one weight vector w (d,), exactly.

        v is (d,) or (k, d) (k directions at once; v = I gives the whole Hessian). This is
        Pearlmutter's R-operator, forward-over-reverse: every quantity q of the forward and the
        backward pass gets its directional derivative R{q} = d/dt q(w + t·v) at t = 0, by the
        chain rule applied to the very steps of `forward` and `backward`:
            R{z} = R{a_prev}·Wᵀ + a_prev·V_Wᵀ + V_b        R{a} = f′(z) ⊙ R{z}
            R{dz_out} = R{p}/n with R{p} = p ⊙ (R{z} − Σ p ⊙ R{z})   (softmax, cross-entropy)
                      = 2·R{ŷ}/(n·outputs)                             (mean squared error)
            R{dW} = R{dz}ᵀ·a_prev + dzᵀ·R{a_prev}            R{db} = Σ R{dz}
            R{dz_prev} = (R{dz}·W + dz·V_W) ⊙ f′(z_prev) + (dz·W) ⊙ f″(z_prev) ⊙ R{z_prev}
        and H·v = (R{dW}, R{db}) flattened. ReLU's f″ is 0 away from its kink (where the
        Hessian of a ReLU network is piecewise that of the linear pieces). Cost: about two
        gradients. No finite difference is involved, so the products are exact to rounding.
        """
        w = self._weights(w)
        if w.ndim != 1:
            raise ValueError(f"hvp takes one weight vector of shape ({self.d},); got {w.shape}")
        v = self._weights(v)
        X, y = self._batch(idx)
        with np.errstate(over="ignore", invalid="ignore"):
            return self._hvp(w, v, X, y)

    def _second_prime(self, z, a):
        if self.activation == "tanh":
            return -2.0 * a * (1.0 - a * a)
        if self.activation == "sigmoid":
            return a * (1.0 - a) * (1.0 - 2.0 * a)
        return np.zeros_like(z)

    def _hvp(self, w, v, X, y) -> np.ndarray:
        params, dirs = self.unflatten(w), self.unflatten(v)
        a = np.asarray(X, dtype=np.float64)
        Ra = np.zeros(v.shape[:-1] + a.shape)
        zs, Rzs, acts, Racts = [], [], [a], [Ra]
        n_layers = len(params)
        for layer, ((W, b), (VW, Vb)) in enumerate(zip(params, dirs), start=1):
            z = a @ W.T + b
            Rz = Ra @ W.T + a @ VW.mT + Vb[..., None, :]
            if layer < n_layers:
                a = self._act(z)
                Ra = self._act_prime(z, a) * Rz
            elif self.task == "classification":
                a = _softmax(z)
                Ra = a * (Rz - (a * Rz).sum(axis=-1, keepdims=True))
            else:
                a, Ra = z, Rz
            zs.append(z)
            Rzs.append(Rz)
            acts.append(a)
            Racts.append(Ra)
        out, Rout = acts[-1], Racts[-1]
        n = out.shape[-2]
        if self.task == "classification":
            dz = (out - _one_hot(y, out.shape[-1])) / n
            Rdz = Rout / n
        else:
            dz = 2.0 * (out - y) / (n * out.shape[-1])
            Rdz = 2.0 * Rout / (n * out.shape[-1])
        RdWs, Rdbs = [None] * n_layers, [None] * n_layers
        for l in reversed(range(n_layers)):
            a_prev, Ra_prev = acts[l], Racts[l]
            RdWs[l] = Rdz.mT @ a_prev + dz.T @ Ra_prev
            Rdbs[l] = Rdz.sum(axis=-2)
            if l > 0:
                W, VW = params[l][0], dirs[l][0]
                da = dz @ W
                Rda = Rdz @ W + dz @ VW
                z_prev = zs[l - 1]
                dz_next = da * self._act_prime(z_prev, a_prev)
                Rdz = (Rda * self._act_prime(z_prev, a_prev)
                       + da * self._second_prime(z_prev, a_prev) * Rzs[l - 1])
                dz = dz_next
        return self.flatten(list(zip(RdWs, Rdbs)))

    # ----------------------------------------------------------------- predictions

    def predict_proba(self, w, X) -> np.ndarray:
        """Class probabilities (..., n, classes) for the inputs X (classification only)."""
        if self.task != "classification":
            raise ValueError("predict_proba is for classification; use predict for regression")
        with np.errstate(over="ignore", invalid="ignore"):
            return self.forward(w, X)[0]

    def predict(self, w, X) -> np.ndarray:
        """The predicted class (..., n), or the regression prediction (..., n) for one output
        ((..., n, outputs) for several)."""
        with np.errstate(over="ignore", invalid="ignore"):
            out = self.forward(w, X)[0]
        if self.task == "classification":
            return out.argmax(axis=-1)
        return out[..., 0] if out.shape[-1] == 1 else out

    def accuracy(self, w, idx=None):
        """Share of samples (all, or idx) whose predicted class is the label: w (..., d) → (...)."""
        if self.task != "classification":
            raise ValueError("accuracy is for classification; regression reports its loss (MSE)")
        X, y = self._batch(idx)
        return (self.predict(w, X) == y).mean(axis=-1)


    def held_out(self, W, data) -> tuple[np.ndarray, np.ndarray | None]:
        """The mean loss (float64) and, for classification, the accuracy (None for regression)
        of every weight vector W (..., d) on samples the network does not train on, `data` =
        (X, y) shaped like its training data: two arrays of shape (...)."""
        X, y = self._samples_like_training(data)
        W = self._weights(W)
        loss = self._loss_many_on(W, X, y, None, np.float64)
        if self.task != "classification":
            return loss, None
        return loss, (self.predict(W, X) == y).mean(axis=-1)

    def _samples_like_training(self, data) -> tuple[np.ndarray, np.ndarray]:
        """Other samples (X, y) checked and shaped as the training data is (a held-out set may
        lack a class, so the number of classes is the training data's)."""
        X, y = data
        X = np.asarray(X, dtype=np.float64)
        X = X[:, None] if X.ndim == 1 else X
        if X.ndim != 2 or X.shape[1] != self.layers[0] or not np.all(np.isfinite(X)):
            raise ValueError(f"Held-out inputs must be finite, of shape (n, {self.layers[0]}); "
                             f"got shape {X.shape}")
        y = np.asarray(y)
        if self.task == "classification":
            if y.shape != (X.shape[0],) or y.size and not (0 <= y.min() and y.max() < self.n_classes):
                raise ValueError(f"Held-out labels must be {X.shape[0]} classes 0 to "
                                 f"{self.n_classes - 1}; got shape {y.shape}")
            return X, y.astype(np.int64)
        y = np.asarray(y, dtype=np.float64).reshape(X.shape[0], -1)
        if y.shape[1] != self.layers[-1] or not np.all(np.isfinite(y)):
            raise ValueError(f"Held-out targets must be finite, {self.layers[-1]} per sample")
        return X, y


def _one_hot(y, n_classes):
    return (y[:, None] == np.arange(n_classes)).astype(np.float64)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
