"""Clustering beyond k-means: deep embedded clustering (DEC, IDEC), VaDE, and Gaussian mixtures by EM.

- DEC: Xie, Girshick & Farhadi, "Unsupervised Deep Embedding for Clustering
  Analysis", ICML 2016 (arXiv:1511.06335). Cluster centres mu_j live in the
  code space of a pretrained encoder f; each code z_i = f(x_i) is softly
  assigned by a Student-t kernel (Eq. 1, alpha = 1)
      q_ij = (1 + ||z_i - mu_j||^2 / alpha)^(-(alpha + 1) / 2) / sum_j' (...),
  and encoder and centres are trained on KL(P || Q) (Eq. 2) towards the
  sharpened target p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'), f_j = sum_i q_ij
  (Eq. 3). P is computed over the whole training set and held fixed for
  `update_interval` steps; training stops when fewer than `tol` of the
  labels argmax_j q_ij changed since the last refresh.
- IDEC: Guo, Gao, Liu & Yin, "Improved Deep Embedded Clustering with Local
  Structure Preservation", IJCAI 2017. The decoder is kept and the loss is
  L = L_r + gamma * L_c (Eq. 1): the reconstruction's mean squared error plus
  gamma = 0.1 times DEC's KL. Note the paper's gamma weighs the clustering
  term, not the reconstruction (its code: `loss_weights=[gamma, 1]` for
  [clustering, decoder]). Here: `clustering_weight` (gamma) and
  `reconstruction_weight` (1 for IDEC, 0 for DEC).
- VaDE: Jiang, Zheng, Tan, Tang & Zhou, "Variational Deep Embedding: An
  Unsupervised and Generative Approach to Clustering", IJCAI 2017
  (arXiv:1611.05148). A VAE whose prior is a Gaussian mixture,
  p(c) = Cat(pi), p(z|c) = N(mu_c, diag(sigma_c^2)), trained on the ELBO of
  its Eq. 17 with gamma_c = q(c|x) ~ p(c|z) computed from the sampled z.
- `GaussianMixture`: EM for a mixture of Gaussians with full or diagonal
  covariances, in Keras ops (the classical baseline; scikit-learn's
  `GaussianMixture` is its reference in the tests).

How a training of DEC/IDEC runs, resumably
------------------------------------------
The target P changes every `update_interval` steps, computed from the model
itself over all of x: it is neither a weight (it is the data's, not the
model's) nor recomputable from the weights once training has moved on. So:

- one "epoch" of `TargetBatches` is one update interval: batch `index` of
  interval `e` is the global step `e * update_interval + index`, drawn from a
  stream of shuffled passes over x seeded by `(seed, pass)`, paired with the
  rows of the P of interval `e` (`set_targets(P, e)`; asking for another
  interval's batch is an error, never a silent use of a stale P);
- `refresh_targets(x, previous_labels)` computes Q over x, returns
  `Targets(targets=P, labels=argmax Q, changed=share of labels that changed)`;
- `fit_clusters(x, ..., state=TrainingState(...))` is the loop: k-means
  initialisation and the first P on a fresh start, then for each interval
  `zoo.resume.fit` over that interval only (so no pipeline can prefetch a
  batch of the next interval with the old P), then a refresh, then a save.
  P and the labels live in `state.arrays` ("dec_targets", "dec_labels"), the
  interval count, the changed shares and the convergence flag in
  `state.record["dec"]`: saved with the training state, never in the
  checkpoint (which holds the encoder, decoder and centres only). A run
  stopped anywhere (time limit, signal, a crash between two saves) resumes
  with the P of the interval it stopped in and reaches the weights an
  uninterrupted run reaches. Without a state it is the same loop, unsaved.
"""

import math
import time
from collections import namedtuple

import keras
import numpy as np
from keras import ops

from zoo import random as zoo_random
from zoo import resume
from zoo.data import check_images
from zoo.data.batches import EpochBatches
from zoo.errors import InputError
from zoo.losses import bernoulli_log_likelihood
from zoo.metrics.codes import _kmeans_plus_plus, kmeans
from zoo.models.classical import NotFittedError
from zoo.models.common import batched, check_codes, sigmoid
from zoo.trainers import SingleLossModel

COVARIANCE_TYPES = ("full", "diag")
DECODER_OUTPUTS = ("logits", "linear")
LOG_2PI = math.log(2.0 * math.pi)

Targets = namedtuple("Targets", ["targets", "labels", "changed"])
Targets.__doc__ = """What `DEC.refresh_targets` returns: the target distribution P (n, k) float32, the labels
argmax_j q_ij (n,) int64, and the share of labels that differ from the previous ones (None without them)."""


# Checks ------------------------------------------------------------------------------------------------------

