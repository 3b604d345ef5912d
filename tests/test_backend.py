"""The training core: value_and_grad and input_gradient agree with hand-derived gradients."""

import keras
import numpy as np
import pytest
from keras import ops

from zoo import backend
from zoo.backend import input_gradient, value_and_grad


def test_backend_name_is_the_keras_backend():
    assert backend.name() == keras.backend.backend()


def test_value_and_grad_of_a_quadratic():
    w = keras.Variable(np.array([1.0, -2.0, 3.0], "float32"))
    b = keras.Variable(np.array(0.5, "float32"))

    def loss_fn(x):
        loss = ops.sum(ops.square(w * x)) + 3.0 * b
        return loss, {"doubled": 2.0 * loss}

    x = np.array([2.0, 1.0, -1.0], "float32")
    (loss, aux), (grad_w, grad_b) = value_and_grad(loss_fn, [w, b])(x)
    expected_loss = np.sum((np.array([1.0, -2.0, 3.0]) * x) ** 2) + 1.5
    assert float(loss) == pytest.approx(expected_loss, rel=1e-6)
    assert float(aux["doubled"]) == pytest.approx(2 * expected_loss, rel=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(grad_w), 2 * np.array([1.0, -2.0, 3.0]) * x**2, rtol=1e-6)
    assert float(grad_b) == pytest.approx(3.0)


def test_value_and_grad_gives_zeros_for_unused_variables():
    used = keras.Variable(np.ones(2, "float32"))
    unused = keras.Variable(np.ones(3, "float32"))
    (_, aux), grads = value_and_grad(lambda: ops.sum(used * 2.0), [used, unused])()
    assert aux is None
    np.testing.assert_array_equal(ops.convert_to_numpy(grads[0]), [2.0, 2.0])
    np.testing.assert_array_equal(ops.convert_to_numpy(grads[1]), [0.0, 0.0, 0.0])


def test_value_and_grad_of_a_constant_loss_is_zero():
    w = keras.Variable(np.ones(2, "float32"))
    (loss, _), (grad,) = value_and_grad(lambda: ops.convert_to_tensor(3.0), [w])()
    assert float(loss) == 3.0
    np.testing.assert_array_equal(ops.convert_to_numpy(grad), [0.0, 0.0])


def test_input_gradient_matches_the_analytic_gradient():
    x = np.array([[1.0, 2.0], [-3.0, 0.5]], "float32")
    grad = input_gradient(lambda t: ops.sum(t**3, axis=1), ops.convert_to_tensor(x))
    np.testing.assert_allclose(ops.convert_to_numpy(grad), 3 * x**2, rtol=1e-6)


def penalty(w, x):
    """(||d/dx sum(tanh(x @ w))|| - 1)^2 averaged: the shape of a WGAN-GP penalty."""
    grads = input_gradient(lambda t: ops.tanh(ops.matmul(t, w)), x)
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=1))
    return ops.mean(ops.square(norms - 1.0))


def test_input_gradient_is_differentiable_wrt_weights():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 2)).astype("float32")
    x = ops.convert_to_tensor(rng.standard_normal((4, 3)).astype("float32"))
    w = keras.Variable(w0)
    (value, _), (grad,) = value_and_grad(lambda: penalty(w, x), [w])()

    # Central finite differences in float64 numpy of the same expression.
    x64 = ops.convert_to_numpy(x).astype("float64")

    def numpy_penalty(w):
        s = 1.0 - np.tanh(x64 @ w) ** 2                     # (4, 2)
        g = s @ w.T                                          # d/dx of sum over outputs
        return np.mean((np.sqrt(np.sum(g**2, axis=1)) - 1.0) ** 2)

    assert float(value) == pytest.approx(numpy_penalty(w0.astype("float64")), rel=1e-5)
    numeric = np.zeros_like(w0, dtype="float64")
    for index in np.ndindex(w0.shape):
        step = np.zeros_like(numeric)
        step[index] = 1e-5
        w64 = w0.astype("float64")
        numeric[index] = (numpy_penalty(w64 + step) - numpy_penalty(w64 - step)) / 2e-5
    assert np.abs(numeric).max() > 1e-3  # the check is not vacuous
    np.testing.assert_allclose(ops.convert_to_numpy(grad), numeric, rtol=1e-3, atol=1e-5)


