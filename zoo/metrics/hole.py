"""Image completion's scores, measured on the hole only: PSNR, SSIM and L1 of the completed pixels.

The known pixels of a completion are the original's (a fill leaves them
unchanged), so scoring the whole image would dilute the error by the hole's
share of the image; these score what was filled in. Iizuka, Simo-Serra &
Ishikawa ("Globally and Locally Consistent Image Completion", SIGGRAPH 2017)
judge completions by eye and by a user study; the completion papers after
them report PSNR, SSIM and the mean L1 error, which issue 27 takes on the
hole. SSIM needs whole 11x11 windows, so it is taken on the hole's bounding
box (`ssim_box`).
"""

import numpy as np

from zoo.data.masks import check_mask, hole_box
from zoo.errors import InputError
from zoo.metrics.psnr import psnr
from zoo.metrics.ssim import WINDOW, ssim

# An exactly reproduced hole (a flat background, common in MNIST) would score an infinite PSNR, which no mean over
# images survives; it counts this many dB instead (an error of 1e-5 in [0, 1]).
MAX_PSNR = 100.0

SCORES = ("psnr", "ssim", "l1")


def hole_scores(original, completed, mask):
    """`{"psnr": dB, "ssim": ..., "l1": ...}` of a completed image against its original, on the hole.

    - "psnr": peak 1, from the mean squared error over the hole's pixels and
      all their channels (`zoo.metrics.psnr.psnr`), at most `MAX_PSNR` (100 dB,
      what equal holes score).
    - "l1": the mean absolute error over the same values.
    - "ssim": `zoo.metrics.ssim.ssim` (Wang et al.'s 11x11 Gaussian windows,
      averaged over channels) of the crops of both images to the hole's
      bounding box. A box smaller than 11 pixels on a side is first grown
      outward, about its centre and shifted to stay inside the image, to
      11 pixels on that side, so the crop then holds known pixels too; a
      free-form hole's box holds known pixels anyway. A rectangular hole of
      11x11 or more is scored on exactly its own pixels.

    Args:
        original, completed: float images in [0, 1] of one shape, `(H, W)` or
            `(H, W, C)`, at least 11x11 (SSIM's window).
        mask: `(H, W)` (or `(H, W, 1)`), True in the hole; see
            `zoo.data.masks.check_mask`. It must not be empty.
    """
    original = _check_image(original, "hole_scores' original")
    completed = _check_image(completed, "hole_scores' completed")
    if original.shape != completed.shape:
        raise InputError(f"hole_scores needs the original and the completed image of one shape; got "
                         f"{original.shape} and {completed.shape}.")
    if min(original.shape[:2]) < WINDOW:
        raise InputError(f"hole_scores' SSIM needs images of at least {WINDOW}x{WINDOW} pixels; got "
                         f"{original.shape[0]}x{original.shape[1]}.")
    mask = check_mask(mask, original.shape, "hole_scores' mask")
    if not mask.any():
        raise InputError("hole_scores' mask is empty (no True pixel): there is no hole to score.")
    inside, filled = original[mask], completed[mask]  # (pixels,) or (pixels, C)
    top, left, bottom, right = ssim_box(mask)
    return {
        "psnr": min(psnr(inside, filled), MAX_PSNR),
        "ssim": ssim(original[top:bottom, left:right], completed[top:bottom, left:right]),
        "l1": float(np.mean(np.abs(inside - filled))),
    }


def ssim_box(mask):
    """The box `(top, left, bottom, right)` (bottom, right exclusive) `hole_scores` takes SSIM on: the hole's
    bounding box, each side grown to at least SSIM's 11 pixels about its centre and kept inside the image."""
    mask = np.asarray(mask)
    box = list(hole_box(mask))
    for axis in (0, 1):
        start, stop, length = box[axis], box[axis + 2], mask.shape[axis]
        if length < WINDOW:
            raise InputError(f"ssim_box needs images of at least {WINDOW}x{WINDOW} pixels; got mask shape "
                             f"{mask.shape}.")
        missing = WINDOW - (stop - start)
        if missing > 0:
            start -= missing // 2
            stop += missing - missing // 2
            shift = max(0, -start) - max(0, stop - length)
            start, stop = start + shift, stop + shift
        box[axis], box[axis + 2] = start, stop
    return tuple(int(v) for v in box)


def mean_hole_scores(originals, completions, masks):
    """`hole_scores` of each image of a batch and their means: `{"psnr": mean, "ssim": mean, "l1": mean,
    "per_image": {"psnr": [...], "ssim": [...], "l1": [...]}}`. The mean PSNR is the mean of the per-image
    PSNRs (the literature's convention), infinite if any image's hole is reproduced exactly.

    Args:
        originals, completions: `(n, H, W)` or `(n, H, W, C)` floats in [0, 1].
        masks: `(n, H, W)` (or `(n, H, W, 1)`), one mask per image.
    """
    originals, completions = np.asarray(originals), np.asarray(completions)
    if originals.shape != completions.shape:
        raise InputError(f"mean_hole_scores needs originals and completions of one shape; got {originals.shape} "
                         f"and {completions.shape}.")
    if originals.ndim not in (3, 4) or len(originals) == 0:
        raise InputError(f"mean_hole_scores takes non-empty batches (n, H, W) or (n, H, W, C); got shape "
                         f"{originals.shape}.")
    masks = check_mask(masks, originals.shape, "mean_hole_scores' masks", batch=True)
    per_image = {key: [] for key in SCORES}
    for i, (original, completed, mask) in enumerate(zip(originals, completions, masks)):
        if not mask.any():
            raise InputError(f"mean_hole_scores' mask {i} is empty (no True pixel): there is no hole to score.")
        for key, value in hole_scores(original, completed, mask).items():
            per_image[key].append(value)
    out = {key: float(np.mean(values)) for key, values in per_image.items()}
    out["per_image"] = per_image
    return out


def _check_image(image, name):
    image = np.asarray(image)
    if not np.issubdtype(image.dtype, np.floating):
        hint = " uint8 images must be divided by 255: x.astype('float32') / 255." if image.dtype == np.uint8 else ""
        raise InputError(f"{name} has dtype {image.dtype}; expected floats in [0, 1].{hint}")
    if image.ndim not in (2, 3) or image.size == 0:
        raise InputError(f"{name} must be one image (H, W) or (H, W, C); got shape {image.shape}.")
    if not np.all(np.isfinite(image)):
        raise InputError(f"{name} holds NaN or infinite values.")
    low, high = float(image.min()), float(image.max())
    if low < 0 or high > 1:
        raise InputError(f"{name} holds values in [{low:g}, {high:g}]; expected [0, 1]. Clip a model's output "
                         "first: np.clip(x, 0, 1).")
    return image.astype(np.float64)
