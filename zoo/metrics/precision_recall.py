"""Improved precision and recall of a generative model.

Kynkaanniemi et al., "Improved Precision and Recall Metric for Assessing
Generative Models", NeurIPS 2019 (arXiv:1904.06991). Each set's manifold is
the union of balls around its points, each ball reaching the point's k-th
nearest neighbour in the same set. Precision is the share of generated samples
inside the real manifold (quality); recall the share of real samples inside
the generated manifold (coverage).
"""

import numpy as np


def _squared_distances(a, b):
    distances = np.sum(a**2, axis=1)[:, None] + np.sum(b**2, axis=1)[None, :] - 2.0 * a @ b.T
    return np.maximum(distances, 0.0)


def _squared_radii(points, k, batch_size):
    """Squared distance from each point to its k-th nearest other point (index 0 is the point itself)."""
    return np.concatenate([
        np.partition(_squared_distances(points[i:i + batch_size], points), k, axis=1)[:, k]
        for i in range(0, len(points), batch_size)
    ])


def _share_inside(queries, centres, squared_radii, batch_size):
    """Share of `queries` within the ball of at least one of `centres`."""
    inside = [
        np.any(_squared_distances(queries[i:i + batch_size], centres) <= squared_radii[None, :], axis=1)
        for i in range(0, len(queries), batch_size)
    ]
    return float(np.mean(np.concatenate(inside)))


def precision_recall(real_features, fake_features, k=3, batch_size=1000):
    """`(precision, recall)` of `fake_features` (m, d) against `real_features` (n, d).

    `k` = 3 is the paper's choice. Distances are computed `batch_size` rows at a time.
    """
    real = np.asarray(real_features, dtype="float64")
    fake = np.asarray(fake_features, dtype="float64")
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features must be (n, d) arrays with the same d; got {real.shape} and {fake.shape}")
    if not 1 <= k < min(len(real), len(fake)):
        raise ValueError(f"k must be at least 1 and below the size of each set ({len(real)}, {len(fake)}); got {k}")
    precision = _share_inside(fake, real, _squared_radii(real, k, batch_size), batch_size)
    recall = _share_inside(real, fake, _squared_radii(fake, k, batch_size), batch_size)
    return precision, recall