def test_portable_step_marks_steps_once():
    from zoo.trainers import SingleLossModel

    class Child(SingleLossModel):
        def train_step(self, data):
            return super().train_step(data)

    assert Child.train_step._zoo_portable
    assert SingleLossModel.train_step._zoo_portable


torch_only = pytest.mark.skipif(backend.name() != "torch", reason="patches of Keras' torch backend")


def _keras_draws(generator, draws, use_keras):
    """`draws` normal samples from `generator`, through the zoo's host seeds or Keras' own seed function."""
    from keras.src.backend.torch import random as keras_random

    from zoo.backend import torch_backend

    patched = keras_random.torch_seed_generator
    if use_keras:
        keras_random.torch_seed_generator = torch_backend.KERAS_SEED_GENERATOR
    try:
        return [ops.convert_to_numpy(keras.random.normal((5,), seed=generator)) for _ in range(draws)]
    finally:
        keras_random.torch_seed_generator = patched


@torch_only
def test_torch_host_seeds_draw_what_keras_draws():
    ours, theirs = keras.random.SeedGenerator(123), keras.random.SeedGenerator(123)
    np.testing.assert_array_equal(_keras_draws(ours, 3, False), _keras_draws(theirs, 3, True))
    np.testing.assert_array_equal(ops.convert_to_numpy(ours.state), [123, 3])
    np.testing.assert_array_equal(ops.convert_to_numpy(ours.state), ops.convert_to_numpy(theirs.state))
    # a state set from outside (as a checkpoint load does) is read again, not the host copy used
    for generator in (ours, theirs):
        generator.state.assign(np.array([7, 2**31 - 1], dtype="int32"))  # the counter wraps next, as int32 does
    np.testing.assert_array_equal(_keras_draws(ours, 2, False), _keras_draws(theirs, 2, True))
    np.testing.assert_array_equal(ops.convert_to_numpy(ours.state), ops.convert_to_numpy(theirs.state))
    assert not np.array_equal(*_keras_draws(ours, 2, False))


@torch_only
@pytest.mark.parametrize("amsgrad", [False, True])
def test_torch_adam_update_is_keras_adam(amsgrad, monkeypatch):
    import torch
    from keras.src.backend.torch.optimizers import torch_adam

    fused = torch._fused_adam_

    def as_on_cuda(params, grads, *args, **kwargs):  # the CPU kernel does not check what the CUDA one refuses
        assert all(g.stride() == p.stride() for g, p in zip(grads, params)), "strides differ"
        return fused(params, grads, *args, **kwargs)

    monkeypatch.setattr(torch, "_fused_adam_", as_on_cuda)

    from zoo.backend import torch_backend

    rng = np.random.default_rng(0)
    start = [rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(3,)).astype("float32")]
    grads = [[rng.normal(size=w.shape).astype("float32") for w in start] for _ in range(3)]
    results = []
    for step in (torch_backend._adam_update_step, torch_backend.KERAS_ADAM_STEP):
        variables = [keras.Variable(w) for w in start]
        # a large epsilon, so that where it sits in the formula shows
        optimizer = keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5),
                                          epsilon=0.1, amsgrad=amsgrad, clipnorm=1.0)
        optimizer.build(variables)
        patched = torch_adam.Adam._parallel_update_step
        torch_adam.Adam._parallel_update_step = step
        try:
            for g in grads:
                # the first gradient with other strides than its variable (a CUDA fused kernel refuses those)
                tensors = [ops.convert_to_tensor(x) for x in g]
                tensors[0] = tensors[0].T.contiguous().T
                optimizer.apply(tensors, variables)
            optimizer.iterations.assign(0)  # as a checkpoint load would: the step count is read again
            optimizer.apply([ops.convert_to_tensor(x) for x in grads[0]], variables)
        finally:
            torch_adam.Adam._parallel_update_step = patched
        results.append([ops.convert_to_numpy(v) for v in variables])
    for ours, keras_own, first in zip(*results, start):
        # Keras works out 1 - beta_2^t in float32 (1e-5 relative error), the fused kernel in double
        np.testing.assert_allclose(ours, keras_own, rtol=0, atol=1e-5)
        assert not np.allclose(ours, first)


