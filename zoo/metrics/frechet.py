"""Frechet distance between two sets of features.

The distance between Gaussians fitted to each set (Dowson & Landau, "The
Frechet distance between multivariate normal distributions", J. Multivariate
Anal. 1982), as used by FID (Heusel et al., "GANs Trained by a Two Time-Scale
Update Rule Converge to a Local Nash Equilibrium", NeurIPS 2017):

    d^2 = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)).

The zoo computes it on features of its own classifiers (`fid_mnistnet`, ...),
never on Inception features, so its values are not comparable with FIDs in papers.
"""

import numpy as np


def _psd_sqrt(matrix):
    """The symmetric square root of a symmetric positive semi-definite matrix, by eigh."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(features_a, features_b):
    """Frechet distance (squared, as FID reports it) between Gaussians fitted to two feature sets.

    `features_a` (n, d) and `features_b` (m, d), n, m >= 2. tr((S_a S_b)^(1/2))
    is computed as tr((A S_b A)^(1/2)) with A = S_a^(1/2): the same eigenvalues,
    but a symmetric matrix, so `eigh` gives a real, stable result where a
    general matrix square root can return complex noise.
    """
    a = np.asarray(features_a, dtype="float64")
    b = np.asarray(features_b, dtype="float64")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be (n, d) arrays with the same d; got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"each set needs at least 2 examples for a covariance; got {len(a)} and {len(b)}")
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    root_a = _psd_sqrt(cov_a)
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_sqrt = np.sum(np.sqrt(np.clip(cross, 0.0, None)))
    mean_term = np.sum(np.square(a.mean(axis=0) - b.mean(axis=0)))
    return float(mean_term + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt)
