"""Noise for a batch, the same however many replicas share the batch.

A data-parallel step runs on each replica's slice of the global batch. Were
each replica to draw `keras.random.normal(local_shape, seed)` from its copy of
the seed generator, every replica would draw the same noise, and the noise
would depend on the number of devices. These draw the noise of the global
batch (the local batch times the replica count) and keep this replica's
slice: each replica's examples get different noise, and a step on N devices
computes what the step on one device computes on the same global batch.
Outside a distribution (and on JAX, whose steps see the global batch) they
are `keras.random.normal` and `keras.random.uniform`.
"""

import keras
from keras import ops

from zoo import backend


def _replica_slice(draw, shape):
    index, count = backend.replica()
    if isinstance(count, int) and count == 1:
        return draw(shape)
    shape = tuple(shape)
    batch = shape[0]
    noise = draw((batch * count,) + shape[1:])
    start = [index * batch] + [0] * (len(shape) - 1)
    return ops.slice(noise, start, shape)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """`keras.random.normal` for a batch of `shape` (batch first), replica-aware."""
    return _replica_slice(lambda s: keras.random.normal(s, mean, stddev, dtype=dtype, seed=seed), shape)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """`keras.random.uniform` for a batch of `shape` (batch first), replica-aware."""
    return _replica_slice(lambda s: keras.random.uniform(s, minval, maxval, dtype=dtype, seed=seed), shape)