def _call_and_grads(layer, inputs, **kwargs):
    """`layer(inputs, **kwargs)` flattened to numpy, and the gradients of a weighted sum of it w.r.t. the
    inputs and the layer's weights."""
    import torch

    x = torch.tensor(inputs, requires_grad=True)
    outputs = keras.tree.flatten(layer(x, **kwargs))
    total = sum(torch.sum(o * torch.linspace(-1.0, 2.0, o.numel()).reshape(o.shape)) for o in outputs)
    tensors = [x] + [w.value for w in layer.trainable_weights]
    grads = torch.autograd.grad(total, tensors, allow_unused=True)
    return [o.detach().numpy() for o in outputs], [g.numpy() for g in grads if g is not None]


def _same_as_keras(layer, method, keras_method, inputs, **kwargs):
    """`layer`'s outputs and gradients through the zoo's method and through Keras' own agree."""
    cls = type(layer) if method != "inner_loop" else type(getattr(layer, "forward_layer", layer))
    ours = _call_and_grads(layer, inputs, **kwargs)
    patched = getattr(cls, method)
    setattr(cls, method, keras_method)
    try:
        theirs = _call_and_grads(layer, inputs, **kwargs)
    finally:
        setattr(cls, method, patched)
    assert getattr(cls, method) is patched is not keras_method
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert len(ours[1]) == len(theirs[1]) == 1 + len(layer.trainable_weights)
    return ours[0]


@torch_only
@pytest.mark.parametrize("groups, axis, center, shape", [(-1, -1, True, (2, 5, 6, 8)), (2, -1, False, (3, 7, 4)),
                                                         (4, 1, True, (2, 8, 3, 3)), (2, 0, True, (4, 3, 5))])
def test_torch_group_norm_is_keras_group_norm(groups, axis, center, shape):
    from zoo.backend import torch_layers

    layer = keras.layers.GroupNormalization(groups=groups, axis=axis, center=center, epsilon=1e-3)
    layer.build(shape)
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    inputs = rng.normal(size=shape).astype("float32") * 3 + 1
    _same_as_keras(layer, "call", torch_layers.KERAS_GROUP_NORM_CALL, inputs)


@pytest.fixture
def kernel_results(monkeypatch):
    """What each call of the GRU kernel path returned (None: it handed the call back to Keras)."""
    from zoo.backend import torch_layers

    results = []
    fast = torch_layers._gru
    monkeypatch.setattr(torch_layers, "_gru", lambda *args: results.append(fast(*args)) or results[-1])
    return results


def _padded_mask(lengths, steps):
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


@torch_only
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("lengths", [None, (6, 3, 1, 0), (6, 6, 6, 6)])
def test_torch_gru_is_keras_gru(go_backwards, zero_output_for_mask, lengths):
    import torch

    from zoo.backend import torch_layers

    rng = np.random.default_rng(2)
    layer = keras.layers.GRU(5, return_sequences=True, return_state=True, go_backwards=go_backwards,
                             zero_output_for_mask=zero_output_for_mask)
    layer.build((None, 6, 3))
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    inputs = rng.normal(size=(4, 6, 3)).astype("float32")
    mask = None if lengths is None else torch.tensor(_padded_mask(lengths, 6))
    state = torch.tensor(rng.normal(size=(4, 5)).astype("float32"))
    outputs = _same_as_keras(layer, "inner_loop", torch_layers.KERAS_GRU_INNER_LOOP, inputs, mask=mask,
                             initial_state=[state])
    if lengths is not None:  # the padding's outputs are what the zero_output_for_mask setting says
        padded = ~_padded_mask(lengths, 6)[:, ::-1 if go_backwards else 1]
        assert np.any(outputs[0][padded] != 0) == (not zero_output_for_mask and not go_backwards
                                                    and lengths[0] != lengths[-1])


@torch_only
def test_torch_bidirectional_gru_with_padding_is_keras(kernel_results):
    """The translation encoder's case: both directions of a padded batch take torch's kernel."""
    import torch

    from zoo.backend import torch_layers

    rng = np.random.default_rng(3)
    layer = keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True))
    layer.build((None, 7, 3))
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    inputs = rng.normal(size=(3, 7, 3)).astype("float32")
    mask = torch.tensor(_padded_mask((7, 4, 2), 7))
    outputs = _same_as_keras(layer, "inner_loop", torch_layers.KERAS_GRU_INNER_LOOP, inputs, mask=mask)
    assert len(kernel_results) == 2 and all(result is not None for result in kernel_results)
    np.testing.assert_array_equal(outputs[0][~_padded_mask((7, 4, 2), 7)], 0.0)


