"""Metrics against known values: the IWAE bound of models whose likelihood is exact."""

import numpy as np
import pytest
from keras import ops

from zoo.metrics import iwae_bound, iwae_nll


def constant_bernoulli(probabilities, latent_dim=3):
    """A 'VAE' whose decoder ignores z: log p(x) is exact, and every importance weight equals it."""
    logits = np.log(probabilities) - np.log1p(-probabilities)

    def encode(x):
        n = len(x)
        return ops.zeros((n, latent_dim)), ops.zeros((n, latent_dim))  # q(z|x) = p(z)

    def decode_logits(z):
        return ops.broadcast_to(ops.convert_to_tensor(logits.astype("float32")), (z.shape[0],) + logits.shape)

    return encode, decode_logits


def test_iwae_of_a_fixed_bernoulli_model_is_its_exact_log_likelihood():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, size=(4, 4, 1))
    x = (rng.uniform(size=(7, 4, 4, 1)) < p).astype("float32")
    exact = np.sum(x * np.log(p) + (1 - x) * np.log1p(-p), axis=(1, 2, 3))
    encode, decode_logits = constant_bernoulli(p)
    for k in (1, 50):
        np.testing.assert_allclose(iwae_bound(encode, decode_logits, x, k=k), exact, rtol=1e-5)


def test_iwae_of_a_linear_gaussian_model_approaches_its_marginal():
    """z ~ N(0,1), x_i ~ Bernoulli(sigmoid(w_i z + b_i)); log p(x) by 1-D quadrature as reference."""
    rng = np.random.default_rng(1)
    w, b = rng.normal(size=5).astype("float32"), rng.normal(size=5).astype("float32")
    x = (rng.uniform(size=(6, 5)) < 0.5).astype("float32")

    def encode(xb):  # a poor but valid proposal: the prior shifted a little
        n = len(xb)
        return ops.full((n, 1), 0.3), ops.full((n, 1), np.log(1.5).astype("float32"))

    def decode_logits(z):
        return ops.convert_to_tensor(z) * ops.convert_to_tensor(w) + ops.convert_to_tensor(b)

    grid = np.linspace(-8, 8, 20001)
    logits = grid[:, None] * w + b                                    # (g, 5)
    log_px_z = x @ (logits - np.logaddexp(0, logits)).T + (1 - x) @ (-np.logaddexp(0, logits)).T
    log_prior = -0.5 * grid**2 - 0.5 * np.log(2 * np.pi)
    exact = np.log(np.trapezoid(np.exp(log_px_z + log_prior), grid, axis=1))

    tight = iwae_bound(encode, decode_logits, x, k=5000, seed=0)
    np.testing.assert_allclose(tight, exact, atol=0.02)
    # The ELBO (k=1), averaged over many draws, sits strictly below: the bound tightens with k.
    elbo = iwae_bound(encode, decode_logits, np.repeat(x, 2000, axis=0), k=1, seed=0).reshape(6, 2000).mean(axis=1)
    assert np.all(elbo < exact - 0.05), (elbo, exact)


def test_same_seed_same_estimate():
    encode, decode_logits = constant_bernoulli(np.full((2, 2, 1), 0.3))
    x = np.ones((3, 2, 2, 1), "float32")
    a = iwae_bound(encode, decode_logits, x, k=10, seed=4)
    np.testing.assert_array_equal(a, iwae_bound(encode, decode_logits, x, k=10, seed=4))


def test_k_must_be_positive():
    encode, decode_logits = constant_bernoulli(np.full((2, 2, 1), 0.3))
    with pytest.raises(ValueError, match="k must be >= 1"):
        iwae_bound(encode, decode_logits, np.ones((1, 2, 2, 1), "float32"), k=0)


def test_iwae_nll_of_a_model_is_the_mean_negative_bound():
    class Fixed:
        pass

    p = np.full((2, 2, 1), 0.25)
    model = Fixed()
    model.encoder, model.decoder = constant_bernoulli(p)
    model.encoder = (lambda f: lambda x, training=False: f(x))(model.encoder)
    model.decoder = (lambda f: lambda z, training=False: f(z))(model.decoder)
    x = np.zeros((3, 2, 2, 1), "float32")
    assert iwae_nll(model, x, k=5) == pytest.approx(-4 * np.log(0.75), rel=1e-5)
