"""Small synthetic datasets for checking what a GAN covers."""

import numpy as np


def eight_gaussians(n, radius=2.0, std=0.02, seed=0):
    """`n` points from 8 Gaussians evenly spaced on a circle (Metz et al. 2017's ring).

    Returns float32 `(points (n, 2), mode index (n,))`.
    """
    rng = np.random.default_rng(seed)
    modes = rng.integers(0, 8, size=n)
    angles = 2.0 * np.pi * modes / 8.0
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    points = centres + std * rng.standard_normal((n, 2))
    return points.astype("float32"), modes