def check_count(k, name="n_clusters"):
    """`k` as an int >= 1, or an InputError."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"{name} must be an int >= 1 (the number of clusters); got {k!r}")
    return int(k)


def check_enough(n, k, what="samples"):
    if k > n:
        raise InputError(f"cannot split {n} {what} into {k} clusters: there must be at least as many {what} as "
                         f"clusters (n_clusters <= {n}).")


def check_features(x, dim=None, name="x"):
    """`x` as float32 (n, d) with finite values, n >= 1, and d == `dim` if given; or an InputError."""
    try:
        x = np.asarray(x, dtype="float32")
    except (TypeError, ValueError) as e:
        raise InputError(f"{name} must be a numeric array of shape (n, d); numpy cannot convert it: {e}") from None
    if x.ndim != 2 or len(x) == 0:
        raise InputError(f"{name} must be an array of shape (n, d) with n >= 1 rows; got shape {x.shape}")
    if dim is not None and x.shape[1] != dim:
        raise InputError(f"{name} has {x.shape[1]} features (shape {x.shape}); expected {dim}, as in the data the "
                         "model was fitted on")
    _check_finite(x, name)
    return x


def _check_finite(x, name):
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(f"{name} holds {int(bad.sum())} NaN or infinite values (the first at index {first}); "
                         "expected finite values.")


def check_network_inputs(x, input_shape, name="x"):
    """`x` as the float32 batch a network of `input_shape` (None, ...) takes; images go through check_images."""
    shape = tuple(input_shape[1:])
    if len(shape) == 3:
        return check_images(x, shape=shape[:2], channels=shape[2], name=name)
    try:
        x = np.asarray(x, dtype="float32")
    except (TypeError, ValueError) as e:
        raise InputError(f"{name} must be a numeric array; numpy cannot convert it: {e}") from None
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape or len(x) == 0:
        raise InputError(f"{name} has shape {x.shape}; the encoder takes (n, {', '.join(map(str, shape))}) with "
                         "n >= 1")
    _check_finite(x, name)
    return x


def _first(outputs):
    return outputs[0] if isinstance(outputs, (list, tuple)) else outputs


def _output_dim(model, what):
    shape = model.output_shape
    if isinstance(shape, list):
        shape = shape[0]
    if len(shape) != 2:
        raise ValueError(f"the {what} must output vectors (n, d); its output shape is {shape}")
    return int(shape[-1])


def _copy_network(model):
    """A functional copy of `model` with its weights: training the copy leaves the original as it was."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _networks(autoencoder):
    """(encoder, decoder) of a zoo autoencoder (anything with `.encoder`, `.decoder`)."""
    if not (hasattr(autoencoder, "encoder") and hasattr(autoencoder, "decoder")):
        raise TypeError(f"expected an autoencoder with .encoder and .decoder networks (e.g. "
                        f"zoo.load('ae_mnist')); got {type(autoencoder).__name__}")
    return autoencoder.encoder, autoencoder.decoder


# The papers' autoencoder ----------------------------------------------------------------------------------

PAPER_DIMS = (500, 500, 2000, 10)  # DEC, IDEC and VaDE on MNIST: d-500-500-2000-10


@keras.saving.register_keras_serializable(package="zoo")
class StackedAutoencoder(SingleLossModel):
    """The fully connected autoencoder DEC, IDEC and VaDE pretrain: d-500-500-2000-10 and its mirror.

    ReLU between layers, a linear code (Xie et al. 2016; Guo et al. 2017's code). `decoder_output="linear"`: the
    decoder's last layer is linear and the loss the mean squared error (IDEC's pretraining);
    `decoder_output="logits"`: it gives Bernoulli logits and the loss is the cross-entropy per image (nats; VaDE's,
    whose decoder is a Bernoulli). DEC/IDEC/VaDE's `from_autoencoder` take it (its `.encoder`, `.decoder`).
    Images in [0, 1] go in as they are; the encoder flattens them, the decoder shapes them back.
    """

    tracked = ("loss",)

    def __init__(self, data_shape=(28, 28, 1), dims=PAPER_DIMS, decoder_output="linear", **kwargs):
        super().__init__(**kwargs)
        if decoder_output not in DECODER_OUTPUTS:
            raise ValueError(f"decoder_output must be one of {DECODER_OUTPUTS}; got {decoder_output!r}")
        dims = tuple(int(d) for d in dims)
        if not dims or min(dims) < 1:
            raise ValueError(f"dims must be layer widths >= 1, the last the code's; got {dims}")
        self.data_shape, self.dims, self.decoder_output = tuple(data_shape), dims, decoder_output
        size = math.prod(self.data_shape)
        inputs = keras.Input(self.data_shape)
        x = keras.layers.Flatten()(inputs)
        for i, width in enumerate(dims[:-1]):
            x = keras.layers.Dense(width, activation="relu", name=f"encoder_{i}")(x)
        self.encoder = keras.Model(inputs, keras.layers.Dense(dims[-1], name="code")(x), name="encoder")
        codes = keras.Input((dims[-1],))
        x = codes
        for i, width in enumerate(reversed(dims[:-1])):
            x = keras.layers.Dense(width, activation="relu", name=f"decoder_{i}")(x)
        x = keras.layers.Dense(size, name="output")(x)
        self.decoder = keras.Model(codes, keras.layers.Reshape(self.data_shape)(x), name="decoder")
        self.built = True

    def call(self, x, training=False):
        return self.decoder(self.encoder(x, training=training), training=training)

    def compute_terms(self, x, y=None, training=False):
        output = ops.cast(self(x, training=training), "float32")
        x = ops.cast(x, "float32")
        if self.decoder_output == "linear":
            return {"loss": ops.mean(ops.square(x - output))}
        return {"loss": -ops.mean(bernoulli_log_likelihood(x, output))}

    def check_inputs(self, x):
        return check_network_inputs(x, self.encoder.input_shape)

    def encode(self, x, batch_size=1000):
        """Codes (n, dims[-1]) of `x`."""
        return batched(lambda b: self.encoder(b, training=False), self.check_inputs(x), batch_size)

    def reconstruct(self, x, batch_size=1000):
        """The decoder's picture of `x`: in [0, 1] for "logits" (the sigmoid), as it is for "linear"."""
        out = batched(lambda b: self(b, training=False), self.check_inputs(x), batch_size)
        return sigmoid(out) if self.decoder_output == "logits" else out

    def get_config(self):
        return {**super().get_config(), "data_shape": list(self.data_shape), "dims": list(self.dims),
                "decoder_output": self.decoder_output}


# DEC / IDEC --------------------------------------------------------------------------------------------------

def student_t_logits(z, centres, alpha=1.0):
    """log of DEC's unnormalised Student-t kernel, -(alpha + 1) / 2 * log(1 + ||z_i - mu_j||^2 / alpha), (n, k)."""
    z, centres = ops.cast(z, "float32"), ops.cast(centres, "float32")
    squared = ops.sum(ops.square(z[:, None, :] - centres[None, :, :]), axis=-1)
    return -0.5 * (alpha + 1.0) * ops.log1p(squared / alpha)


def student_t_assignments(z, centres, alpha=1.0):
    """DEC's soft assignment q (n, k) of codes `z` (n, d) to `centres` (k, d) (Xie et al. 2016, Eq. 1)."""
    return ops.softmax(student_t_logits(z, centres, alpha), axis=-1)


