"""PyTorch: gradients with `torch.autograd.grad`.

`autograd.grad` rather than `.backward()`, so gradients are returned instead of
accumulated in `.grad`: two optimizers (generator, critic) never see each
other's gradients. Steps run eagerly (torch.compile fails on double backward).
"""

import math
import os

import torch
from keras import tree

from zoo.backend import torch_layers
from zoo.backend.common import split_loss


def _detach(x):
    return x.detach() if isinstance(x, torch.Tensor) else x


def value_and_grad(fn, variables):
    variables = list(variables)

    def wrapped(*args, **kwargs):
        with torch.enable_grad():
            loss, aux = split_loss(fn(*args, **kwargs))
            tensors = [v.value for v in variables]
            if loss.requires_grad:
                grads = torch.autograd.grad(loss, tensors, allow_unused=True)
            else:  # the loss does not depend on any variable (TF and JAX give zeros too)
                grads = [None] * len(tensors)
        grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, tensors)]
        if _world_size() > 1:
            grads = _all_reduce_mean(grads)
        return (_detach(loss), tree.map_structure(_detach, aux)), grads

    return wrapped


def _world_size():
    distributed = torch.distributed
    return distributed.get_world_size() if distributed.is_available() and distributed.is_initialized() else 1


def replica():
    """(rank, world size) of the initialized process group (torchrun, or `zoo.distribute`); else (0, 1)."""
    count = _world_size()
    return (torch.distributed.get_rank(), count) if count > 1 else (0, 1)


def _all_reduce_mean(grads):
    """The replicas' mean gradients, in one all-reduce of the gradients laid end to end (as DDP's buckets)."""
    from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

    flat = _flatten_dense_tensors(grads)
    torch.distributed.all_reduce(flat)
    flat /= _world_size()
    return list(_unflatten_dense_tensors(flat, grads))


def broadcast(variables):
    """Every process gets rank 0's values (each built its own model, with its own initial weights)."""
    if _world_size() > 1:
        with torch.no_grad():
            for variable in variables:
                torch.distributed.broadcast(variable.value.data, src=0)


def data_parallel(count):
    """Joins the process group of `count` processes, one per device (torchrun sets RANK, WORLD_SIZE,
    LOCAL_RANK and the address), on NCCL with a GPU each, else gloo. Returns (replicas, index, engine)."""
    distributed = torch.distributed
    if not distributed.is_initialized():
        if "WORLD_SIZE" not in os.environ:
            raise ValueError(
                f"{count} devices were asked for; PyTorch trains on several devices with one process per "
                f"device: launch with `torchrun --nproc_per_node {count} <script> ...` (torch.distributed.run).")
        if torch.cuda.is_available():
            local_rank = int(os.environ.get("LOCAL_RANK", 0))
            if local_rank >= torch.cuda.device_count():
                raise ValueError(f"process {local_rank} of this host has no GPU: {torch.cuda.device_count()} GPUs "
                                 "here")
            torch.cuda.set_device(local_rank)
        distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    world = distributed.get_world_size()
    if world != count:
        raise ValueError(f"{count} devices were asked for; the process group has {world} processes (torchrun's "
                         "--nproc_per_node times its nodes)")
    return world, distributed.get_rank(), distributed


def input_gradient(fn, x):
    x = torch.as_tensor(x)
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        total = torch.sum(fn(x))
        (grad,) = torch.autograd.grad(total, x, create_graph=True)
    return grad


def portable_step(step):
    # Keras' trainer on this backend already calls `step(self, data)`.
    step._zoo_portable = True
    return step


# Speed: Keras' torch backend, made to keep its numbers without waiting on the GPU -------------------------
#
# Both patches below compute what Keras computes (the same seeds, the same Adam formula); they only change
# how. They are installed once, when the zoo's torch backend is imported, with torch_layers.py's two (group
# normalization and the GRU through torch's kernels).


class _HostCopies:
    """Values of small device tensors (seed states, step counters) kept on the host.

    Reading a GPU tensor's value from Python (`int(t)`) waits for every queued
    kernel. Where the zoo can know the value (it made the last change), it
    keeps it beside the tensor and its version counter; a tensor changed by
    anything else (a checkpoint loaded, a state assigned) is read again, once.
    """

    def __init__(self):
        import weakref

        self._known = weakref.WeakKeyDictionary()  # owner -> (tensor, tensor's _version, value)

    def get(self, owner, tensor):
        known = self._known.get(owner)
        if known is not None and known[0] is tensor and known[1] == tensor._version:
            return known[2]
        return tensor.tolist()

    def put(self, owner, tensor, value, changes_to_come=0):
        """`value` is `tensor`'s once `changes_to_come` more in-place changes (already decided) are made."""
        self._known[owner] = (tensor, tensor._version + changes_to_come, value)


_HOST = _HostCopies()


def _int32(value):
    """`value` wrapped to a signed 32-bit integer, as Keras' int32 seed tensors wrap."""
    return (value + 2**31) % 2**32 - 2**31