@torch_only
def test_torch_gru_leaves_what_it_cannot_do_to_keras(kernel_results):
    import torch

    from zoo.backend import torch_layers

    inputs = np.random.default_rng(4).normal(size=(2, 4, 3)).astype("float32")
    gaps = torch.tensor([[True, False, True, False], [True, True, False, False]])  # not right-padded
    for layer, mask in [(keras.layers.GRU(3, return_sequences=True), gaps),
                        (keras.layers.GRU(3, activation="relu"), None),
                        (keras.layers.GRU(3, reset_after=False), None),
                        (keras.layers.GRU(3, use_cudnn=False), None),
                        (keras.layers.GRU(3, use_cudnn=True), None)]:
        layer.build((None, 4, 3))
        _same_as_keras(layer, "inner_loop", torch_layers.KERAS_GRU_INNER_LOOP, inputs, mask=mask)
    assert kernel_results == [None]  # only the first reached the kernel, which gave it back


@torch_only
@pytest.mark.parametrize("setting, patched", [("0", False), ("1", True), ("false", None)])
def test_zoo_patch_keras_0_leaves_keras_as_it_is(setting, patched):
    import ast
    import os
    import subprocess
    import sys

    check = ("import zoo.backend\n"
             "from keras.src.backend.torch import random\n"
             "from keras.src.backend.torch.optimizers import torch_adam\n"
             "from keras.src.layers import GRU, GroupNormalization\n"
             "print([f.__module__ for f in (random.torch_seed_generator, torch_adam.Adam._parallel_update_step,\n"
             "                              GroupNormalization.call, GRU.inner_loop)])\n")
    env = {**os.environ, "KERAS_BACKEND": "torch", "ZOO_PATCH_KERAS": setting}
    out = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=300)
    if patched is None:  # anything but 0 or 1 is refused, not read as either
        assert out.returncode != 0 and "ZOO_PATCH_KERAS must be 0" in out.stderr and "'false'" in out.stderr
        return
    assert out.returncode == 0, out.stderr[-2000:]
    modules = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    assert [m.startswith("zoo.") for m in modules] == [patched] * 4, modules


@torch_only
def test_torch_gru_takes_masks_that_keras_layers_make(kernel_results, monkeypatch):
    """`Embedding(mask_zero=True)` -> `Bidirectional(GRU)`, as a user writes it: the kernel's outputs and weight
    gradients are Keras'."""
    import torch

    from zoo.backend import torch_layers

    keras.utils.set_random_seed(5)
    ids = keras.Input((None,), dtype="int32")
    states = keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True))(
        keras.layers.Embedding(10, 3, mask_zero=True)(ids))
    model = keras.Model(ids, states)
    tokens = torch.tensor([[3, 4, 5, 6, 0], [7, 2, 0, 0, 0], [1, 0, 0, 0, 0]])
    results = []
    for loop in (torch_layers._gru_inner_loop, torch_layers.KERAS_GRU_INNER_LOOP):
        monkeypatch.setattr(keras.layers.GRU, "inner_loop", loop)
        outputs = model(tokens)
        weights = [w.value for w in model.trainable_weights]
        grads = torch.autograd.grad(torch.sum(outputs * torch.linspace(-1, 1, outputs.numel()).reshape(outputs.shape)),
                                    weights)
        results.append([outputs.detach().numpy()] + [g.numpy() for g in grads])
    assert len(kernel_results) >= 2 and all(result is not None for result in kernel_results)
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


@torch_only
def test_torch_gru_with_a_mask_stays_keras_where_keras_differs():
    """A stateful GRU trains (its state variable is overwritten after the call; Keras' loop copies it first),
    and `use_cudnn=True` with a mask is refused as Keras refuses it."""
    rng = np.random.default_rng(6)
    inputs = rng.normal(size=(4, 6, 3)).astype("float32")
    inputs[1, 3:] = 0.0
    model = keras.Sequential([keras.Input(batch_shape=(4, 6, 3)), keras.layers.Masking(0.0),
                              keras.layers.GRU(5, stateful=True), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(inputs, np.zeros((4, 1)), batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    layer = keras.layers.GRU(3, use_cudnn=True)
    with pytest.raises(ValueError, match="use_cudnn=True"):
        layer(inputs, mask=np.arange(6)[None, :] < np.array([[6], [3], [6], [6]]))
