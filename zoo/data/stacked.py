"""Stacked MNIST: three MNIST digits as the channels of one 28x28 RGB image, 1000 modes.

Metz et al., "Unrolled Generative Adversarial Networks", ICLR 2017 (arXiv:1611.02163),
Section 3.3.2; the protocol of PacGAN (Lin et al., NeurIPS 2018, arXiv:1712.04086):
a training set of 128,000 images, each channel an MNIST digit drawn at random,
so the mode of an image is its three labels (1000 modes, uniform up to sampling).
`zoo.metrics.modes` counts the modes a generator reaches.
"""

import numpy as np

from zoo.data.batches import EpochBatches
from zoo.errors import InputError


def stacked_indices(n_images, count, seed=0, channels=3):
    """(count, channels) random indices into `n_images` digits, one digit per channel; seeded."""
    if n_images < 1 or count < 1 or channels < 1:
        raise InputError(f"need n_images, count and channels >= 1; got {n_images}, {count}, {channels}")
    return np.random.default_rng(seed).integers(0, n_images, size=(int(count), int(channels)))


def stack_digits(images, indices):
    """Images (n, 28, 28, channels) whose channel c is `images[indices[:, c]]`; `images` are (N, 28, 28, 1)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 1:
        raise InputError(f"images must be one-channel digits of shape (N, H, W, 1); got {images.shape}")
    indices = np.asarray(indices)
    if indices.ndim != 2 or not np.issubdtype(indices.dtype, np.integer):
        raise InputError(f"indices must be integers of shape (n, channels); got {indices.dtype} {indices.shape}")
    return np.concatenate([images[indices[:, c]] for c in range(indices.shape[1])], axis=-1)


def stacked_labels(labels, indices):
    """The mode of each stacked image: its channels' digit labels (n, channels)."""
    return np.asarray(labels)[np.asarray(indices)]


class StackedBatches(EpochBatches):
    """Batches of stacked digits built on the fly from index triples (the 128k-image set
    as float32 would take 1.2 GB); each epoch visits the triples in a fresh order drawn
    from (seed, epoch), whole batches only, at most `steps` of them (default: one pass)."""

    def __init__(self, images, indices, batch_size, seed=0, steps=None, **kwargs):
        if batch_size < 1 or batch_size > len(indices):
            raise InputError(f"batch_size must lie in [1, {len(indices)}]; got {batch_size}")
        whole = len(indices) // int(batch_size)  # every step sees batch_size images
        super().__init__(whole if steps is None else min(int(steps), whole), **kwargs)
        self.images = np.asarray(images, dtype="float32")
        self.indices = np.asarray(indices)
        self.batch_size = int(batch_size)
        self.seed = int(seed)

    def orders(self, epoch):
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.indices))

    def batch(self, index, epoch):
        rows = self.epoch_orders(epoch)[index * self.batch_size:(index + 1) * self.batch_size]
        return stack_digits(self.images, self.indices[rows])
