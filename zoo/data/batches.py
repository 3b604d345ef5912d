"""Batches that are a pure function of (epoch, index): what lets a training stop anywhere and resume exactly.

`keras.Model.fit(x, shuffle=True)` shuffles with the global random state, so a
run resumed in the middle cannot see the batches an uninterrupted run would
have seen. An `EpochBatches` computes batch `index` of epoch `epoch` from its
seed alone; `steps_from(step, count)` starts anywhere (`zoo.resume.fit` does).
"""

import math

import keras
import numpy as np

from zoo.errors import InputError


class EpochBatches(keras.utils.PyDataset):
    """A `PyDataset` of `steps` batches an epoch, batch `index` of epoch `epoch` being `batch(index, epoch)`.

    Subclasses implement `batch(index, epoch)` as a pure function of its
    arguments and the constructor's (seeds included). Given to `fit` as it is,
    it counts epochs as Keras ends them; `steps_from(step, count)` is the same
    stream as a flat range of global steps, which is what `zoo.resume.fit`
    trains on: Keras calls `on_epoch_end` when `fit` starts as well as after each
    epoch, and TensorFlow's pipeline may fetch ahead of it, so a resumed run
    cannot count on it.
    """

    def __init__(self, steps, **kwargs):
        super().__init__(**kwargs)
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise InputError(f"an epoch needs a positive int number of batches; got steps={steps!r}")
        self.steps = int(steps)
        self.epoch = 0
        self._orders = (None, None)

    def batch(self, index, epoch):
        raise NotImplementedError(f"{type(self).__name__} must implement batch(index, epoch)")

    def orders(self, epoch):
        """What the batches of epoch `epoch` index (e.g. a permutation), from the seed and `epoch` alone;
        for subclasses that shuffle."""
        raise NotImplementedError(f"{type(self).__name__} must implement orders(epoch) to use epoch_orders")

    def epoch_orders(self, epoch):
        """`orders(epoch)`, computed once per epoch."""
        if self._orders[0] != epoch:
            self._orders = (epoch, self.orders(epoch))
        return self._orders[1]

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        if not 0 <= index < self.steps:
            raise IndexError(f"batch {index} of {self.steps}")
        return self.batch(index, self.epoch)

    def on_epoch_end(self):
        self.epoch += 1

    def steps_from(self, step, count):
        """Global steps `step .. step + count - 1` (epoch `s // steps`, batch `s % steps`) as a `PyDataset`."""
        if step < 0 or count < 1:
            raise InputError(f"need a first step >= 0 and a count >= 1; got step={step}, count={count}")
        return StepRange(self, step, count)


class StepRange(keras.utils.PyDataset):
    """`count` consecutive global steps of an `EpochBatches` from `first`: item `i` is batch
    `(first + i) % steps` of epoch `(first + i) // steps`, whatever Keras calls around it."""

    def __init__(self, batches, first, count):
        super().__init__()
        self.batches, self.first, self.count = batches, int(first), int(count)

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        if not 0 <= index < self.count:
            raise IndexError(f"step {index} of {self.count}")
        epoch, batch = divmod(self.first + index, self.batches.steps)
        return self.batches.batch(batch, epoch)


class ArrayBatches(EpochBatches):
    """Minibatches of arrays in a fresh random order each epoch, as `fit(x, y, shuffle=True)` gives them.

    The order of epoch `e` is a permutation drawn from `(seed, e)` alone; the
    last batch of an epoch is smaller when `batch_size` does not divide the
    count, as in `fit`. Yields `x[rows]`, or `(x[rows], y[rows])` with `y`.
    `augment(x_batch, rng)`, if given, transforms each batch of `x` with a
    generator seeded by `(seed, epoch, index)` (e.g. `zoo.data.augment`).
    """

    def __init__(self, x, y=None, batch_size=32, seed=0, shuffle=True, augment=None, **kwargs):
        n = len(x)
        if n < 1:
            raise InputError("ArrayBatches needs at least one example; got an empty array")
        if y is not None and len(y) != n:
            raise InputError(f"x has {n} examples but y has {len(y)}; expected one label per example")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise InputError(f"batch_size must be a positive int; got {batch_size!r}")
        super().__init__(math.ceil(n / batch_size), **kwargs)
        self.x, self.y = x, y
        self.batch_size, self.seed, self.shuffle, self.augment = int(batch_size), int(seed), shuffle, augment

    def orders(self, epoch):
        """The example order of epoch `epoch`."""
        if not self.shuffle:
            return np.arange(len(self.x))
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.x))

    def batch(self, index, epoch):
        rows = self.epoch_orders(epoch)[index * self.batch_size:(index + 1) * self.batch_size]
        x = self.x[rows]
        if self.augment is not None:
            x = self.augment(x, np.random.default_rng([self.seed, epoch, index]))
        return x if self.y is None else (x, self.y[rows])