def target_distribution(q):
    """DEC's auxiliary target (Eq. 3): p_ij = q_ij^2 / f_j normalised over j, f_j = sum_i q_ij; numpy (n, k).

    Squaring sharpens each row; dividing by the cluster's soft frequency
    keeps large clusters from drawing everything in.
    """
    q = np.asarray(q, dtype="float64")
    weight = q ** 2 / q.sum(axis=0)
    return (weight / weight.sum(axis=1, keepdims=True)).astype("float32")


class _EncoderInputs:
    """What DEC and VaDE share about their inputs: the encoder's input shape, and the check against it."""

    @property
    def data_shape(self):
        """One input's shape, e.g. (28, 28, 1): the encoder's."""
        return tuple(self.encoder.input_shape[1:])

    def check_inputs(self, x):
        return check_network_inputs(x, self.encoder.input_shape)


@keras.saving.register_keras_serializable(package="zoo")
class DEC(_EncoderInputs, SingleLossModel):
    """Deep embedded clustering (DEC, Xie et al. 2016) and, with a decoder, IDEC (Guo et al. 2017).

    The loss of a batch (x, p) is
        clustering_weight * KL(P || Q) + reconstruction_weight * MSE(x, decoder(encoder(x))),
    KL summed over clusters and averaged over the batch, MSE averaged over
    every value (`decoder_output="logits"`, the zoo's decoders: the decoder's
    sigmoid is compared with x). DEC: `clustering_weight=1,
    reconstruction_weight=0`, no decoder. IDEC: `clustering_weight=0.1` (the
    paper's gamma), `reconstruction_weight=1`. `DEC.from_autoencoder(ae,
    n_clusters, method="idec" | "dec")` builds either from a pretrained zoo
    autoencoder (its networks copied, the autoencoder left untouched).

    Training: `init_clusters(x)` (k-means with 20 restarts on the codes, as
    both papers), then `fit_clusters(x, ...)` (see the module docstring for
    how P is refreshed and kept resumably), or Keras `fit` on (x, P) pairs
    you refresh yourself (`refresh_targets`, `TargetBatches`): `train_step`
    reads batches `(x, p)`. Numpy API: `encode(x)`, `soft_assignments(x)`,
    `predict_clusters(x)`.

    Args:
        encoder: a functional Keras network x -> codes (n, d) (its first output if several, e.g. a VAE's mean).
        decoder: codes -> x (IDEC), or None (DEC).
        n_clusters: k.
        alpha: the Student-t kernel's degrees of freedom (1 in both papers).
    """

    tracked = ("loss", "clustering", "reconstruction")

    def __init__(self, encoder, decoder=None, n_clusters=10, alpha=1.0, clustering_weight=1.0,
                 reconstruction_weight=0.0, decoder_output="logits", **kwargs):
        super().__init__(**kwargs)
        self.n_clusters = check_count(n_clusters)
        if not alpha > 0:
            raise ValueError(f"alpha (the Student-t degrees of freedom) must be > 0; got {alpha}")
        if decoder_output not in DECODER_OUTPUTS:
            raise ValueError(f"decoder_output must be one of {DECODER_OUTPUTS}; got {decoder_output!r}")
        if reconstruction_weight < 0 or clustering_weight < 0:
            raise ValueError(f"loss weights must be >= 0; got clustering_weight={clustering_weight}, "
                             f"reconstruction_weight={reconstruction_weight}")
        if (decoder is None) != (reconstruction_weight == 0):
            raise ValueError("a decoder goes with reconstruction_weight > 0 (IDEC), and none with 0 (DEC); got "
                             f"decoder={'a network' if decoder is not None else None}, "
                             f"reconstruction_weight={reconstruction_weight}")
        self.alpha = float(alpha)
        self.clustering_weight = float(clustering_weight)
        self.reconstruction_weight = float(reconstruction_weight)
        self.decoder_output = decoder_output
        self.encoder = encoder
        self.decoder = decoder
        self.code_dim = _output_dim(encoder, "encoder")
        self.centres = self.add_weight(shape=(self.n_clusters, self.code_dim), initializer="glorot_uniform",
                                       name="centres")
        self.built = True

    @classmethod
    def from_autoencoder(cls, autoencoder, n_clusters=10, method="idec", gamma=0.1, **kwargs):
        """IDEC (`method="idec"`, loss L_r + gamma * L_c) or DEC (`"dec"`, KL only) on copies of a
        pretrained autoencoder's networks (e.g. `zoo.load("ae_mnist")`)."""
        encoder, decoder = _networks(autoencoder)
        if method == "idec":
            return cls(_copy_network(encoder), _copy_network(decoder), n_clusters=n_clusters,
                       clustering_weight=gamma, reconstruction_weight=1.0, **kwargs)
        if method == "dec":
            return cls(_copy_network(encoder), None, n_clusters=n_clusters, **kwargs)
        raise ValueError(f"method must be 'idec' or 'dec'; got {method!r}")

    def call(self, x, training=False):
        return student_t_assignments(_first(self.encoder(x, training=training)), self.centres, self.alpha)

    def compute_terms(self, x, y=None, training=False):
        if y is None:
            raise InputError("DEC trains on (x, p) pairs, p the target distribution of x's rows: use "
                             "fit_clusters(x), or fit(TargetBatches(...)) / fit(x, refresh_targets(x).targets)")
        z = ops.cast(_first(self.encoder(x, training=training)), "float32")
        log_q = ops.log_softmax(student_t_logits(z, self.centres, self.alpha), axis=-1)
        p = ops.cast(y, "float32")
        log_p = ops.log(ops.maximum(p, 1e-12))
        clustering = ops.mean(ops.sum(p * (log_p - log_q), axis=1))
        if self.decoder is not None:
            output = ops.cast(self.decoder(z, training=training), "float32")
            if self.decoder_output == "logits":
                output = ops.sigmoid(output)
            reconstruction = ops.mean(ops.square(ops.cast(x, "float32") - output))
        else:
            reconstruction = ops.zeros((), "float32")
        loss = self.clustering_weight * clustering + self.reconstruction_weight * reconstruction
        return {"loss": loss, "clustering": clustering, "reconstruction": reconstruction}

    # Numpy API -------------------------------------------------------------------------------------------


    def encode(self, x, batch_size=1000):
        """Codes (n, d) of `x`."""
        x = self.check_inputs(x)
        return batched(lambda b: _first(self.encoder(b, training=False)), x, batch_size)

    def soft_assignments(self, x, batch_size=1000):
        """q (n, k): each row the Student-t soft assignment of a code to the centres."""
        return self._soft_assignments(self.check_inputs(x), batch_size)

    def _soft_assignments(self, x, batch_size):
        return batched(lambda b: self(b, training=False), x, batch_size)

    def predict_clusters(self, x, batch_size=1000):
        """Cluster labels (n,) int64: argmax_j q_ij."""
        return np.argmax(self.soft_assignments(x, batch_size), axis=1).astype("int64")

    def init_clusters(self, x, n_init=20, seed=0, max_iter=300):
        """Centres from k-means on the codes of `x` (the best of `n_init` k-means++ runs); returns the labels."""
        codes = self.encode(x)
        check_enough(len(codes), self.n_clusters)
        centres, labels, _ = kmeans(codes, self.n_clusters, n_init=n_init, max_iter=max_iter, seed=seed)
        self.centres.assign(centres)
        return labels

    def refresh_targets(self, x, previous_labels=None, batch_size=1000, checked=False):
        """`Targets(P, labels, changed)` over all of `x`; `changed` is the share of labels that differ from
        `previous_labels` (None without them). `checked=True` skips the input checks (x came from check_inputs)."""
        q = self._soft_assignments(x if checked else self.check_inputs(x), batch_size)
        labels = np.argmax(q, axis=1).astype("int64")
        changed = None
        if previous_labels is not None:
            previous_labels = np.asarray(previous_labels)
            if previous_labels.shape != labels.shape:
                raise InputError(f"previous_labels has shape {previous_labels.shape}; expected {labels.shape}, one "
                                 "label per row of x")
            changed = float(np.mean(labels != previous_labels))
        return Targets(target_distribution(q), labels, changed)

    def fit_clusters(self, x, max_steps=20000, update_interval=140, batch_size=256, tol=0.001, n_init=20, seed=0,
                     initialize=True, state=None, callback=None, max_seconds=None, stop_after_steps=None,
                     save_every=300.0, verbose=0):
        """Train until fewer than `tol` of the labels change between refreshes, or `max_steps` steps.

        The loop of DEC/IDEC's reference code: P over all of `x` every
        `update_interval` steps (`max_steps` rounded up to whole intervals),
        minibatches of `batch_size` from shuffled passes (`TargetBatches`).
        `initialize` runs `init_clusters(x, n_init, seed)` first (on a fresh
        start only). Compiles with Adam(1e-3) (IDEC on MNIST) if the model is not
        compiled; compile it yourself for another optimizer (DEC used SGD 0.01,
        momentum 0.9).

        Resumable with `state`, a `zoo.resume.TrainingState` restored into this
        compiled model when it exists (module docstring): the state is saved at
        every refresh, every `save_every` seconds, and when a limit stops the run
        (`max_seconds`, `stop_after_steps` of this call, SIGINT/SIGTERM), which
        raises `zoo.resume.TrainingStopped`. Called again with the restored state,
        it continues; a finished state returns at once.

        `callback(interval, targets)`, if given, sees each refresh (e.g. to log
        accuracy against labels the training never sees).

        Returns `{"intervals", "steps", "changed" (one per refresh, the first against
        the k-means labels), "converged", "labels" (the last refresh's)}`.
        """
        x = self.check_inputs(x)
        check_enough(len(x), self.n_clusters)
        if isinstance(update_interval, bool) or not isinstance(update_interval, (int, np.integer)) \
                or update_interval < 1:
            raise InputError(f"update_interval must be an int >= 1 (steps between refreshes); got {update_interval!r}")
        if not self.compiled:
            self.compile(optimizer=keras.optimizers.Adam(1e-3))
        intervals = max(1, math.ceil(max_steps / update_interval))
        batches = TargetBatches(x, update_interval, batch_size=batch_size, seed=seed)
        arrays = state.arrays if state is not None else {}
        record = state.record.setdefault("dec", {}) if state is not None else {}
        if "dec_targets" not in arrays:  # a fresh start
            labels = self.init_clusters(x, n_init=n_init, seed=seed) if initialize else self.predict_clusters(x)
            first = self.refresh_targets(x, labels, checked=True)
            arrays["dec_targets"], arrays["dec_labels"] = first.targets, first.labels
            record.update(interval=0, changed=[first.changed], converged=False)
            if callback is not None:
                callback(0, first)
            if state is not None:
                state.position = {"epoch": 0, "batch": 0}
                state.save(self)
        started, first_step = time.monotonic(), self._optimizer_steps()
        while record["interval"] < intervals and not record["converged"]:
            interval = record["interval"]
            batches.set_targets(arrays["dec_targets"], interval)
            if state is None:
                self.fit(batches.steps_from(interval * update_interval, update_interval), epochs=1,
                         shuffle=False, verbose=verbose)
            else:
                limits = {}
                if max_seconds is not None:
                    limits["max_seconds"] = max(max_seconds - (time.monotonic() - started), 1e-3)
                if stop_after_steps is not None:
                    limits["max_steps"] = max(stop_after_steps - (self._optimizer_steps() - first_step), 1)
                # Only this interval: a finished one returns at once (a stop between its end and the refresh).
                resume.fit(self, batches, epochs=interval + 1, state=state, save_every=save_every, verbose=verbose,
                           **limits)
            refresh = self.refresh_targets(x, arrays["dec_labels"], checked=True)
            arrays["dec_targets"], arrays["dec_labels"] = refresh.targets, refresh.labels
            record["interval"] = interval + 1
            record["changed"] = [*record["changed"], refresh.changed]
            record["converged"] = refresh.changed < tol
            if callback is not None:
                callback(interval + 1, refresh)
            if state is not None:
                state.position = {"epoch": interval + 1, "batch": 0}
                state.save(self)
        return {"intervals": record["interval"], "steps": record["interval"] * update_interval,
                "changed": list(record["changed"]), "converged": record["converged"],
                "labels": np.asarray(arrays["dec_labels"])}

    def _optimizer_steps(self):
        if hasattr(self, "jax_state_sync"):
            self.jax_state_sync()
        return int(ops.convert_to_numpy(self.optimizer.iterations))

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": None if self.decoder is None else keras.saving.serialize_keras_object(self.decoder),
            "n_clusters": self.n_clusters,
            "alpha": self.alpha,
            "clustering_weight": self.clustering_weight,
            "reconstruction_weight": self.reconstruction_weight,
            "decoder_output": self.decoder_output,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**_deserialize_networks(config))


