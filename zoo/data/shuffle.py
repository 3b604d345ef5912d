"""Index orders for epochs of a fixed number of batches."""

import math

import numpy as np


def shuffled_passes(rng, n, count):
    """`count` indices into `n` items: whole passes, each in a fresh random order from `rng`.

    Every item is seen once per pass, so a fixed number of steps over a small
    set still sees its examples equally often.
    """
    if n < 1:
        raise ValueError(f"need at least one item to draw from; got {n}")
    return np.concatenate([rng.permutation(n) for _ in range(math.ceil(count / n))])[:count]
