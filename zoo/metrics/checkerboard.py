"""How much of a signal lies on a pixel grid: the checkerboard of strided and sub-pixel convolutions.

Odena, Dumoulin & Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016: upsampling by transposed or
sub-pixel convolutions, and the gradients of strided convolutions, put energy at the frequencies of their
stride's grid, which shows as a regular pattern. `grid_power_ratio` measures it on images, residuals or
gradients: the share of their power at the spatial frequencies k / period (k = 1 .. period - 1) along either
axis, divided by that share for white noise, so 1 is "no more than noise" and a pure period-`period`
pattern is far above it.
"""

import numpy as np

from zoo.errors import InputError


def grid_mask(height, width, period):
    """Boolean `(height, width)` mask of the 2-D DFT bins on the period's grid (DC excluded)."""
    mask = np.zeros((height, width), bool)
    for k in range(1, period):
        mask[k * height // period, :] = True
        mask[:, k * width // period] = True
    mask[0, 0] = False
    return mask


def grid_power_ratio(x, period=4):
    """Share of the power of `x` (`(n, h, w, c)` or `(h, w, c)`, each map's mean removed) at the frequencies of a
    `period`-pixel grid, over the share white noise has there (`mask bins / (h w - 1)`); 1.0 for noise.

    `h` and `w` must be multiples of `period`, so that the grid's frequencies fall on DFT bins.
    """
    x = _maps(x, period, "grid_power_ratio")
    height, width = x.shape[1:3]
    power = np.abs(np.fft.fft2(x, axes=(1, 2))) ** 2
    total = power.sum()
    if total == 0:
        raise InputError("grid_power_ratio got constant maps: there is no power to share")
    mask = grid_mask(height, width, period)
    return float(power[:, mask].sum() / total / (mask.sum() / (height * width - 1)))


def grid_component(x, period=4):
    """The part of `x` (`(n, h, w, c)` or `(h, w, c)`) on the frequencies of a `period`-pixel grid: the
    pattern itself, e.g. to ask whether a gradient step adds to a checkerboard or takes from it (the cosine of
    two components). Same shape as `x`, as float64; what `grid_power_ratio` counts is its power."""
    squeeze = np.ndim(x) == 3
    x = _maps(x, period, "grid_component")
    spectrum = np.fft.fft2(x, axes=(1, 2))
    spectrum[:, ~grid_mask(*x.shape[1:3], period)] = 0
    out = np.real(np.fft.ifft2(spectrum, axes=(1, 2)))
    return out[0] if squeeze else out


def _maps(x, period, name):
    """`x` as checked float64 `(n, h, w, c)` maps, each map's mean removed."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise InputError(f"{name} takes (n, h, w, c) or (h, w, c) arrays; got shape {x.shape}")
    period = int(period)
    height, width = x.shape[1:3]
    if period < 2 or height % period or width % period:
        raise InputError(f"period must be >= 2 and divide the height and width; got period {period} for "
                         f"{height}x{width}")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{name} got NaN or infinite values")
    return x - x.mean(axis=(1, 2), keepdims=True)
