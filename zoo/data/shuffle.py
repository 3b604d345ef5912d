"""Index orders: epochs of a fixed number of batches, and the disjoint halves of unpaired protocols."""

import math

import numpy as np

from zoo.errors import InputError


def shuffled_passes(rng, n, count):
    """`count` indices into `n` items: whole passes, each in a fresh random order from `rng`.

    Every item is seen once per pass, so a fixed number of steps over a small
    set still sees its examples equally often.
    """
    if n < 1:
        raise ValueError(f"need at least one item to draw from; got {n}")
    return np.concatenate([rng.permutation(n) for _ in range(math.ceil(count / n))])[:count]


def disjoint_halves(n, seed=0):
    """Two disjoint index arrays covering `range(n)` (sizes `n // 2` and `n - n // 2`), from a seeded shuffle.

    The unpaired protocols split one set in two so that no example meets its
    counterpart: Multi30k's sentences (`zoo.data.multi30k.monolingual`) and
    MNIST's digits and their outlines (`zoo.data.styled.unpaired_styled`).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"disjoint_halves needs an int n >= 2 to split into two non-empty halves; got {n!r}.")
    order = np.random.default_rng(seed).permutation(int(n))
    return np.sort(order[:n // 2]), np.sort(order[n // 2:])
