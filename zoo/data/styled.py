"""MNIST in a second, computed style: a translation pair whose every test image has its true counterpart.

The style is `outline`: the morphological gradient of a grey digit (Beucher &
Lantuejoul 1979; Serra, "Image Analysis and Mathematical Morphology", 1982):
dilation minus erosion with a 3x3 square, i.e. the 3x3 maximum minus the 3x3
minimum around each pixel, drawn dark on a light background (`1 - gradient`).
Wide strokes become hollow outlines and thin ones thick dark lines, on white.

Translating MNIST to it means inverting the image *and* moving ink from the
stroke's core to its edges; back means filling outlines in and thinning them.
Neither is done by the identity or by inversion alone (the recipe reports both
as baselines). Because the style is a fixed function of the digit, a
translation of `x` can be scored against `outline(x)`, and one of `outline(x)`
against `x`, which unpaired pairs such as MNIST <-> USPS cannot offer.

`unpaired_styled(x)` builds the unpaired training data: one half of `x` as
domain A, the outlines of the other, disjoint half as domain B, chosen by a
seeded permutation, so no digit appears in both domains.
Plain numpy: the same arrays on every Keras backend.
"""

import numpy as np

from zoo.data.images import check_images
from zoo.data.shuffle import disjoint_halves
from zoo.errors import InputError

SPLIT_SEED = 0  # the fixed split of the training digits into the two domains


def outline(x):
    """`1 - (dilation(x) - erosion(x))` with a 3x3 square: dark outlines on white, float32 in [0, 1].

    Args:
        x: grey images in [0, 1], `(n, H, W, 1)` or `(n, H, W)`. Pixels past
            the border count as background (0), so a digit touching the edge
            keeps an outline there.

    Returns:
        float32 `(n, H, W, 1)` in [0, 1]; a blank (all-zero) image gives an all-one one.

    Raises:
        InputError: not a batch of one-channel images in [0, 1] (wrong rank or
            channels, NaN, values past 1 such as uint8 0..255).
    """
    x = check_images(x, channels=1, name="outline's images")
    padded = np.pad(x[..., 0], ((0, 0), (1, 1), (1, 1)))
    height, width = x.shape[1:3]
    windows = [padded[:, i:i + height, j:j + width] for i in range(3) for j in range(3)]
    gradient = np.max(windows, axis=0) - np.min(windows, axis=0)
    return (1.0 - gradient)[..., None].astype("float32")


def unpaired_styled(x, style=outline, seed=SPLIT_SEED):
    """Unpaired training data `(a, b)`: one half of `x` as it is, `style` of the other half.

    Args:
        x: at least 2 grey images in [0, 1], `(n, H, W, 1)` or `(n, H, W)`.
        style: images -> images of the same shape in [0, 1]; `outline` by default.
        seed: seed of the split (`zoo.data.shuffle.disjoint_halves(n, seed)`); fixed by default, so every
            training run sees the same two halves.

    Returns:
        `(a, b)`, float32 `(n // 2, H, W, 1)` and `(n - n // 2, H, W, 1)`: no
        digit of `x` is in both. Shuffle each domain on its own to train
        (`zoo.models.cyclegan.unpaired`).
    """
    x = check_images(x, channels=1, name="unpaired_styled's images")
    if len(x) < 2:
        raise InputError(f"unpaired_styled needs at least 2 images to split into two domains; got {len(x)}.")
    index_a, index_b = disjoint_halves(len(x), seed)
    b = check_images(style(x[index_b]), shape=x.shape[1:3], channels=1, name="the styled images")
    return x[index_a], b