def _deserialize_networks(config):
    config = dict(config)
    for key in ("encoder", "decoder"):
        if isinstance(config.get(key), dict):
            config[key] = keras.saving.deserialize_keras_object(config[key])
    return config


class TargetBatches(EpochBatches):
    """(x[rows], P[rows]) batches for DEC/IDEC: one epoch is one update interval of `steps` batches.

    Batch `index` of interval `epoch` is global step `s = epoch * steps + index`:
    rows `s * batch_size ... (s + 1) * batch_size - 1` of an endless stream of
    passes over x, pass `i` in the order `default_rng([seed, i]).permutation(n)`.
    So every batch has `batch_size` rows (a batch may straddle two passes), each
    row is seen once a pass, and the rows are a pure function of (epoch, index).
    The targets are the P of one interval, `set_targets(P, epoch)`; a batch of
    another interval is refused. `batch_size` larger than x is cut to len(x).
    Train on `steps_from(epoch * steps, steps)` (as `fit_clusters` does), not on
    the object itself: Keras' `fit` counts its epochs from 1 (`on_epoch_end` at the start).
    """

    def __init__(self, x, steps, batch_size=256, seed=0, **kwargs):
        super().__init__(steps, **kwargs)
        if len(x) < 1:
            raise InputError("TargetBatches needs at least one example; got an empty array")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise InputError(f"batch_size must be a positive int; got {batch_size!r}")
        self.x = x
        self.batch_size = min(int(batch_size), len(x))
        self.seed = int(seed)
        self.targets = self.targets_epoch = None
        self._passes = {}

    def set_targets(self, targets, epoch):
        """Serve `targets` (n, k) with the batches of interval `epoch`."""
        targets = np.asarray(targets, dtype="float32")
        if targets.ndim != 2 or len(targets) != len(self.x):
            raise InputError(f"targets must have shape ({len(self.x)}, n_clusters), one row per example; got "
                             f"{targets.shape}")
        self.targets, self.targets_epoch = targets, int(epoch)

    def _pass(self, i):
        order = self._passes.get(i)
        if order is None:
            order = np.random.default_rng([self.seed, i]).permutation(len(self.x))
            self._passes = {i: order, **{j: o for j, o in self._passes.items() if j == i - 1}}
        return order

    def rows(self, index, epoch):
        """The example indices of batch `index` of interval `epoch`."""
        n = len(self.x)
        start = (epoch * self.steps + index) * self.batch_size
        first, last = start // n, (start + self.batch_size - 1) // n
        order = np.concatenate([self._pass(i) for i in range(first, last + 1)])
        return order[start - first * n: start - first * n + self.batch_size]

    def batch(self, index, epoch):
        if self.targets is None or epoch != self.targets_epoch:
            raise RuntimeError(f"a batch of update interval {epoch} was asked for, but the targets held are "
                               f"those of interval {self.targets_epoch}: call set_targets(P, {epoch}) with that "
                               "interval's P first")
        rows = self.rows(index, epoch)
        return self.x[rows], self.targets[rows]


