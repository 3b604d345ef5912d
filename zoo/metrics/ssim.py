"""Structural similarity (SSIM), the image-restoration literature's second score beside PSNR.

Wang, Bovik, Sheikh & Simoncelli, "Image Quality Assessment: From Error
Visibility to Structural Similarity", IEEE TIP 2004: local means, variances
and covariance under an 11x11 Gaussian window (sigma 1.5), K1 = 0.01,
K2 = 0.03, averaged over the positions where the window fits whole (as
MATLAB's `ssim_index`, `tf.image.ssim` and scikit-image with
`gaussian_weights=True, use_sample_covariance=False`), and over channels.
"""

import numpy as np

from zoo.errors import InputError

WINDOW, SIGMA, K1, K2 = 11, 1.5, 0.01, 0.03


def _gaussian(size=WINDOW, sigma=SIGMA):
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-x ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def _filter(images, kernel):
    """Separable 'valid' filtering of (n, h, w, c) images along both spatial axes."""
    k = len(kernel)
    h, w = images.shape[1] - k + 1, images.shape[2] - k + 1
    rows = sum(kernel[i] * images[:, i:i + h] for i in range(k))
    return sum(kernel[j] * rows[:, :, j:j + w] for j in range(k))


def ssim(clean, estimate, peak=1.0):
    """Mean SSIM of `estimate` against `clean`: one image `(h, w)` / `(h, w, c)` gives a float, a batch
    `(n, h, w, c)` gives one value per image `(n,)`. Images of at least 11x11 pixels on the scale `peak`
    (1 for [0, 1] images)."""
    clean, estimate = np.asarray(clean, np.float64), np.asarray(estimate, np.float64)
    if clean.shape != estimate.shape:
        raise InputError(f"ssim needs images of one shape; got {clean.shape} and {estimate.shape}.")
    if clean.ndim not in (2, 3, 4):
        raise InputError(f"ssim takes an image (h, w) or (h, w, c), or a batch (n, h, w, c); got shape "
                         f"{clean.shape}.")
    single = clean.ndim < 4
    if clean.ndim == 2:
        clean, estimate = clean[..., None], estimate[..., None]
    if single:
        clean, estimate = clean[None], estimate[None]
    if min(clean.shape[1:3]) < WINDOW:
        raise InputError(f"ssim's {WINDOW}x{WINDOW} window needs images of at least that size; got "
                         f"{clean.shape[1]}x{clean.shape[2]}.")
    if not (np.all(np.isfinite(clean)) and np.all(np.isfinite(estimate))):
        raise InputError("ssim got NaN or infinite pixels.")
    kernel = _gaussian()
    mu_x, mu_y = _filter(clean, kernel), _filter(estimate, kernel)
    var_x = _filter(clean * clean, kernel) - mu_x ** 2
    var_y = _filter(estimate * estimate, kernel) - mu_y ** 2
    cov = _filter(clean * estimate, kernel) - mu_x * mu_y
    c1, c2 = (K1 * peak) ** 2, (K2 * peak) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    values = index.mean(axis=(1, 2, 3))
    return float(values[0]) if single else values
