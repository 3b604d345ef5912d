"""Mode coverage: how many of a data set's modes a generator reaches, and how evenly.

- Stacked MNIST (Metz et al., "Unrolled Generative Adversarial Networks", ICLR
  2017): three MNIST digits stacked as the channels of one image, 10^3 modes.
  A classifier labels each channel; the three digits name the mode. Following
  PacGAN (Lin et al., NeurIPS 2018), report the modes covered and
  KL(generated mode distribution || uniform) over 26k samples.
- The ring of 8 Gaussians (Srivastava et al., "VEEGAN", NeurIPS 2017): a
  sample is of high quality when it lies within three standard deviations of
  its nearest mode's centre; a mode is covered when it holds such a sample.
"""

import numpy as np


def channel_labels(predict_labels, images):
    """Class labels (n, C) of each channel of images (n, H, W, C); `predict_labels` classifies (n, H, W, 1)."""
    images = np.asarray(images)
    return np.stack([np.asarray(predict_labels(images[..., c:c + 1])) for c in range(images.shape[-1])], axis=1)


def mode_histogram(labels_per_channel, n_classes=10):
    """Sample counts over the `n_classes ** C` modes of labels (n, C).

    A sample's mode is its labels read as a base-`n_classes` number, the first
    channel's label the most significant digit: labels (1, 2, 3) -> mode 123.
    """
    labels = np.asarray(labels_per_channel)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers of shape (n, channels); got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}); got values in [{labels.min()}, {labels.max()}]")
    channels = labels.shape[1]
    modes = labels @ (n_classes ** np.arange(channels - 1, -1, -1))
    return np.bincount(modes, minlength=n_classes**channels)


def modes_covered(counts, min_count=1):
    """The number of modes holding at least `min_count` samples."""
    return int(np.sum(np.asarray(counts) >= min_count))


def kl_to_uniform(counts):
    """KL(p || uniform) in nats, p = counts / sum(counts) over all modes.

    0 when every mode is equally frequent; log(number of modes) when a single
    mode holds every sample. Modes with no samples add nothing to this
    direction of the divergence (the other direction would be infinite).
    """
    counts = np.asarray(counts, dtype="float64")
    if counts.ndim != 1 or counts.sum() <= 0 or np.any(counts < 0):
        raise ValueError("counts must be a 1-D histogram of non-negative counts with at least one sample")
    p = counts / counts.sum()
    present = p > 0
    return float(np.sum(p[present] * np.log(p[present] * len(p))))


def nearest_modes(points, centres, threshold):
    """Index of each point's nearest centre, or -1 where that centre is farther than `threshold`."""
    points = np.asarray(points, dtype="float64")
    centres = np.asarray(centres, dtype="float64")
    distances = np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    return np.where(distances[np.arange(len(points)), nearest] <= threshold, nearest, -1)


def ring_modes_covered(points, centres, threshold, min_count=1):
    """Modes with at least `min_count` high-quality samples (within `threshold`, VEEGAN: 3 std, of their centre)."""
    modes = nearest_modes(points, centres, threshold)
    counts = np.bincount(modes[modes >= 0], minlength=len(centres))
    return modes_covered(counts, min_count)


def high_quality_share(points, centres, threshold):
    """The share of samples within `threshold` (VEEGAN: 3 std) of their nearest centre."""
    return float(np.mean(nearest_modes(points, centres, threshold) >= 0))