# VaDE --------------------------------------------------------------------------------------------------------

def with_log_var_head(encoder, name="log_var"):
    """A copy of a one-output encoder (x -> code) as x -> [mean, log_var]: the code becomes the mean, and a new
    Dense head (Keras' default initialisation, as VaDE's code) reads the layer the code's layer reads."""
    copy = _copy_network(encoder)
    head = copy.layers[-1]
    if isinstance(copy.output, (list, tuple)) or not isinstance(head, keras.layers.Dense):
        raise ValueError("with_log_var_head expects an encoder whose single output is its last layer, a Dense "
                         f"layer; got outputs {copy.output_shape} from a {type(head).__name__}")
    log_var = keras.layers.Dense(head.units, name=name)(head.input)
    return keras.Model(copy.input, [copy.output, log_var], name="encoder")


@keras.saving.register_keras_serializable(package="zoo")
class VaDE(_EncoderInputs, SingleLossModel):
    """Variational deep embedding (Jiang et al. 2017): a VAE with a Gaussian-mixture prior.

    Generative model: c ~ Cat(pi), z ~ N(mu_c, diag(sigma_c^2)), x ~ Bernoulli(decoder(z)).
    Inference: q(z|x) = N(mean(x), diag(exp(log_var(x)))) from the encoder and
    q(c|x) ~ p(c|z) = gamma. The loss is minus the ELBO of Eq. 17, per example
    (nats), with one z ~ q(z|x) (reparameterized):
        -log p(x|z) + 1/2 sum_c gamma_c sum_j (log sigma_cj^2 + var_j / sigma_cj^2 + (mean_j - mu_cj)^2 / sigma_cj^2)
        - sum_c gamma_c log(pi_c / gamma_c) - 1/2 sum_j (1 + log var_j),
    logged as "reconstruction" (the first term) and "kl" (the rest: KL(q(z, c|x) || p(z, c))).
    gamma is computed from the sampled z and gradients flow through it, as in
    the reference code. The prior's parameters are weights: `pi_logits` (pi =
    softmax), `cluster_means`, `cluster_log_vars`.

    Initialisation (the paper's): pretrain an autoencoder, `VaDE.from_autoencoder(ae, k)`,
    then `init_prior(x)`, a diagonal Gaussian mixture fitted by EM on the codes.
    Clusters: `predict_clusters(x)` = argmax of gamma at z = the posterior mean.

    Args:
        encoder: a functional network x -> [mean, log_var] (see `with_log_var_head`).
        decoder: z -> Bernoulli logits of x.
        binarize: train on x_bin ~ Bernoulli(x) re-drawn each batch; default False (the paper's MNIST is grey).
    """

    tracked = ("loss", "reconstruction", "kl")

    def __init__(self, encoder, decoder, n_clusters=10, binarize=False, seed=None, **kwargs):
        kwargs.setdefault("name", "vade")
        super().__init__(**kwargs)
        self.n_clusters = check_count(n_clusters)
        if not (isinstance(encoder.output, (list, tuple)) and len(encoder.output) == 2):
            raise ValueError("VaDE's encoder outputs [mean, log_var]; make one from an autoencoder's with "
                             "with_log_var_head(encoder)")
        self.encoder = encoder
        self.decoder = decoder
        self.binarize = bool(binarize)
        self.seed = seed
        self.latent_dim = _output_dim(encoder, "encoder")
        k, d = self.n_clusters, self.latent_dim
        self.pi_logits = self.add_weight(shape=(k,), initializer="zeros", name="pi_logits")
        # Not all equal, or no gradient could ever tell the clusters apart; init_prior replaces them.
        self.cluster_means = self.add_weight(shape=(k, d), initializer=keras.initializers.RandomNormal(seed=seed),
                                             name="cluster_means")
        self.cluster_log_vars = self.add_weight(shape=(k, d), initializer="zeros", name="cluster_log_vars")
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    @classmethod
    def from_autoencoder(cls, autoencoder, n_clusters=10, **kwargs):
        """VaDE on copies of a pretrained autoencoder's networks: its code becomes the posterior mean, with a
        new log-variance head (`with_log_var_head`). Then call `init_prior(x)`."""
        encoder, decoder = _networks(autoencoder)
        return cls(with_log_var_head(encoder), _copy_network(decoder), n_clusters=n_clusters, **kwargs)

    def call(self, x, training=False):
        mean, _ = self.encoder(x, training=training)
        return self.decoder(mean, training=training)

    def _prior_tensors(self):
        """log pi (k,), means (k, d), log variances (k, d): float32 whatever the precision policy."""
        return (ops.log_softmax(ops.cast(self.pi_logits, "float32")), ops.cast(self.cluster_means, "float32"),
                ops.cast(self.cluster_log_vars, "float32"))

    def _log_joint(self, z):
        """log pi_c + log N(z | mu_c, sigma_c^2), (n, k)."""
        log_pi, means, log_vars = self._prior_tensors()
        squared = ops.square(z[:, None, :] - means[None]) / ops.exp(log_vars)[None]
        log_normal = -0.5 * ops.sum(LOG_2PI + log_vars[None] + squared, axis=-1)
        return log_pi[None] + log_normal

    def _terms(self, x, eps=None, training=False):
        """(reconstruction, kl) per example for noise `eps` (n, d) (None: drawn from the seed generator); minus
        the ELBO is their sum."""
        mean, log_var = (ops.cast(t, "float32") for t in self.encoder(x, training=training))
        if eps is None:
            eps = zoo_random.normal(ops.shape(mean), seed=self.seed_generator)
        z = mean + ops.exp(0.5 * log_var) * eps
        logits = self.decoder(z, training=training)
        reconstruction = -bernoulli_log_likelihood(x, logits)
        log_gamma = ops.log_softmax(self._log_joint(z), axis=-1)
        gamma = ops.exp(log_gamma)
        log_pi, means, log_vars = self._prior_tensors()
        variances = ops.exp(log_vars)[None]
        cross = ops.sum(log_vars[None] + ops.exp(log_var)[:, None, :] / variances
                        + ops.square(mean[:, None, :] - means[None]) / variances, axis=-1)  # (n, k)
        kl = (0.5 * ops.sum(gamma * cross, axis=1)
              - ops.sum(gamma * (log_pi[None] - log_gamma), axis=1)
              - 0.5 * ops.sum(1.0 + log_var, axis=1))
        return reconstruction, kl

    def compute_terms(self, x, y=None, training=False):
        x = ops.cast(x, "float32")
        if self.binarize:
            x = ops.cast(zoo_random.uniform(ops.shape(x), seed=self.seed_generator) < x, "float32")
        reconstruction, kl = self._terms(x, training=training)
        reconstruction, kl = ops.mean(reconstruction), ops.mean(kl)
        return {"loss": reconstruction + kl, "reconstruction": reconstruction, "kl": kl}

    # Numpy API -------------------------------------------------------------------------------------------


    def encode(self, x, batch_size=1000):
        """The posterior q(z|x): `(mean, log_var)`, each (n, latent_dim)."""
        x = self.check_inputs(x)
        return batched(lambda b: self.encoder(b, training=False), x, batch_size)

    def soft_assignments(self, x, batch_size=1000):
        """gamma (n, k) = p(c | z) at z = the posterior mean: the cluster probabilities of each x."""
        mean, _ = self.encode(x, batch_size)
        return batched(lambda z: ops.softmax(self._log_joint(ops.convert_to_tensor(z)), axis=-1), mean, batch_size)

    def predict_clusters(self, x, batch_size=1000):
        """Cluster labels (n,) int64: argmax_c p(c | z = posterior mean)."""
        return np.argmax(self.soft_assignments(x, batch_size), axis=1).astype("int64")

    def elbo(self, x, seed=0, batch_size=1000):
        """The ELBO (Eq. 17) of each x (n,), in nats, with one z per x; the noise is
        `np.random.default_rng(seed).standard_normal((n, latent_dim))`, so a seed gives the same value."""
        x = self.check_inputs(x)
        eps = np.random.default_rng(seed).standard_normal((len(x), self.latent_dim)).astype("float32")
        return -batched(lambda i: ops.add(*self._terms(ops.convert_to_tensor(x[i]), ops.convert_to_tensor(eps[i]))),
                        np.arange(len(x)), batch_size)

    def prior(self):
        """The prior's (pi (k,), means (k, d), variances (k, d)) as numpy."""
        pi = ops.convert_to_numpy(ops.softmax(self.pi_logits))
        return pi, ops.convert_to_numpy(self.cluster_means), np.exp(ops.convert_to_numpy(self.cluster_log_vars))

    def init_prior(self, x, n_init=1, seed=0, max_iter=100, reg_covar=1e-6):
        """Fit a diagonal Gaussian mixture (EM, k-means initialisation) to the posterior means of `x` and make
        it the prior; returns the fitted `GaussianMixture`. VaDE's code fits one to the pretrained codes too."""
        mean, _ = self.encode(x)
        check_enough(len(mean), self.n_clusters)
        gmm = GaussianMixture(self.n_clusters, covariance_type="diag", init="kmeans", n_init=n_init, seed=seed,
                              max_iter=max_iter, reg_covar=reg_covar).fit(mean)
        self.pi_logits.assign(np.log(np.maximum(gmm.weights_, 1e-12)).astype("float32"))
        self.cluster_means.assign(gmm.means_)
        self.cluster_log_vars.assign(np.log(gmm.covariances_).astype("float32"))
        return gmm

    def decode(self, z, batch_size=1000):
        """Pixel probabilities for codes `z` (n, latent_dim)."""
        z = check_codes(z, self.latent_dim)
        return sigmoid(batched(lambda b: self.decoder(b, training=False), z, batch_size))

    def sample(self, n, cluster=None, seed=None):
        """`n` images from the generative model: c ~ pi (or the given `cluster`), z ~ N(mu_c, sigma_c^2)."""
        rng = np.random.default_rng(seed)
        pi, means, variances = self.prior()
        if cluster is None:
            c = rng.choice(self.n_clusters, size=int(n), p=pi / pi.sum())
        else:
            if not 0 <= int(cluster) < self.n_clusters:
                raise InputError(f"cluster must be in 0..{self.n_clusters - 1}; got {cluster}")
            c = np.full(int(n), int(cluster))
        z = means[c] + np.sqrt(variances[c]) * rng.standard_normal((int(n), self.latent_dim))
        return self.decode(z.astype("float32"))

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "n_clusters": self.n_clusters,
            "binarize": self.binarize,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**_deserialize_networks(config))


