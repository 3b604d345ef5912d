"""Test log-likelihood of latent-variable models by importance sampling.

The IWAE bound (Burda, Grosse & Salakhutdinov, "Importance Weighted
Autoencoders", ICLR 2016, Eq. 8):

    log p(x) >= E[ log (1/k) sum_i p(x, z_i) / q(z_i | x) ],  z_i ~ q(z | x),

tight as k grows. With k >= 1000 it is the standard estimate of a VAE's test
negative log-likelihood in nats. k = 1 gives the ELBO.
"""

import math

import numpy as np
from keras import ops

from zoo.losses import bernoulli_log_likelihood
from zoo.progress import track

_LOG_2PI = math.log(2.0 * math.pi)


def _normal_log_density(z, mean, log_var):
    return -0.5 * ops.sum(_LOG_2PI + log_var + ops.square(z - mean) * ops.exp(-log_var), axis=-1)


def iwae_bound(encode, decode_logits, x, k=1000, batch_size=None, seed=0, max_decodes=8192):
    """Per-example IWAE lower bound on log p(x), in nats, as a float64 numpy array.

    `encode(x) -> (mean, log_var)` of a diagonal Gaussian q(z|x); `decode_logits(z)`
    -> Bernoulli logits of p(x|z) with the prior p(z) = N(0, I). `x` holds
    binary images (n, ...). The noise comes from numpy with `seed`, so the same
    weights give the same estimate on every backend. At most `max_decodes`
    images are decoded at once.
    """
    x = np.asarray(x, dtype="float32")
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    rng = np.random.default_rng(seed)
    batch_size = batch_size or max(1, max_decodes // k)
    bounds = []
    for start in track(range(0, len(x), batch_size), label=f"IWAE bound, k={k}"):
        xb = x[start:start + batch_size]
        n = len(xb)
        mean, log_var = (ops.convert_to_numpy(t) for t in encode(xb))
        log_weights = []
        chunk = max(1, max_decodes // n)  # importance samples per decoder call
        for s in range(0, k, chunk):
            m = min(chunk, k - s)
            eps = rng.standard_normal((m, n, mean.shape[-1])).astype("float32")
            z = mean[None] + np.exp(0.5 * log_var)[None] * eps          # (m, n, d)
            logits = decode_logits(z.reshape(m * n, -1))
            targets = ops.convert_to_tensor(
                np.broadcast_to(xb[None], (m,) + xb.shape).reshape((m * n,) + xb.shape[1:]))
            log_px_z = ops.reshape(bernoulli_log_likelihood(targets, logits), (m, n))
            z = ops.convert_to_tensor(z)
            log_pz = _normal_log_density(z, 0.0, ops.zeros_like(z))
            log_qz = _normal_log_density(z, ops.convert_to_tensor(mean[None]),
                                         ops.convert_to_tensor(log_var[None]))
            log_weights.append(ops.convert_to_numpy(log_px_z + log_pz - log_qz).astype("float64"))
        log_weights = np.concatenate(log_weights, axis=0)             # (k, n)
        top = log_weights.max(axis=0)
        bounds.append(top + np.log(np.mean(np.exp(log_weights - top), axis=0)))
    return np.concatenate(bounds)


def iwae_nll(model, x, k=1000, seed=0, **kwargs):
    """Mean test NLL (nats) of a model with `encoder` and `decoder` sub-models, by `iwae_bound`."""
    bound = iwae_bound(
        lambda xb: model.encoder(xb, training=False),
        lambda z: model.decoder(z, training=False),
        x, k=k, seed=seed, **kwargs,
    )
    return float(-bound.mean())
