"""Peak signal-to-noise ratio, the denoising and super-resolution literature's score."""

import math

import numpy as np

from zoo.errors import InputError


def psnr(clean, estimate, peak=1.0):
    """Peak signal-to-noise ratio in dB of one image: 10 log10(peak^2 / MSE); infinite when equal.

    For images in [0, 1] with `peak=1` this equals the literature's PSNR on the
    0..255 scale with peak 255.
    """
    clean, estimate = np.asarray(clean, np.float64), np.asarray(estimate, np.float64)
    if clean.shape != estimate.shape:
        raise InputError(f"psnr needs images of one shape; got {clean.shape} and {estimate.shape}.")
    mse = float(np.mean((clean - estimate) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak ** 2 / mse)
