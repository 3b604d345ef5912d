"""Mixed precision in the zoo's steps: loss scaling through any optimizer, on every backend.

Under `keras.mixed_precision.set_dtype_policy("mixed_float16")` layers compute
in float16 and keep float32 weights. float16 flushes small gradients to zero,
so the loss is multiplied by a large factor before it is differentiated and
the gradients are divided by it before they are applied (Micikevicius et al.,
"Mixed Precision Training", ICLR 2018). Keras' `LossScaleOptimizer` keeps that
factor: it doubles it after a run of finite steps, and halves it and skips the
step when a gradient overflows. `mixed_bfloat16` has float32's range and needs
no scaling; there `scale_loss` is the identity.

Every zoo step takes its gradients with `scaled_value_and_grad` and applies
them with `apply_gradients`, so the same step trains in float32, bfloat16 and
float16. Losses are computed in float32 (`zoo.losses` casts its inputs).
"""

import keras
from keras import ops
from keras.src.backend.common.stateless_scope import in_stateless_scope

from zoo.backend import value_and_grad
from zoo.backend.common import split_loss

LossScaleOptimizer = keras.optimizers.LossScaleOptimizer

# The plain floating-point policies a model's precision moves between; quantized and per-layer-map policies
# are a layer's own choice and are left as they are.
FLOAT_POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


def needs_loss_scaling(policy):
    """Whether a model of dtype policy `policy` trains with loss scaling: under "mixed_float16", as Keras decides."""
    return keras.dtype_policies.get(policy).name == "mixed_float16"


def with_loss_scaling(optimizer, name=None):
    """`optimizer` wrapped in a `LossScaleOptimizer` (Keras' defaults: initial scale 2^15, doubled every 2000
    finite steps); one that already is one is returned as it is."""
    optimizer = keras.optimizers.get(optimizer)
    if isinstance(optimizer, LossScaleOptimizer):
        return optimizer
    return LossScaleOptimizer(optimizer, name=name)


def scaled_value_and_grad(optimizer, fn, variables):
    """`zoo.backend.value_and_grad(fn, variables)`, with gradients ready for `optimizer`'s `apply`.

    `fn(*args)` returns `loss` or `(loss, aux)`. What is differentiated is
    `optimizer.scale_loss(loss)`: the loss times a `LossScaleOptimizer`'s
    current scale (which its `apply` divides out again), the loss itself for
    other optimizers. The call returns `((loss, aux), grads)` with the loss
    unscaled, in float32: the value a step logs.
    """
    def scaled(*args, **kwargs):
        loss, aux = split_loss(fn(*args, **kwargs))
        loss = ops.cast(loss, "float32")
        return optimizer.scale_loss(loss), (loss, aux)

    grad_fn = value_and_grad(scaled, variables)

    def wrapped(*args, **kwargs):
        (_, (loss, aux)), grads = grad_fn(*args, **kwargs)
        return (loss, aux), grads

    return wrapped


def apply_gradients(optimizer, grads, variables):
    """`optimizer.apply(grads, variables)`, also for a `LossScaleOptimizer` inside JAX's stateless step.

    `LossScaleOptimizer.apply` assigns its variables inside the branches of an
    `ops.cond`; traced by `jax.lax.cond`, those values would leak out of the
    branches. In a stateless scope (where the zoo runs its JAX steps) its
    `stateless_apply`, which returns the new values instead, runs, and they are
    assigned in the scope. `variables` must be those the optimizer was built on.
    """
    if not (isinstance(optimizer, LossScaleOptimizer) and in_stateless_scope()):
        optimizer.apply(grads, variables)
        return
    variables = list(variables)
    new_values, new_state = optimizer.stateless_apply(
        [v.value for v in optimizer.variables], grads, [v.value for v in variables])
    for variable, value in zip(variables, new_values):
        variable.assign(value)
    for variable, value in zip(optimizer.variables, new_state):
        variable.assign(value)


def loss_scale(optimizer):
    """The factor `optimizer.scale_loss` multiplies a loss by, as a float32 tensor."""
    return ops.convert_to_tensor(optimizer.scale_loss(1.0), "float32")


def share_gradients(optimizers, shares):
    """Gradient shares of one loss scaled by `optimizers[0]`, each made ready for its own optimizer's `apply`.

    One loss trained by several optimizers (CycleGAN's two generators) is
    differentiated once, scaled by the first optimizer. Each optimizer divides
    its share by its own scale, so share i is multiplied by s_i / s_0 (exactly
    1 while the scales agree, as they do when every member started alike). A
    `LossScaleOptimizer` skips a step whose gradients are not finite; the
    shares are one step, so when any share is not finite, every
    `LossScaleOptimizer`'s share is made so and all skip it together, as a
    single optimizer over all the variables would. Without loss scaling the
    shares come back as they are.
    """
    if len(optimizers) == 1 or not any(
            isinstance(opt, LossScaleOptimizer) or opt.loss_scale_factor is not None for opt in optimizers):
        return shares
    first = loss_scale(optimizers[0])
    finite = ops.all(ops.stack([ops.all(ops.isfinite(g)) for share in shares for g in share]))
    ready = []
    for optimizer, share in zip(optimizers, shares):
        factor = loss_scale(optimizer) / first
        if isinstance(optimizer, LossScaleOptimizer):
            factor = ops.where(finite, factor, float("nan"))
        ready.append([g * ops.cast(factor, g.dtype) for g in share])
    return ready


def apply_dtype_policy(model, policy=None):
    """Give every layer of `model` (itself included) on a plain float policy the dtype policy `policy`.

    `policy` defaults to the global one (`keras.config.dtype_policy()`); a
    global policy outside `FLOAT_POLICIES` (say "bfloat16") leaves the model as
    it is. Weights stay float32 under all of `FLOAT_POLICIES`, so this changes
    only the precision layers compute in: how a checkpoint, stored in float32,
    loads under the policy its process set. Quantized layers are left alone.
    """
    if policy is None:
        policy = keras.config.dtype_policy()
        if policy.name not in FLOAT_POLICIES:
            return model
    policy = keras.dtype_policies.get(policy)
    if policy.name not in FLOAT_POLICIES:
        raise ValueError(f"apply_dtype_policy moves a model between {FLOAT_POLICIES}; got {policy.name!r}")
    for layer in model._flatten_layers(include_self=True):
        current = layer.dtype_policy
        if type(current) is keras.DTypePolicy and current.name in FLOAT_POLICIES and current.name != policy.name:
            layer.dtype_policy = policy
    return model