def _seed_generator(seed):
    """Keras' `torch_seed_generator` (keras/src/backend/torch/random.py) without reading the state's tensor.

    Keras reads each seed from its `SeedGenerator`'s state with `int()`: a
    WGAN-GP step (eleven draws) waited for the GPU eleven times. The device
    state still advances as Keras advances it, so the seeds, the draws and the
    checkpointed state are Keras' own.
    """
    from keras.src.backend.common.stateless_scope import in_stateless_scope
    from keras.src.backend.torch.core import get_device
    from keras.src.random.seed_generator import SeedGenerator

    if not isinstance(seed, SeedGenerator) or in_stateless_scope() or get_device() == "meta":
        return KERAS_SEED_GENERATOR(seed)  # integer seeds (no read), the global generator, symbolic builds
    first, second = _HOST.get(seed, seed.state.value)
    seed.next()  # [a, b] -> [a, b + 1] on the device
    _HOST.put(seed, seed.state.value, [first, _int32(second + 1)])
    generator = torch.Generator(device=get_device())
    generator.manual_seed(_int32(first + second) & 0xFFFFFFFF)  # Keras' int(first + second), int32
    return generator


def _adam_update_step(self, grads, variables, learning_rate):
    """Keras' torch Adam update (keras/src/backend/torch/optimizers/torch_adam.py) as one fused kernel.

    Keras: variable -= alpha * m / (sqrt(v) + epsilon), alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), in
    ten passes over the parameters. `torch._fused_adam_` puts epsilon inside the bias correction,
    m / (sqrt(v) / sqrt(1 - beta_2^t) + epsilon'), so it is given epsilon' = epsilon / sqrt(1 - beta_2^t):
    the same update. t comes from the host (`_HostCopies`). Parameters of mixed devices or dtypes, or
    hyper-parameters that are not numbers, take Keras' own step.
    """
    params = [v.value for v in variables]
    settings = (self.beta_1, self.beta_2, self.epsilon)
    if (len({(p.device, p.dtype) for p in params}) != 1 or not params[0].is_floating_point()
            or not all(isinstance(x, (int, float)) for x in settings)
            or any(g.device != params[0].device or g.dtype != params[0].dtype for g in grads)):
        return KERAS_ADAM_STEP(self, grads, variables, learning_rate)
    # the fused kernel wants each gradient laid out as its parameter (autograd may give other strides)
    grads = [g if g.stride() == p.stride() else torch.empty_like(p).copy_(g) for g, p in zip(grads, params)]
    index = [self._get_variable_index(variable) for variable in variables]
    iterations = self.iterations.value
    step = int(_HOST.get(self, iterations)) + 1
    _HOST.put(self, iterations, step, changes_to_come=1)  # Keras' apply() adds 1 after this update
    if isinstance(learning_rate, torch.Tensor):
        learning_rate = learning_rate.to(params[0].device, params[0].dtype)
    # a fill on the device: torch.tensor(step, device=...) would copy from the host and wait for the GPU
    counts = [torch.full((), float(step), device=params[0].device)] * len(params)
    torch._fused_adam_(
        params, grads, [self._momentums[i].value for i in index],
        [self._velocities[i].value for i in index],
        [self._velocity_hats[i].value for i in index] if self.amsgrad else [], counts,
        lr=learning_rate, beta1=self.beta_1, beta2=self.beta_2, weight_decay=0.0,
        eps=self.epsilon / math.sqrt(1 - self.beta_2**step), amsgrad=self.amsgrad, maximize=False)


KERAS_SEED_GENERATOR = None  # Keras' own functions, for the fallbacks and the tests that compare with them
KERAS_ADAM_STEP = None
KERAS_CHANNELS_LAST = None


def _channels_last_unless_half_on_cpu(tensor):
    """Keras' `_maybe_convert_to_channels_last`, except for float16/bfloat16 tensors on the CPU: torch's CPU
    convolution for those (slow_conv2d) refuses a channels-last weight in its backward pass ("grad_weight must
    be contiguous"), which failed every mixed-precision convolution step on torch 2.13's CPU wheel."""
    if tensor.device.type == "cpu" and tensor.dtype in (torch.float16, torch.bfloat16):
        return tensor
    return KERAS_CHANNELS_LAST(tensor)


def _install_fixes():
    """Correctness fixes of Keras' torch backend, installed whatever ZOO_PATCH_KERAS says."""
    global KERAS_CHANNELS_LAST
    from keras.src.backend.torch import nn as keras_nn

    if KERAS_CHANNELS_LAST is None and hasattr(keras_nn, "_maybe_convert_to_channels_last"):
        KERAS_CHANNELS_LAST = keras_nn._maybe_convert_to_channels_last
        keras_nn._maybe_convert_to_channels_last = _channels_last_unless_half_on_cpu


def _install():
    """Replace the four Keras internals (here and in torch_layers.py), unless ZOO_PATCH_KERAS=0."""
    global KERAS_SEED_GENERATOR, KERAS_ADAM_STEP
    setting = os.environ.get("ZOO_PATCH_KERAS", "1")
    if setting not in ("0", "1"):
        raise ValueError(f"ZOO_PATCH_KERAS must be 0 (keep Keras' torch backend as it is) or 1 (the default: "
                         f"the zoo's faster equivalents); got {setting!r}")
    if setting == "0":
        return
    from keras.src.backend.torch import random as keras_random
    from keras.src.backend.torch.optimizers import torch_adam

    if KERAS_SEED_GENERATOR is None:
        KERAS_SEED_GENERATOR = keras_random.torch_seed_generator
        KERAS_ADAM_STEP = torch_adam.Adam._parallel_update_step
        # dynamo.disable as Keras' own: torch.compile cannot trace torch.Generator
        keras_random.torch_seed_generator = torch._dynamo.disable(_seed_generator)
        torch_adam.Adam._parallel_update_step = _adam_update_step
    torch_layers.install()


_install_fixes()
_install()
