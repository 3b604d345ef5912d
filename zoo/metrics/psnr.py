"""Peak signal-to-noise ratio, the denoising and super-resolution literature's score."""

import math

import numpy as np

from zoo.data.resize import check_image, to_uint8
from zoo.errors import InputError
from zoo.metrics.ssim import ssim


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


def rgb_to_y(image):
    """Luma Y of RGB images in [0, 1] as MATLAB's `rgb2ycbcr` gives it (ITU-R BT.601, studio range), in [0, 1]:
    `(16 + 65.481 R + 128.553 G + 24.966 B) / 255`, so white is 235/255 and black 16/255.

    Takes `(h, w, 3)` or a batch `(n, h, w, 3)` and keeps the channel axis
    (`(..., 1)`); grey images, `(h, w)` or `(..., 1)`, pass unchanged, as the
    SR evaluation scripts use a grey image as its own Y.
    """
    image = np.asarray(image)
    if image.ndim == 2 or (image.ndim in (3, 4) and image.shape[-1] == 1):
        return image
    if image.ndim not in (3, 4) or image.shape[-1] != 3:
        raise InputError(f"rgb_to_y takes RGB images (h, w, 3) or (n, h, w, 3), or grey ones; got shape "
                         f"{image.shape}.")
    image = image.astype(np.float64)
    return (16 + image @ np.array([65.481, 128.553, 24.966]))[..., None] / 255


def sr_scores(hr, sr, scale):
    """`{"psnr": dB, "ssim": ...}` of a super-resolved image against its high-resolution original, as the SR
    literature measures them: on the Y channel (`rgb_to_y`), `scale` pixels cropped off each border.

    `hr` and `sr` are `(h, w)` or `(h, w, c)` images of one shape, uint8 or
    floats in [0, 1]. Both are first taken to 8 bits (clipped and rounded), as
    the evaluation scripts do with the output (they save or convert it to uint8
    before `rgb2ycbcr`); the benchmarks' HR images are 8-bit already. Y itself
    is kept in floats, as BasicSR's `to_y_channel` does: MATLAB's `rgb2ycbcr`
    on uint8 would round it too, which lowers bicubic x4 PSNR by 0.004 to 0.013
    dB on Set5, Set14 and BSD100 (Ledig et al.'s rows match floats better).
    PSNR has peak 1 on [0, 1], i.e. 255 on 0..255; SSIM is `zoo.metrics.ssim`
    (Wang et al.'s 11x11 Gaussian window, valid positions) with peak 1.
    """
    hr, sr = check_image(hr, "sr_scores"), check_image(sr, "sr_scores")
    if hr.shape != sr.shape:
        raise InputError(f"sr_scores needs images of one shape; got {hr.shape} and {sr.shape}.")
    if not (isinstance(scale, (int, np.integer)) and scale >= 0):
        raise InputError(f"sr_scores' scale (the border cropped) must be a whole number >= 0; got {scale!r}.")
    if min(hr.shape[:2]) <= 2 * scale:
        raise InputError(f"cropping {scale} pixels at each border of a {hr.shape[0]}x{hr.shape[1]} image leaves "
                         "nothing to score.")
    hr, sr = (rgb_to_y(to_uint8(image) / 255.0) for image in (hr, sr))
    crop = (slice(scale, hr.shape[0] - scale), slice(scale, hr.shape[1] - scale))
    hr, sr = hr[crop], sr[crop]
    return {"psnr": psnr(hr, sr), "ssim": ssim(hr, sr)}
