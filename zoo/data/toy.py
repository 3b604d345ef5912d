"""Small synthetic datasets for checking what a GAN covers."""

import numpy as np


def ring_centres(n_modes=8, radius=2.0):
    """The `(n_modes, 2)` centres of the ring's Gaussians, evenly spaced, the first on the x axis."""
    angles = 2.0 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def eight_gaussians(n, radius=2.0, std=0.02, seed=0):
    """`n` points from 8 Gaussians evenly spaced on a circle (Metz et al. 2017's ring).

    Returns float32 `(points (n, 2), mode index (n,))`; the modes' centres are `ring_centres(8, radius)`.
    """
    rng = np.random.default_rng(seed)
    modes = rng.integers(0, 8, size=n)
    points = ring_centres(8, radius)[modes] + std * rng.standard_normal((n, 2))
    return points.astype("float32"), modes
