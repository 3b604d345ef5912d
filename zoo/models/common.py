"""The numpy side of the models' user API: batching, code checks, sigmoid."""

import numpy as np
from keras import ops


def batched(fn, x, batch_size):
    """Applies `fn` to slices of `x` and concatenates the numpy results (tuples stay tuples)."""
    outputs = [fn(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    if isinstance(outputs[0], (tuple, list)):
        return tuple(np.concatenate([ops.convert_to_numpy(o[j]) for o in outputs]) for j in range(len(outputs[0])))
    return np.concatenate([ops.convert_to_numpy(o) for o in outputs])


def check_codes(z, dim):
    """`z` as float32 (n, dim), or a clear error."""
    z = np.asarray(z, dtype="float32")
    if z.ndim != 2 or z.shape[1] != dim:
        raise ValueError(f"expected codes of shape (n, {dim}); got {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("codes contain NaN or infinite values")
    return z


def sigmoid(logits):
    """1 / (1 + exp(-x)) without overflow for large negative logits."""
    return (0.5 * (1.0 + np.tanh(0.5 * np.asarray(logits, dtype="float32")))).astype("float32")