# Gaussian mixture by EM --------------------------------------------------------------------------------------

def _positive_definite(covariances, covariance_type):
    if covariance_type == "diag":
        return bool(np.all(covariances > 0))
    try:
        np.linalg.cholesky(covariances.astype("float64"))
    except np.linalg.LinAlgError:
        return False
    return True


def _chunks(n, size):
    return [(start, min(start + size, n)) for start in range(0, n, size)]


class GaussianMixture:
    """A mixture of `n_components` Gaussians fitted by EM (Dempster, Laird & Rubin 1977), in Keras ops.

    The algorithm and its conventions are scikit-learn's `GaussianMixture`:
    E-step, M-step (covariances + `reg_covar` on the diagonal, component counts
    + 10 float eps), stop when the mean log-likelihood per sample changes by
    less than `tol`; the best of `n_init` runs (highest log-likelihood) is kept.
    Computed in float32 on the running backend (scikit-learn: float64).

    Args:
        covariance_type: "full" or "diag".
        init: "kmeans" (responsibilities one-hot on the labels of one k-means run, as
            scikit-learn's default), "k-means++" (one-hot on the nearest k-means++ seed:
            what scikit-learn's first E-step makes of its k-means++ initialisation), or a
            dict of starting parameters {"weights" (k,), "means" (k, d), "covariances"
            (k, d, d) or (k, d)}.

    After `fit(x)`: `weights_`, `means_`, `covariances_` (numpy), `converged_`,
    `n_iter_`, `lower_bound_` (the best run's last mean log-likelihood per sample),
    `log_likelihoods_` (one per EM step of the best run). Then `predict(x)`,
    `predict_proba(x)`, `score_samples(x)` (log p(x) per row), `score(x)` (their mean), `bic(x)`.
    """

    def __init__(self, n_components, covariance_type="full", init="kmeans", max_iter=100, tol=1e-3,
                 reg_covar=1e-6, n_init=1, seed=0, chunk_size=4096):
        self.n_components = check_count(n_components, "n_components")
        if covariance_type not in COVARIANCE_TYPES:
            raise InputError(f"covariance_type must be one of {COVARIANCE_TYPES}; got {covariance_type!r}")
        if not (isinstance(init, dict) or init in ("kmeans", "k-means++")):
            raise InputError(f"init must be 'kmeans', 'k-means++' or a dict of starting weights, means and "
                             f"covariances; got {init!r}")
        self.covariance_type = covariance_type
        self.init = init
        self.max_iter, self.tol, self.reg_covar = int(max_iter), float(tol), float(reg_covar)
        self.n_init = check_count(n_init, "n_init")
        self.seed = seed
        self.chunk_size = int(chunk_size)
        self.weights_ = self.means_ = self.covariances_ = None

    # The two steps, in Keras ops -------------------------------------------------------------------------

    def _log_gaussians(self, x, means, covariances):
        """log N(x_i | mu_k, Sigma_k), (n, k), for x a tensor (n, d)."""
        d = means.shape[-1]
        if self.covariance_type == "diag":
            squared = ops.sum(ops.square(x[:, None, :] - means[None]) / covariances[None], axis=-1)
            log_det = ops.sum(ops.log(covariances), axis=-1)
            return -0.5 * (d * LOG_2PI + log_det[None] + squared)
        cholesky = ops.cholesky(covariances)  # (k, d, d), lower
        identity = ops.broadcast_to(ops.eye(d, dtype="float32"), ops.shape(covariances))
        inverse = ops.solve_triangular(cholesky, identity, lower=True)  # L^-1: Sigma^-1 = L^-T L^-1
        log_det = 2.0 * ops.sum(ops.log(ops.diagonal(cholesky, axis1=-2, axis2=-1)), axis=-1)
        diff = x[None, :, :] - means[:, None, :]  # (k, n, d)
        whitened = ops.matmul(diff, ops.transpose(inverse, (0, 2, 1)))  # rows L^-1 (x - mu)
        return -0.5 * (d * LOG_2PI + log_det[None] + ops.transpose(ops.sum(ops.square(whitened), axis=-1)))

    def _log_weighted(self, x, params):
        weights, means, covariances = params
        log_weights = ops.log(weights)[None]
        return ops.concatenate([self._log_gaussians(x[a:b], means, covariances) + log_weights
                                for a, b in _chunks(int(x.shape[0]), self.chunk_size)], axis=0)

    def _e_step(self, x, params):
        """(mean log-likelihood per sample, log responsibilities (n, k))."""
        weighted = self._log_weighted(x, params)
        log_norm = ops.logsumexp(weighted, axis=1)
        return float(ops.mean(log_norm)), weighted - log_norm[:, None]

    def _m_step(self, x, resp):
        """(weights, means, covariances) from responsibilities `resp` (n, k)."""
        n = int(x.shape[0])
        counts = ops.sum(resp, axis=0) + 10.0 * float(np.finfo("float32").eps)
        means = ops.matmul(ops.transpose(resp), x) / counts[:, None]
        parts = []
        for a, b in _chunks(n, self.chunk_size):
            diff = x[None, a:b, :] - means[:, None, :]  # (k, m, d)
            weighted = ops.transpose(resp[a:b])[:, :, None] * diff
            if self.covariance_type == "diag":
                parts.append(ops.sum(weighted * diff, axis=1))
            else:
                parts.append(ops.matmul(ops.transpose(weighted, (0, 2, 1)), diff))  # (k, d, d)
        scatter = parts[0]
        for part in parts[1:]:
            scatter = scatter + part
        if self.covariance_type == "diag":
            covariances = scatter / counts[:, None] + self.reg_covar
        else:
            d = int(x.shape[1])
            covariances = scatter / counts[:, None, None] + self.reg_covar * ops.eye(d, dtype="float32")[None]
        return counts / n, means, covariances

    def _initial_params(self, x, data, rng):
        n, d = data.shape
        k = self.n_components
        if isinstance(self.init, dict):
            missing = {"weights", "means", "covariances"} - set(self.init)
            if missing:
                raise InputError(f"init as a dict needs weights, means and covariances; missing {sorted(missing)}")
            weights = np.asarray(self.init["weights"], "float32")
            means = np.asarray(self.init["means"], "float32")
            covariances = np.asarray(self.init["covariances"], "float32")
            shape = (k, d, d) if self.covariance_type == "full" else (k, d)
            if weights.shape != (k,) or means.shape != (k, d) or covariances.shape != shape:
                raise InputError(f"init shapes must be weights ({k},), means ({k}, {d}), covariances {shape}; got "
                                 f"{weights.shape}, {means.shape}, {covariances.shape}")
            if not (np.all(weights > 0) and _positive_definite(covariances, self.covariance_type)):
                raise InputError("init needs positive weights and positive definite covariances (diag: positive "
                                 "variances)")
            return tuple(ops.convert_to_tensor(a) for a in (weights, means, covariances))
        if self.init == "kmeans":
            _, labels, _ = kmeans(data, k, n_init=1, seed=int(rng.integers(2 ** 31)))
        else:
            seeds = _kmeans_plus_plus(data, k, rng)
            labels = np.argmin((seeds ** 2).sum(1)[None] - 2.0 * data @ seeds.T, axis=1)  # the nearest seed
        resp = np.zeros((n, k), "float32")
        resp[np.arange(n), labels] = 1.0
        return self._m_step(x, ops.convert_to_tensor(resp))

    # The public API --------------------------------------------------------------------------------------

    def fit(self, x, y=None):
        """EM on the rows of `x` (n, d); returns self."""
        data = check_features(x)
        check_enough(len(data), self.n_components)
        x = ops.convert_to_tensor(data)
        rng = np.random.default_rng(self.seed)
        best = None
        for _ in range(self.n_init):
            params = self._initial_params(x, data, rng)
            lower_bound, history, converged, steps = -np.inf, [], False, 0
            for steps in range(1, self.max_iter + 1):
                previous = lower_bound
                lower_bound, log_resp = self._e_step(x, params)
                params = self._m_step(x, ops.exp(log_resp))
                history.append(lower_bound)
                if abs(lower_bound - previous) < self.tol:
                    converged = True
                    break
            if not np.isfinite(lower_bound):
                raise InputError("EM's log-likelihood became non-finite: the data may have duplicate or "
                                 "degenerate points; raise reg_covar or use covariance_type='diag'")
            if best is None or lower_bound > best[0]:
                best = (lower_bound, params, history, converged, steps)
        self.lower_bound_, params, self.log_likelihoods_, self.converged_, self.n_iter_ = best
        self.weights_, self.means_, self.covariances_ = (ops.convert_to_numpy(p) for p in params)
        self.n_features_ = data.shape[1]
        return self

    def _fitted(self, x):
        if self.means_ is None:
            raise NotFittedError("this GaussianMixture is not fitted yet: call fit(x) first")
        data = check_features(x, self.n_features_)
        return ops.convert_to_tensor(data), tuple(ops.convert_to_tensor(p) for p in
                                                  (self.weights_, self.means_, self.covariances_))

    def score_samples(self, x):
        """log p(x_i) under the mixture, (n,)."""
        x, params = self._fitted(x)
        return ops.convert_to_numpy(ops.logsumexp(self._log_weighted(x, params), axis=1))

    def score(self, x):
        """The mean log-likelihood per sample (scikit-learn's `score`)."""
        return float(np.mean(self.score_samples(x)))

    def predict_proba(self, x):
        """Responsibilities p(component | x_i), (n, k)."""
        x, params = self._fitted(x)
        return ops.convert_to_numpy(ops.softmax(self._log_weighted(x, params), axis=1))

    def predict(self, x):
        """The most probable component of each row, (n,) int64."""
        return np.argmax(self.predict_proba(x), axis=1).astype("int64")

    def n_parameters(self):
        k, d = self.n_components, self.n_features_
        covariance = k * d * (d + 1) // 2 if self.covariance_type == "full" else k * d
        return covariance + k * d + k - 1

    def bic(self, x):
        """Bayesian information criterion on `x` (lower is better): a label-free way to choose k."""
        n = len(check_features(x))
        return -2.0 * self.score(x) * n + self.n_parameters() * math.log(n)
