"""Label-preserving changes of image batches for training: shifts and mirror flips, from a given generator.

Each takes a batch `(n, H, W, C)` and a `numpy.random.Generator` and returns a
new batch; `zoo.data.batches.ArrayBatches(augment=...)` seeds the generator by
(seed, epoch, batch), so augmented training stays resumable.
"""

import numpy as np

from zoo.errors import InputError


def random_shifts(images, rng, max_shift=2, mode="constant"):
    """Each image moved by up to `max_shift` pixels along each axis; the uncovered border is filled with 0
    (`mode="constant"`, digits' background) or by repeating the edge (`mode="edge"`, photographs)."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise InputError(f"random_shifts takes a batch (n, H, W, C); got shape {images.shape}")
    if mode not in ("constant", "edge"):
        raise InputError(f"mode must be 'constant' or 'edge'; got {mode!r}")
    s = int(max_shift)
    if s == 0:
        return images.copy()
    padded = np.pad(images, ((0, 0), (s, s), (s, s), (0, 0)), mode=mode)
    h, w = images.shape[1:3]
    shifts = rng.integers(0, 2 * s + 1, size=(len(images), 2))
    return np.stack([p[dy:dy + h, dx:dx + w] for p, (dy, dx) in zip(padded, shifts, strict=True)])


def random_flips(images, rng):
    """Each image mirrored left to right with probability 1/2 (faces, scenes; not digits or text)."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise InputError(f"random_flips takes a batch (n, H, W, C); got shape {images.shape}")
    flip = rng.random(len(images)) < 0.5
    return np.where(flip[:, None, None, None], images[:, :, ::-1], images)
