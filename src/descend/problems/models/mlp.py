"""A multilayer perceptron with backpropagation written out by hand.

The network with L = len(hidden) + 1 layers maps a design row z ∈ ℝᵈ to one output:

    a₀ = z,
    z_l = a_{l−1} W_l + b_l,      a_l = φ(z_l)          for l = 1 … L − 1 (hidden layers),
    z_L = a_{L−1} W_L + b_L,      ŷ = ψ(z_L)            (ψ the output map, the identity by
                                                          default: a regression value or a logit)

with W_l of shape (h_{l−1}, h_l), b_l of shape (h_l,), h₀ = d and h_L = 1 — or h_L = K for a
network with K outputs (``with_outputs(K)``, the softmax's logits: ŷ = a_L of shape (n, K)).
Everything is computed for all n rows at once (a_l has shape (n, h_l)). Bound with regression
targets, the prediction is ŷ = ȳ + s_y·a_L (s_y = std(y)): the inputs and the target are both
standardised inside the model, so the same weights and rates suit data in any units, and ŷ is in
y's units.

Backpropagation is the chain rule applied layer by layer from the output back. With
g = ∂L/∂ŷ (shape (n,), or (n, K) with K outputs, from the loss) and δ_l = ∂L/∂z_l (shape (n, h_l)):

    δ_L = g ⊙ ψ'(z_L),
    ∂L/∂W_l = a_{l−1}ᵀ δ_l,       ∂L/∂b_l = Σ_rows δ_l,
    δ_{l−1} = (δ_l W_lᵀ) ⊙ φ'(z_{l−1}).

Hessian-vector products are Pearlmutter's R-operator, R{x} = d/dε x(θ + εv) at ε = 0, applied
to every line of the forward and the backward pass (:meth:`MLP.hvp`). With v split like θ into
(V_l, c_l), R{a₀} = 0 and h = ∂²L/∂ŷ² (shape (n,), diagonal in ŷ):

    forward:   R{z_l} = R{a_{l−1}} W_l + a_{l−1} V_l + c_l,    R{a_l} = φ'(z_l) ⊙ R{z_l},
    backward:  R{g} = h ⊙ R{ŷ},
               R{δ_L} = R{g} ⊙ ψ'(z_L) + g ⊙ ψ''(z_L) ⊙ R{z_L},
               R{∂L/∂W_l} = R{a_{l−1}}ᵀ δ_l + a_{l−1}ᵀ R{δ_l},    R{∂L/∂b_l} = Σ_rows R{δ_l},
               R{δ_{l−1}} = (R{δ_l} W_lᵀ + δ_l V_lᵀ) ⊙ φ'(z_{l−1})
                            + (δ_l W_lᵀ) ⊙ φ''(z_{l−1}) ⊙ R{z_{l−1}},

and R{∇L} = ∇²L·v exactly, for about the cost of two gradients. The second derivatives come
from the stored activation: tanh'' = −2a(1 − a²), σ'' = a(1 − a)(1 − 2a), relu'' = 0 (almost
everywhere), identity'' = 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.problems.features import Standardizer
from descend.problems.models.base import Model

Array = NDArray[np.float64]

__all__ = ["MLP", "ACTIVATIONS"]


def _sigmoid(z: Array) -> Array:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))  # σ(z) without overflow


#: name -> φ; the derivatives, written from the stored activation a = φ(z), are in
#: :meth:`MLP._derivative` (tanh' = 1 − a², σ' = a(1 − a), relu' = 1[z > 0], identity' = 1)
ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": _sigmoid,
    "identity": lambda z: z,
}
INITS = ("glorot", "he")


class MLP(Model):
    """A fully connected network ŷ = ψ(W_L φ(… φ(z W₁ + b₁) …) + b_L) with one output.

    θ is flat: ``[W1.ravel(), b1, W2.ravel(), b2, …]`` (row-major weights, each layer's
    weights then its biases); :meth:`unpack` gives named views ``{"W1": (d, h₁), "b1": (h₁,),
    …, "WL": (h_{L−1}, 1), "bL": (1,)}``.

    Parameters
    ----------
    hidden : list of int
        Hidden layer widths h₁, …, h_{L−1}; ``[]`` is a linear model.
    activation : {"tanh", "relu", "sigmoid", "identity"}
        φ, applied after every hidden layer.
    init : {"glorot", "he"}
        Weight initialisation in :meth:`init_params` (biases start at 0):
        Glorot/Xavier uniform, W ~ U(−r, r) with r = √(6/(fan_in + fan_out)) (suits tanh and
        sigmoid), or He normal, W ~ N(0, 2/fan_in) (suits relu).
    scale : bool
        Standardise the input columns, z = (x − μ)/s with μ, s learned in :meth:`bind`.
    output : {"identity", "tanh", "relu", "sigmoid"}
        ψ, the output map. Keep ``"identity"`` for regression losses, for the log loss, which
        expects a logit, and for the softmax, which expects K logits.
    scale_target : bool
        Bound with regression targets y (what ``ds.fit`` does for the MSE, MAE and Huber
        losses), an identity-output network predicts ŷ = ȳ + s_y·a_L with s_y = std(y): its
        weights then work in standardised units whatever the units of y (prices in dollars),
        while ŷ, the loss and ``predict`` stay in the data's units.

    Notes
    -----
    The gradient (:meth:`vjp`) is backpropagation, see the module docstring. The model caches
    the activations of its last :meth:`forward` call so that the backward pass of the same
    (θ, Z) does not recompute them (objects are not meant to be shared between threads).
    """

    #: K outputs on request (``with_outputs(K)``): the last layer has K units, a classifier
    #: head for the softmax (``ds.fit(X, y, model="mlp:8", loss="softmax")``)
    multi_output = True
    has_hvp = True
    #: the output scale: ŷ = y_shift + y_scale·a_L (ȳ and std(y) once bound with regression
    #: targets, so the network's weights work in standardised units; 0 and 1 otherwise)
    y_shift: float = 0.0
    y_scale: float = 1.0

    def __init__(
        self,
        hidden: list[int] | tuple[int, ...] = (8,),
        activation: str = "tanh",
        init: str = "glorot",
        scale: bool = True,
        output: str = "identity",
        scale_target: bool = True,
    ) -> None:
        if isinstance(hidden, str) or not isinstance(hidden, list | tuple):
            raise TypeError(f"hidden must be a list of layer widths such as [8, 8], got {hidden!r}")
        sizes = []
        for i, h in enumerate(hidden):
            whole = isinstance(h, int | np.integer) and not isinstance(h, bool)
            if not whole and isinstance(h, float | np.floating) and float(h).is_integer():
                whole = True  # 8.0 (e.g. from JSON) is 8
            if not whole or h < 1:
                raise ValueError(
                    f"hidden layer {i + 1} has width {h!r}; hidden layer sizes are positive "
                    f"whole numbers (e.g. MLP([8, 8])), got {list(hidden)!r}"
                )
            sizes.append(int(h))
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        if output not in ACTIVATIONS:
            raise ValueError(f"unknown output {output!r}; choose one of {', '.join(ACTIVATIONS)}")
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
        self.hidden = sizes
        self.activation = activation
        self.init = init
        self.scale = bool(scale)
        self.output = output
        self.scale_target = bool(scale_target)
        self.scaler: Standardizer | None = None
        self.feature_names = []
        self.shapes: list[tuple[int, int]] = []
        self._cache: tuple[Array, Array, list[Array], list[Array]] | None = None

    # -- life cycle -----------------------------------------------------------------------
    def _bind(self, X: Array, weights: Array | None = None) -> None:
        d = X.shape[1]
        self.scaler = (
            Standardizer.fit(X, weights=weights) if self.scale else Standardizer.identity(d)
        )
        widths = [d, *self.hidden, self.n_outputs]
        self.shapes = [(widths[i], widths[i + 1]) for i in range(len(widths) - 1)]
        self.n_params = sum(fan_in * fan_out + fan_out for fan_in, fan_out in self.shapes)
        self._cache = None

    def bind_target_scale(self, y: Array, weights: Array | None = None) -> None:
        """ŷ = ȳ + s_y·a_L (identity output, one output and ``scale_target`` only; s_y = 1 for
        constant y); ȳ and s_y weighted by ``weights`` (shape (n,)) when given."""
        if not (self.scale_target and self.output == "identity") or y.size == 0:
            return
        if self.n_outputs != 1:
            return
        mean = float(np.average(y, weights=weights))
        sd = float(np.sqrt(np.average((y - mean) ** 2, weights=weights)))
        self.y_shift = mean
        self.y_scale = sd if sd > 0 and np.isfinite(sd) else 1.0

    @property
    def n_layers(self) -> int:
        """L, the number of weight layers (hidden layers + the output layer)."""
        return len(self.hidden) + 1

    def design(self, X: Array) -> Array:
        """Z = (X − μ)/s (or X itself when ``scale=False``), shape (n, d)."""
        self._check_bound()
        assert self.scaler is not None
        Z = self.scaler.transform(X) if self.scale else X
        return np.ascontiguousarray(Z, dtype=np.float64)

    # -- parameters -----------------------------------------------------------------------
    def _layers(self, theta: Array) -> list[tuple[Array, Array]]:
        """[(W₁, b₁), …, (W_L, b_L)] as views into θ."""
        out = []
        i = 0
        for fan_in, fan_out in self.shapes:
            W = theta[i : i + fan_in * fan_out].reshape(fan_in, fan_out)
            i += fan_in * fan_out
            b = theta[i : i + fan_out]
            i += fan_out
            out.append((W, b))
        return out

    def unpack(self, theta: Array) -> dict[str, Any]:
        """``{"W1": (d, h₁), "b1": (h₁,), …}``: views into θ (writing to them writes θ)."""
        self._check_bound()
        out: dict[str, Any] = {}
        for k, (W, b) in enumerate(self._layers(theta), start=1):
            out[f"W{k}"] = W
            out[f"b{k}"] = b
        return out

    def init_params(self, rng: np.random.Generator) -> Array:
        """θ₀: Glorot-uniform or He-normal weights, zero biases, shape (p,)."""
        self._check_bound()
        theta = np.zeros(self.n_params)
        for W, _b in self._layers(theta):
            fan_in, fan_out = W.shape
            if self.init == "glorot":
                r = np.sqrt(6.0 / (fan_in + fan_out))
                W[...] = rng.uniform(-r, r, size=W.shape)
            else:
                W[...] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=W.shape)
        return theta

    # -- the mathematics ------------------------------------------------------------------
    def _forward_all(self, theta: Array, Z: Array) -> tuple[list[Array], list[Array]]:
        """Pre-activations [z₁ … z_L] and activations [a₀ = Z, a₁ … a_L] for all rows."""
        zs: list[Array] = []
        acts: list[Array] = [Z]
        layers = self._layers(theta)
        for k, (W, b) in enumerate(layers, start=1):
            z = acts[-1] @ W + b  # z_l = a_{l−1} W_l + b_l
            phi = ACTIVATIONS[self.output if k == len(layers) else self.activation]
            zs.append(z)
            acts.append(phi(z))  # a_l = φ(z_l)
        return zs, acts

    def _cached(self, theta: Array, Z: Array) -> tuple[list[Array], list[Array]]:
        c = self._cache
        if c is not None and c[1] is Z and np.array_equal(c[0], theta):
            return c[2], c[3]
        zs, acts = self._forward_all(theta, Z)
        self._cache = (np.array(theta, dtype=np.float64, copy=True), Z, zs, acts)
        return zs, acts

    def forward(self, theta: Array, Z: Array) -> Array:
        """ŷ = y_shift + y_scale·a_L[:, 0], shape (n,) (a_L[:, 0] itself when unscaled); with K
        outputs ŷ = a_L, shape (n, K) (class logits are never scaled)."""
        theta = np.asarray(theta, dtype=np.float64)
        _zs, acts = self._cached(theta, Z)
        if self.n_outputs != 1:
            return np.asarray(acts[-1])
        out = np.asarray(acts[-1][:, 0])
        if self.y_scale != 1.0 or self.y_shift != 0.0:
            return self.y_shift + self.y_scale * out
        return out

    def _derivative(self, k: int, z: Array, a: Array) -> Array:
        """φ'(z) of layer k (1-based), reusing the stored activation a = φ(z)."""
        name = self.output if k == self.n_layers else self.activation
        if name == "tanh":
            return 1.0 - a * a
        if name == "sigmoid":
            return a * (1.0 - a)
        if name == "relu":
            return (z > 0).astype(np.float64)
        return np.ones_like(z)

    def _second_derivative(self, k: int, z: Array, a: Array) -> Array | None:
        """φ''(z) of layer k (1-based) from a = φ(z); None where it is 0 (relu, identity)."""
        name = self.output if k == self.n_layers else self.activation
        if name == "tanh":
            return -2.0 * a * (1.0 - a * a)
        if name == "sigmoid":
            return a * (1.0 - a) * (1.0 - 2.0 * a)
        return None

    def hvp(self, theta: Array, Z: Array, v: Array, g: Array, h: Array) -> Array:
        """∇²L·v by the R-operator (module docstring), shape (p,).

        Parameters
        ----------
        theta, v : ndarray, shape (p,)
            Where the Hessian is taken, and the direction.
        Z : ndarray, shape (n, d)
            The design.
        g, h : ndarray, shape (n,)
            ∂L/∂ŷ and ∂²L/∂ŷ² at ŷ = forward(θ, Z) (from the loss).
        """
        theta = np.asarray(theta, dtype=np.float64)
        zs, acts = self._cached(theta, Z)
        layers = self._layers(theta)
        dirs = self._layers(np.asarray(v, dtype=np.float64))
        s = self.y_scale  # ŷ = y_shift + s·a_L: the loss sees a_L through g·s and h·s²
        g = s * np.asarray(g, dtype=np.float64)
        h = (s * s) * np.asarray(h, dtype=np.float64)
        L = self.n_layers
        d1 = [self._derivative(k, zs[k - 1], acts[k]) for k in range(1, L + 1)]
        # forward R-pass: R{z_l} = R{a_{l−1}} W_l + a_{l−1} V_l + c_l, R{a_l} = φ'(z_l) ⊙ R{z_l}
        rz: list[Array] = []
        ra: list[Array] = [np.zeros_like(Z)]
        for k in range(1, L + 1):
            W, _b = layers[k - 1]
            V, c = dirs[k - 1]
            rz.append(ra[-1] @ W + acts[k - 1] @ V + c)
            ra.append(d1[k - 1] * rz[-1])
        # backward pass and its R-pass, side by side
        out = np.empty(self.n_params)
        outs = self._layers(out)
        gcol = g.reshape(-1, 1)
        rg = h.reshape(-1, 1) * ra[-1]  # R{g} = h ⊙ R{a_L}
        delta = gcol * d1[L - 1]
        rdelta = rg * d1[L - 1]
        d2 = self._second_derivative(L, zs[-1], acts[-1])
        if d2 is not None:
            rdelta = rdelta + gcol * d2 * rz[L - 1]
        for k in range(L, 0, -1):
            W, _b = layers[k - 1]
            V, _c = dirs[k - 1]
            dW, db = outs[k - 1]
            dW[...] = ra[k - 1].T @ delta + acts[k - 1].T @ rdelta
            db[...] = rdelta.sum(axis=0)
            if k > 1:
                back = delta @ W.T  # ∂L/∂a_{k−1}
                rback = rdelta @ W.T + delta @ V.T  # R{∂L/∂a_{k−1}}
                rdelta = rback * d1[k - 2]
                d2 = self._second_derivative(k - 1, zs[k - 2], acts[k - 1])
                if d2 is not None:
                    rdelta = rdelta + back * d2 * rz[k - 2]
                delta = back * d1[k - 2]
        return out

    def vjp(self, theta: Array, Z: Array, g: Array) -> Array:
        """Backpropagation: ∂L/∂θ from g = ∂L/∂ŷ of shape (n,) — (n, K) with K outputs;
        returns shape (p,)."""
        theta = np.asarray(theta, dtype=np.float64)
        zs, acts = self._cached(theta, Z)
        layers = self._layers(theta)
        grad = np.empty(self.n_params)
        grads = self._layers(grad)  # views into grad, filled layer by layer
        L = self.n_layers
        # output layer: δ_L = ∂L/∂z_L = ∂L/∂ŷ · ψ'(z_L), shape (n, 1)
        g = np.asarray(g, dtype=np.float64)
        if self.y_scale != 1.0:
            g = self.y_scale * g  # ŷ = y_shift + y_scale·a_L: ∂L/∂a_L = y_scale·∂L/∂ŷ
        delta = g.reshape(-1, self.n_outputs) * self._derivative(L, zs[-1], acts[-1])
        for k in range(L, 0, -1):
            W, _b = layers[k - 1]
            dW, db = grads[k - 1]
            # z_k = a_{k−1} W_k + b_k, so ∂L/∂W_k = a_{k−1}ᵀ δ_k and ∂L/∂b_k = Σ_rows δ_k
            dW[...] = acts[k - 1].T @ delta
            db[...] = delta.sum(axis=0)
            if k > 1:
                # ∂L/∂a_{k−1} = δ_k W_kᵀ, then through a_{k−1} = φ(z_{k−1}):
                # δ_{k−1} = (δ_k W_kᵀ) ⊙ φ'(z_{k−1})
                delta = (delta @ W.T) * self._derivative(k - 1, zs[k - 2], acts[k - 1])
        return grad

    def sizes(self) -> dict[str, int]:
        """``{"layers": number of hidden layers, "width": widest hidden layer}``."""
        return {"layers": len(self.hidden), "width": max(self.hidden)}

    def spec(self) -> str:
        """``"mlp:8,8"``, with ``":relu"`` etc. appended when the activation is not tanh."""
        base = "mlp:" + ",".join(str(h) for h in self.hidden)
        return base if self.activation == "tanh" else f"{base}:{self.activation}"
