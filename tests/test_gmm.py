"""Gaussian mixtures by EM in Keras ops (zoo.models.clustering.GaussianMixture) against scikit-learn's, on this
backend: the same start gives the same fit; k-means and k-means++ starts give scikit-learn's likelihood; scores,
predictions, BIC; bad inputs."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnMixture

from zoo.errors import InputError
from zoo.metrics.codes import cluster_accuracy
from zoo.models.classical import NotFittedError
from zoo.models.clustering import GaussianMixture


def mixture_data(n=300, d=2, seed=0):
    """Three elongated, overlapping-tailed Gaussian clusters in d dimensions, and their labels."""
    rng = np.random.default_rng(seed)
    centres = np.zeros((3, d))
    centres[1, 0], centres[2, 1 % d] = 5.0, 5.0
    labels = np.arange(n) % 3
    mixing = rng.normal(size=(3, d, d)) * 0.6 + np.eye(d)
    x = centres[labels] + np.einsum("nij,nj->ni", mixing[labels], rng.standard_normal((n, d)))
    return x.astype("float32"), labels.astype("int64")


def start(x, labels, covariance_type):
    """A deliberately rough start: each cluster's statistics from a third of its points, shifted."""
    k, d = 3, x.shape[1]
    part = [x[labels == c][::3] + 0.5 for c in range(k)]
    weights = np.array([0.2, 0.3, 0.5])
    means = np.stack([p.mean(axis=0) for p in part])
    covariances = np.stack([np.cov(p.T) + 0.1 * np.eye(d) for p in part])
    if covariance_type == "diag":
        covariances = np.stack([np.diag(c) for c in covariances])
    return weights, means, covariances


def sklearn_mixture(covariance_type, **kwargs):
    return SklearnMixture(3, covariance_type=covariance_type, **kwargs)


@pytest.mark.parametrize("covariance_type, d", [("full", 3), ("diag", 2)])
def test_the_same_start_gives_scikit_learns_fit(covariance_type, d):
    x, labels = mixture_data(n=330, d=d)
    (x, labels), new = (x[:300], labels[:300]), x[300:]  # new: 30 points of the same mixture
    weights, means, covariances = start(x, labels, covariance_type)
    precisions = np.linalg.inv(covariances) if covariance_type == "full" else 1.0 / covariances
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = sklearn_mixture(covariance_type, weights_init=weights, means_init=means, precisions_init=precisions,
                                    max_iter=15, tol=0.0).fit(x.astype("float64"))
    ours = GaussianMixture(3, covariance_type, init={"weights": weights, "means": means, "covariances": covariances},
                           max_iter=15, tol=0.0).fit(x)
    assert ours.n_iter_ == reference.n_iter_ == 15 and not ours.converged_
    np.testing.assert_allclose(ours.weights_, reference.weights_, atol=1e-4)
    np.testing.assert_allclose(ours.means_, reference.means_, atol=1e-3)
    np.testing.assert_allclose(ours.covariances_, reference.covariances_, atol=2e-3)
    assert ours.lower_bound_ == pytest.approx(reference.lower_bound_, abs=1e-4)
    np.testing.assert_allclose(ours.log_likelihoods_, reference.lower_bounds_, atol=1e-4)
    assert all(b >= a - 1e-5 for a, b in zip(ours.log_likelihoods_, ours.log_likelihoods_[1:]))  # EM never loses

    np.testing.assert_allclose(ours.score_samples(new), reference.score_samples(new), rtol=1e-4, atol=1e-4)
    assert ours.score(new) == pytest.approx(reference.score(new), abs=1e-4)
    np.testing.assert_allclose(ours.predict_proba(new), reference.predict_proba(new), atol=1e-4)
    np.testing.assert_array_equal(ours.predict(new), reference.predict(new))
    assert ours.bic(x) == pytest.approx(reference.bic(x.astype("float64")), rel=1e-5)


@pytest.mark.parametrize("init", ["kmeans", "k-means++"])
def test_kmeans_starts_reach_scikit_learns_likelihood(init):
    x, labels = mixture_data()
    reference = sklearn_mixture("full", init_params=init, n_init=2, random_state=0).fit(x)
    ours = GaussianMixture(3, "full", init=init, n_init=2, seed=0).fit(x)
    assert ours.converged_ and ours.n_iter_ < 100
    assert ours.score(x) == pytest.approx(reference.score(x), abs=2e-3)
    assert cluster_accuracy(reference.predict(x), ours.predict(x)) > 0.99  # the same clusters, up to their order
    assert cluster_accuracy(labels, ours.predict(x)) > 0.9
    np.testing.assert_allclose(np.sort(ours.weights_), np.sort(reference.weights_), atol=2e-3)


def test_bad_inputs_get_clear_errors():
    x, _ = mixture_data(n=30)
    with pytest.raises(InputError, match="n_components must be an int >= 1"):
        GaussianMixture(0)
    with pytest.raises(InputError, match="covariance_type"):
        GaussianMixture(2, covariance_type="spherical")
    with pytest.raises(InputError, match="init must be"):
        GaussianMixture(2, init="random")
    with pytest.raises(InputError, match="cannot split 3 samples into 4 clusters"):
        GaussianMixture(4).fit(x[:3])
    bad = x.copy()
    bad[2, 0] = np.inf
    with pytest.raises(InputError, match="NaN or infinite"):
        GaussianMixture(2).fit(bad)
    with pytest.raises(InputError, match=r"shape \(n, d\)"):
        GaussianMixture(2).fit(x[:, 0])
    with pytest.raises(InputError, match="missing"):
        GaussianMixture(2, init={"weights": [0.5, 0.5]}).fit(x)
    with pytest.raises(InputError, match="positive definite"):
        GaussianMixture(2, init={"weights": [0.5, 0.5], "means": x[:2], "covariances": -np.ones((2, 2, 2))}).fit(x)
    with pytest.raises(NotFittedError, match="fit"):
        GaussianMixture(2).predict(x)
    fitted = GaussianMixture(3, max_iter=2).fit(mixture_data()[0])  # the shapes of the test above: no new compiling
    with pytest.raises(InputError, match="3 features"):
        fitted.predict(np.zeros((4, 3), "float32"))
