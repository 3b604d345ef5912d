"""The multi-backend training core: the only place in the zoo with per-backend code.

Keras 3 has no portable `grad`. These three functions give one, so that every
method's `train_step` is written once with `keras.ops` and runs unchanged on
TensorFlow, JAX and PyTorch:

- `value_and_grad(fn, variables)(*args)` -> `((loss, aux), grads)`.
- `input_gradient(fn, x)`: d sum(fn(x)) / dx, itself differentiable (for
  gradient penalties such as WGAN-GP, DRAGAN, R1).
- `portable_step(step)`: adapts a generic `train_step(self, data)` /
  `test_step(self, data)` to the calling convention of Keras' trainer on this
  backend (on JAX: `step(state, data) -> (logs, state)`, run statelessly).

Data parallelism (zoo/distribute.py) uses each backend's own engine, and two
more functions:

- `replica() -> (index, count)`: which replica runs this code, of how many. A
  JAX step sees the global batch (XLA shards it), so there it is (0, 1).
- `broadcast(variables)`: give every replica replica 0's values (torch; the
  others keep replicas equal themselves).
- `data_parallel(count) -> (replicas, index, engine)`: start the backend's
  engine on `count` devices for this process.

`value_and_grad` then gives the gradients of the global batch's mean loss:
TensorFlow's optimizer sums the replicas' gradients when it applies them, so
each replica's are divided by the count; torch's are all-reduced here, because
DDP's hooks only see `.backward()` and the zoo takes `torch.autograd.grad`.

On torch, importing it also swaps four Keras internals for faster ones that
compute the same (torch_backend.py, torch_layers.py); ZOO_PATCH_KERAS=0 keeps
Keras' own.
"""

import keras

_BACKEND = keras.backend.backend()

if _BACKEND == "tensorflow":
    from zoo.backend import tensorflow_backend as _impl
elif _BACKEND == "jax":
    from zoo.backend import jax_backend as _impl
elif _BACKEND == "torch":
    from zoo.backend import torch_backend as _impl
else:
    raise ImportError(
        f"The zoo runs on the 'tensorflow', 'jax' and 'torch' Keras backends; "
        f"KERAS_BACKEND is {_BACKEND!r}. Set KERAS_BACKEND before importing keras."
    )

value_and_grad = _impl.value_and_grad
input_gradient = _impl.input_gradient
portable_step = _impl.portable_step
replica = _impl.replica
broadcast = _impl.broadcast
data_parallel = _impl.data_parallel


def name():
    """The Keras backend this process runs on ('tensorflow', 'jax' or 'torch')."""
    return _BACKEND


__all__ = ["value_and_grad", "input_gradient", "portable_step", "replica", "broadcast", "data_parallel", "name"]
