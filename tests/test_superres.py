"""SRResNet and SRGAN (Ledig et al. 2017) on this backend: the pixel shuffle by hand, the generator's shapes and
receptive field, tiled upscaling, grey through colour, a training step of each, the frozen feature network, the
aligned training crops, checkpoints, bad inputs, and the quick recipe."""

import json

import keras
import numpy as np
import pytest

import zoo
from conftest import load_recipe, natural_image_files
from zoo.backend import input_gradient
from zoo.checkpoints import save_checkpoint
from zoo.data import natural
from zoo.data.resize import bicubic_pair, imresize
from zoo.errors import InputError
from zoo.layers import Blur
from zoo.metrics import grid_component, grid_power_ratio
from zoo.models.superres import (
    LUMA,
    MIN_SIZE,
    SRGAN,
    BicubicUpsampling,
    PixelShuffle,
    SRPairs,
    SRResNet,
    low_resolution_pairs,
    receptive_radius,
    sr_pairs,
    srgan_discriminator,
    srresnet_generator,
    upsampler_layers,
)


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def images(shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype("float32")


def randomize_output(generator, seed=0):
    """The last convolution starts at zero (a flat mid-grey image); give it weights so outputs show the input."""
    layer = generator.get_layer("conv_out")
    layer.kernel.assign(np.random.default_rng(seed).normal(0, 0.1, layer.kernel.shape).astype("float32"))
    return generator


def tiny_srresnet(channels=3, scale=4, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    model = SRResNet(channels=channels, width=4, blocks=1, scale=scale, **kwargs)
    randomize_output(model.generator, seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def feature_net(channels=3):
    """A small functional feature network for any image size, with BatchNorm whose statistics must not move."""
    inputs = keras.Input((None, None, channels))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_0")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="conv_1")(x)
    return keras.Model(inputs, x, name="tiny_features")


def tiny_srgan(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    kwargs = {"channels": 3, "width": 4, "blocks": 1, "scale": 4, "discriminator_width": 4,
              "discriminator_size": 16, "seed": seed, **kwargs}
    model = SRGAN(feature_net(kwargs["channels"]), ["conv_0", "conv_1"], **kwargs)
    randomize_output(model.generator, seed)
    model.compile(learning_rate=1e-3)
    return model


def pairs(n=8, lr_size=4, scale=4, channels=3, seed=0):
    """HR crops and their LR: smooth random images, so the LR is a fair picture of them."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(size=(n, lr_size, lr_size, channels)).astype("float32")
    hr = np.stack([np.clip(keras.ops.convert_to_numpy(keras.ops.image.resize(s[None], (lr_size * scale,) * 2))[0],
                           0, 1) for s in small]).astype("float32")
    return small, hr


def copies(weights):
    return [np.array(to_numpy(w)).copy() for w in weights]


def moved(before, weights):
    return max(float(np.abs(b - to_numpy(w)).max()) for b, w in zip(before, weights, strict=True))


# The pixel shuffle and the networks ------------------------------------------------------------------------------


def test_pixel_shuffle_against_a_hand_computation():
    # One 2x2 image of 8 channels: pixel (h, w) holds 8 (2 h + w) + k in channel k.
    x = np.arange(2 * 2 * 8, dtype="float32").reshape(1, 2, 2, 8)
    out = to_numpy(PixelShuffle(2)(keras.ops.convert_to_tensor(x)))
    assert out.shape == (1, 4, 4, 2)
    # Output (2 h + i, 2 w + j), channel c = input (h, w), channel (2 i + j) 2 + c.
    channel_0 = [[0, 2, 8, 10],
                 [4, 6, 12, 14],
                 [16, 18, 24, 26],
                 [20, 22, 28, 30]]
    np.testing.assert_array_equal(out[0, :, :, 0], channel_0)
    np.testing.assert_array_equal(out[0, :, :, 1], np.array(channel_0) + 1)
    layer = PixelShuffle.from_config(PixelShuffle(3, name="shuffle").get_config())
    assert layer.scale == 3 and layer.name == "shuffle"
    assert layer.compute_output_shape((None, None, 5, 18)) == (None, None, 15, 2)
    with pytest.raises(ValueError, match="integer >= 2"):
        PixelShuffle(1)


@pytest.mark.parametrize("scale", [4, 2])
def test_bicubic_upsampling_is_matlabs_imresize(scale):
    # MATLAB's bicubic (zoo.data.resize.imresize, floats), mirrored borders included, on every backend.
    x = images((2, 9, 13, 3))
    out = to_numpy(BicubicUpsampling(scale)(keras.ops.convert_to_tensor(x)))
    np.testing.assert_allclose(out, np.stack([imresize(image, scale) for image in x]), atol=1e-5)
    layer = BicubicUpsampling.from_config(BicubicUpsampling(scale, name="bicubic").get_config())
    assert layer.scale == scale and layer.compute_output_shape((None, 5, None, 1)) == (None, 5 * scale, None, 1)
    assert not layer.weights
    with pytest.raises(ValueError, match="integer >= 2"):
        BicubicUpsampling(1)
    with pytest.raises(ValueError, match="sides of at least 2; got \\(1, 5\\)"):
        BicubicUpsampling(scale)(keras.ops.convert_to_tensor(images((1, 1, 5, 3))))


def test_a_residual_generator_starts_at_bicubic_and_keeps_it_through_a_checkpoint(tmp_path):
    keras.utils.set_random_seed(0)
    model = SRResNet(channels=3, width=4, blocks=1, scale=4, residual=True)
    x = images((10, 12, 3))
    np.testing.assert_allclose(model.upscale(x), np.clip(imresize(x, 4), 0, 1), atol=1e-5)  # a new one is bicubic
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    lr, hr = pairs(4, lr_size=6)
    model.fit(lr, hr, batch_size=4, epochs=2, verbose=0)
    assert np.abs(model.upscale(x) - np.clip(imresize(x, 4), 0, 1)).max() > 1e-4  # it learned a residual
    path = save_checkpoint(model, tmp_path / "residual", {"name": "residual", "description": "A tiny one."})
    loaded = zoo.load(path)
    assert loaded.residual and loaded.get_config()["residual"] is True
    np.testing.assert_allclose(loaded.upscale(x), model.upscale(x), atol=1e-6)
    srgan = SRGAN.from_srresnet(loaded, feature_net(), "conv_1", discriminator_width=4, discriminator_size=16)
    assert srgan.residual
    np.testing.assert_allclose(srgan.upscale(x), model.upscale(x), atol=1e-6)


@pytest.mark.parametrize("scale", [4, 2])
def test_the_generator_upscales_any_size_by_its_scale(scale):
    generator = srresnet_generator(channels=3, width=4, blocks=2, scale=scale)
    assert generator.output_shape == (None, None, None, 3)
    shuffles = [layer for layer in generator.layers if isinstance(layer, PixelShuffle)]
    assert len(shuffles) == {2: 1, 4: 2}[scale]
    for shape in [(2, 5, 7, 3), (1, 12, 9, 3)]:
        out = to_numpy(generator(images(shape)))
        assert out.shape == (shape[0], shape[1] * scale, shape[2] * scale, 3)
        np.testing.assert_array_equal(out, 0.5)  # a new generator paints mid-grey: its last layer starts at zero
    with pytest.raises(ValueError, match="power of two"):
        srresnet_generator(scale=3)


@pytest.mark.parametrize("scale", [4, 2])
def test_the_margin_is_exactly_the_receptive_field(scale):
    keras.utils.set_random_seed(1)
    generator = randomize_output(srresnet_generator(channels=1, width=4, blocks=1, scale=scale))
    radius = receptive_radius(1, scale)
    size = 2 * radius + 9
    x = images((1, size, size, 1))
    bumped = x.copy()
    centre = size // 2
    bumped[0, centre, centre] += 0.5
    change = np.abs(to_numpy(generator(bumped)) - to_numpy(generator(x)))[0, :, :, 0]
    rows = np.nonzero(change.max(axis=1) > 0)[0] // scale  # the LR rows of the HR pixels that changed
    assert rows.min() == centre - radius and rows.max() == centre + radius


def test_the_discriminator_scores_its_patch_size_or_any_size_pooled():
    fixed = srgan_discriminator(channels=3, width=4, image_size=32)
    assert to_numpy(fixed(images((2, 32, 32, 3)))).shape == (2, 1)
    assert any(isinstance(layer, keras.layers.Flatten) for layer in fixed.layers)
    pooled = srgan_discriminator(channels=3, width=4, image_size=None)
    for side in (32, 16):
        assert to_numpy(pooled(images((2, side, side, 3)))).shape == (2, 1)
    assert any(isinstance(layer, keras.layers.GlobalAveragePooling2D) for layer in pooled.layers)
    strides = [layer.strides[0] for layer in fixed.layers if isinstance(layer, keras.layers.Conv2D)]
    assert strides == [1, 2, 1, 2, 1, 2, 1, 2]  # the paper's eight convolutions
    filters = [layer.filters for layer in fixed.layers if isinstance(layer, keras.layers.Conv2D)]
    assert filters == [4, 4, 8, 8, 16, 16, 32, 32]


def test_blur_is_the_binomial_filter_that_removes_a_period_2_checkerboard():
    checker = np.indices((8, 8)).sum(axis=0) % 2
    x = np.stack([checker, np.ones((8, 8))], axis=-1)[None].astype("float32")
    out = to_numpy(Blur()(x))
    assert out.shape == x.shape
    np.testing.assert_allclose(out[0, 1:-1, 1:-1, 0], 0.5, atol=1e-6)  # the pattern's mean, no pattern left
    np.testing.assert_allclose(out[0, 1:-1, 1:-1, 1], 1.0, atol=1e-6)  # each channel on its own, sum kept
    np.testing.assert_allclose(out[0, 0, 0, 1], 9 / 16, atol=1e-6)  # zero padding at the corner
    with pytest.raises(ValueError, match="number of channels"):
        Blur().build((None, 8, 8, None))


# One backend: what it checks is backend-free (the steps and checkpoints it uses are tested on every backend).
@pytest.mark.one_backend("torch")
def test_the_antialiased_discriminator_blurs_before_each_stride_and_sends_back_no_checkerboard(tmp_path):
    keras.utils.set_random_seed(0)
    plain = srgan_discriminator(channels=3, width=4, image_size=None)
    blurred = srgan_discriminator(channels=3, width=4, image_size=None, antialias=True)
    kinds = [type(layer).__name__ for layer in blurred.layers if isinstance(layer, (Blur, keras.layers.Conv2D))]
    assert kinds == ["Conv2D"] + ["Blur", "Conv2D", "Conv2D"] * 3 + ["Blur", "Conv2D"]
    assert [w.shape for w in plain.weights] == [w.shape for w in blurred.weights]  # the blur has no weights
    ratios = {False: [], True: []}  # the input gradient's power on the 4-pixel grid, over white noise's
    for seed in range(3):
        keras.utils.set_random_seed(seed)
        x = np.random.default_rng(seed).uniform(size=(4, 32, 32, 3)).astype("float32")
        for antialias in ratios:
            d = srgan_discriminator(channels=3, width=8, image_size=None, antialias=antialias)
            ratios[antialias].append(grid_power_ratio(to_numpy(input_gradient(lambda v: d(v, training=False), x))))
    assert np.mean(ratios[True]) < 0.5 * np.mean(ratios[False])  # (measured: about 0.3 against 1.2)
    model = tiny_srgan(antialias=True, discriminator_size=None)
    path = save_checkpoint(model, tmp_path / "srgan_blur", {"name": "srgan_blur", "description": "Anti-aliased."})
    loaded = zoo.load(path)
    assert loaded.antialias and any(isinstance(layer, Blur) for layer in loaded.discriminator.layers)
    x = images((2, 16, 16, 3))
    np.testing.assert_allclose(to_numpy(loaded.discriminator(x)), to_numpy(model.discriminator(x)), atol=1e-5)


# One backend: what it checks is backend-free (the steps and checkpoints it uses are tested on every backend).
@pytest.mark.one_backend("torch")
def test_an_srgan_with_a_fixed_upsampler_trains_only_the_trunk_and_keeps_it_fixed_after_a_checkpoint(tmp_path):
    model = tiny_srgan(fixed_upsampler=True)
    fixed = upsampler_layers(model.generator)
    assert [layer.name for layer in fixed] == ["up_0_conv", "up_0_shuffle", "up_0_prelu", "up_1_conv",
                                               "up_1_shuffle", "up_1_prelu", "conv_out"]
    upsampler, trunk = copies([w for layer in fixed for w in layer.weights]), copies(model.generator.trainable_weights)
    lr, hr = pairs()
    model.fit(lr, hr, batch_size=4, epochs=1, verbose=0)
    assert moved(upsampler, [w for layer in fixed for w in layer.weights]) == 0
    assert moved(trunk, model.generator.trainable_weights) > 0
    path = save_checkpoint(model, tmp_path / "srgan_fixed", {"name": "srgan_fixed", "description": "Fixed."})
    loaded = zoo.load(path)
    assert loaded.fixed_upsampler and len(loaded.generator.trainable_weights) == len(trunk)
    assert not tiny_srgan().fixed_upsampler and len(tiny_srgan().generator.trainable_weights) > len(trunk)


# Upscaling ----------------------------------------------------------------------------------------------------


# One backend: what it checks is backend-free (the steps and checkpoints it uses are tested on every backend).
@pytest.mark.one_backend("tensorflow")
def test_tiled_upscaling_equals_the_untiled_output():
    model = tiny_srresnet()
    x = images((2, 16, 24, 3))  # tiles of 8 with margins of 10: runs of 16x18 and 16x24 pixels, few shapes to trace
    whole = model.upscale(x)
    assert whole.shape == (2, 64, 96, 3) and 0.0 <= whole.min() and whole.max() <= 1.0
    assert model.margin == receptive_radius(1, 4) == 10
    np.testing.assert_allclose(model.upscale(x, tile=8), whole, atol=1e-5)
    np.testing.assert_allclose(model.upscale(x, tile=12, batch_size=1), whole, atol=1e-5)
    assert np.abs(model.upscale(x, tile=8, margin=1) - whole).max() > 1e-3  # too little context shows


def test_layouts_batches_and_lists():
    model = tiny_srresnet()
    batch = images((3, 10, 12, 3))
    out = model.upscale(batch, batch_size=2)
    assert out.shape == (3, 40, 48, 3)
    np.testing.assert_allclose(model.upscale(batch[1]), out[1], atol=1e-5)
    np.testing.assert_allclose(model(batch), out, atol=1e-5)  # numpy in, numpy out
    listed = model.upscale([batch[0], images((9, 11, 3))])
    assert [a.shape for a in listed] == [(40, 48, 3), (36, 44, 3)]
    tensor = model(keras.ops.convert_to_tensor(batch))  # tensors: the generator's output, not clipped
    assert tuple(tensor.shape) == (3, 40, 48, 3)


def test_a_grey_image_through_a_colour_model_comes_back_grey():
    model = tiny_srresnet(channels=3)
    grey = images((10, 11))
    out = model.upscale(grey)
    assert out.shape == (40, 44)
    colour = model.upscale(np.repeat(grey[..., None], 3, axis=-1))
    np.testing.assert_allclose(out, colour @ LUMA, atol=1e-5)
    assert model.upscale(grey[..., None]).shape == (40, 44, 1)
    grey_model = tiny_srresnet(channels=1)
    assert grey_model.upscale(grey).shape == (40, 44)
    with pytest.raises(InputError, match="3 channels"):
        grey_model.upscale(np.repeat(grey[..., None], 3, axis=-1))


@pytest.mark.parametrize("x, match", [
    (np.full((16, 16, 3), 200, np.uint8), "uint8.*divided by 255"),
    (np.full((16, 16, 3), 200.0, "float32"), "0..255 scale must be divided by 255"),
    (np.zeros((16, 16, 4), "float32"), "alpha channel"),
    (np.zeros((16, 16, 2), "float32"), "alpha channel"),
    (np.full((16, 16, 3), np.nan, "float32"), "NaN"),
    (np.zeros((MIN_SIZE - 1, 16, 3), "float32"), f"at least {MIN_SIZE}x{MIN_SIZE}"),
    (np.zeros((2, 16, 16), "float32"), r"16 channels.*x\[\.\.\., None\]"),
    (np.zeros((1, 2, 16, 16, 3), "float32"), "expected one image"),
    (np.zeros((0, 16, 16, 3), "float32"), "empty"),
    (np.full((16, 16, 3), -0.5, "float32"), r"values in \[-0.5"),
])
def test_bad_inputs_get_clear_errors(x, match):
    model = tiny_srresnet()
    with pytest.raises(InputError, match=match):
        model.upscale(x)
    with pytest.raises(InputError, match=match):
        model(x)


def test_bad_tiles_are_refused():
    model = tiny_srresnet()
    with pytest.raises(InputError, match="tile"):
        model.upscale(images((12, 12, 3)), tile=0)


# Training -----------------------------------------------------------------------------------------------------


def test_an_srresnet_step_trains_on_mse_and_fit_checks_the_pairs():
    model = tiny_srresnet()
    lr, hr = pairs()
    loss = float(to_numpy(model.compute_terms(keras.ops.convert_to_tensor(lr), hr)["loss"]))
    expected = np.mean((to_numpy(model.generator(lr, training=False)) - hr) ** 2)
    assert loss == pytest.approx(expected, rel=1e-4)
    before = copies(model.generator.trainable_weights)
    history = model.fit(lr, hr, batch_size=4, epochs=1, verbose=0)
    assert set(history.history) == {"loss"} and np.isfinite(history.history["loss"]).all()
    assert moved(before, model.generator.trainable_weights) > 0
    with pytest.raises(InputError, match="pairs"):
        model.fit(lr, epochs=1, verbose=0)
    with pytest.raises(InputError, match="4 times the size"):
        model.fit(lr, hr[:, :8, :8], epochs=1, verbose=0)
    with pytest.raises(InputError, match="255"):
        model.fit(lr, hr * 255, epochs=1, verbose=0)


def test_an_srgan_step_moves_both_players_not_the_feature_network_and_survives_a_checkpoint(tmp_path):
    # One test for the step and the round trip: under JAX each new model's train_step is a fresh compilation.
    model = tiny_srgan(layer_weights=[1.0, 0.5], content_weight=0.1, pixel_weight=0.5)
    lr, hr = pairs()
    generator, discriminator = copies(model.generator.trainable_weights), copies(model.discriminator.trainable_weights)
    frozen = copies(model.perceptual.weights)  # kernels, biases and BatchNorm statistics
    model.trainable = True  # unfreezing the whole model leaves the loss's network out of it
    assert len(model.trainable_weights) == len(model.generator.trainable_weights) + len(
        model.discriminator.trainable_weights)
    history = model.fit(lr, hr, batch_size=4, epochs=1, verbose=0)
    assert set(history.history) == {"generator_loss", "content_loss", "adversarial_loss", "pixel_loss",
                                    "discriminator_loss"}
    assert all(np.isfinite(v).all() for v in history.history.values())
    assert moved(discriminator, model.discriminator.trainable_weights) > 0
    assert moved(generator, model.generator.trainable_weights) > 0
    assert moved(frozen, model.perceptual.weights) == 0
    for name in model.players:
        assert int(to_numpy(model.optimizer[name].iterations)) == 2, name

    path = save_checkpoint(model, tmp_path / "srgan_tiny", {"name": "srgan_tiny", "description": "A tiny SRGAN."})
    loaded = zoo.load(path)
    assert type(loaded) is SRGAN and loaded.compiled
    settings = [{k: v for k, v in m.get_config().items() if k != "feature_model"} for m in (loaded, model)]
    assert json.dumps(settings[0], sort_keys=True) == json.dumps(settings[1], sort_keys=True)
    assert loaded.perceptual.layer_weights == [1.0, 0.5] and loaded.discriminator_size == 16
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = images((12, 10, 3))
    np.testing.assert_allclose(loaded.upscale(x), model.upscale(x), atol=1e-6)
    np.testing.assert_allclose(to_numpy(loaded.discriminator(hr)), to_numpy(model.discriminator(hr)), atol=1e-5)
    frozen = copies(loaded.perceptual.weights)
    loaded.fit(lr[:4], hr[:4], batch_size=4, epochs=1, verbose=0)  # fine-tuning keeps the feature network frozen
    assert moved(frozen, loaded.perceptual.weights) == 0


def test_the_srgan_losses_read_like_the_paper():
    model = tiny_srgan(content_weight=2.0, pixel_weight=0.5)
    lr, hr = pairs(4)
    loss, terms = model.generator_loss(keras.ops.convert_to_tensor(lr), keras.ops.convert_to_tensor(hr),
                                       training=False)
    values = {k: float(to_numpy(v)) for k, v in terms.items()}
    sr = to_numpy(model.generator(lr, training=False))
    logits = to_numpy(model.discriminator(sr, training=False))
    assert values["adversarial_loss"] == pytest.approx(np.mean(np.log1p(np.exp(-logits))), rel=1e-4)  # -log D(G)
    assert values["pixel_loss"] == pytest.approx(np.mean((sr - hr) ** 2), rel=1e-4)
    content = model.perceptual(keras.ops.convert_to_tensor(hr), keras.ops.convert_to_tensor(sr))
    assert values["content_loss"] == pytest.approx(float(to_numpy(content)), rel=1e-4)
    expected = 2.0 * values["content_loss"] + 1e-3 * values["adversarial_loss"] + 0.5 * values["pixel_loss"]
    assert float(to_numpy(loss)) == pytest.approx(expected, rel=1e-5)
    assert model.adversarial_weight == 1e-3  # the paper's
    d_loss = float(to_numpy(model.discriminator_loss(lr, hr, training=False)[0]))
    real = to_numpy(model.discriminator(hr, training=False))
    assert d_loss == pytest.approx(np.mean(np.log1p(np.exp(-real))) + np.mean(np.log1p(np.exp(logits))), rel=1e-4)


# One backend: what it checks is backend-free (the steps and checkpoints it uses are tested on every backend).
@pytest.mark.one_backend("torch")
def test_srgan_starts_from_an_srresnet_and_checks_its_patch_size():
    srresnet = tiny_srresnet()
    model = SRGAN.from_srresnet(srresnet, feature_net(), "conv_1", discriminator_width=4, discriminator_size=16)
    x = images((12, 12, 3))
    np.testing.assert_array_equal(model.upscale(x), srresnet.upscale(x))
    model.compile()
    lr, hr = pairs(4, lr_size=6)
    with pytest.raises(InputError, match="16x16 HR patches"):
        model.fit(lr, hr, epochs=1, verbose=0)
    with pytest.raises(InputError, match="16x16 HR patches"):
        model.fit(SRPairs(low_resolution_pairs([images((32, 32, 3))]), patch_size=24, batch_size=2, steps=1))
    with pytest.raises(NotImplementedError, match="upscale"):
        model.sample(2)
    pooled = tiny_srgan(discriminator_size=None)
    history = pooled.fit(lr, hr, batch_size=4, epochs=1, verbose=0)  # any patch size
    assert np.isfinite(history.history["generator_loss"]).all()


# Training crops -----------------------------------------------------------------------------------------------


@pytest.mark.backend_free  # numpy only
def test_grid_power_ratio_is_one_for_noise_and_large_for_a_checkerboard():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(64, 32, 32, 1))
    assert 0.9 < grid_power_ratio(noise) < 1.1
    tile = rng.normal(size=(4, 4, 1))
    checker = np.tile(tile, (8, 8, 1))  # a period-4 pattern: all its power is on the grid
    ratio = grid_power_ratio(checker)
    assert np.isclose(ratio, (32 * 32 - 1) / (6 * 32 - 9))  # the most there is: all bins on the grid, 5.6
    smooth = np.broadcast_to(np.sin(np.linspace(0, np.pi, 32))[:, None, None], (32, 32, 1))
    assert grid_power_ratio(smooth) < 0.1  # a slow ramp puts almost nothing there
    assert grid_power_ratio(noise + 3 * checker) > grid_power_ratio(noise + checker) > 2
    with pytest.raises(InputError, match="divide"):
        grid_power_ratio(noise[:, :30])
    with pytest.raises(InputError, match="constant"):
        grid_power_ratio(np.ones((8, 8, 1)))
    with pytest.raises(InputError, match="NaN"):
        grid_power_ratio(np.full((8, 8, 1), np.nan))


@pytest.mark.backend_free  # numpy only
def test_grid_component_is_the_pattern_on_the_grid():
    rng = np.random.default_rng(0)
    checker = np.tile(rng.normal(size=(4, 4, 3)), (8, 8, 1))  # (h, w, c): all of it on the grid but its mean
    assert np.allclose(grid_component(checker), checker - checker.mean(axis=(0, 1)))
    noise = rng.normal(size=(2, 32, 32, 3))
    part = grid_component(noise)
    assert part.shape == noise.shape and np.allclose(grid_component(part), part)  # a projection
    assert np.isclose((part * (noise - part)).sum(), 0, atol=1e-8)  # orthogonal to what is left
    assert np.isclose(grid_power_ratio(part), (32 * 32 - 1) / (6 * 32 - 9))
    ramp = np.broadcast_to(np.sin(np.linspace(0, np.pi, 32))[:, None, None], (32, 32, 1))
    assert np.abs(grid_component(ramp)).max() < 0.1 * np.abs(ramp - ramp.mean()).max()
    with pytest.raises(InputError, match="grid_component takes"):
        grid_component(noise[0, :, :, 0])
    with pytest.raises(InputError, match="divide"):
        grid_component(noise[:, :30])


@pytest.mark.backend_free  # numpy only
def test_sr_pairs_are_aligned_crops_with_one_transform_each():
    rng = np.random.default_rng(0)
    lr = rng.integers(0, 256, (10, 12, 3)).astype(np.uint8)
    hr = np.kron(lr, np.ones((4, 4, 1), np.uint8))  # each LR pixel a 4x4 HR block: alignment is visible
    data = SRPairs([(lr, hr)], scale=4, patch_size=16, batch_size=32, steps=2, seed=3)
    lrs, hrs = data.batch(1, epoch=0)
    assert lrs.shape == (32, 4, 4, 3) and hrs.shape == (32, 16, 16, 3) and lrs.dtype == hrs.dtype == np.float32
    np.testing.assert_array_equal(hrs, np.kron(lrs, np.ones((1, 4, 4, 1), np.float32)))
    flat = lr.astype(np.float32) / 255
    found = set()
    for patch in lrs:  # each is one of the 8 symmetries of an LR crop
        for t in range(8):
            for top in range(7):
                for left in range(9):
                    if np.array_equal(natural.dihedral(flat[top:top + 4, left:left + 4], t), patch):
                        found.add(t)
    assert len(found) > 4
    again = SRPairs([(lr, hr)], scale=4, patch_size=16, batch_size=32, steps=2, seed=3).batch(1, epoch=0)
    np.testing.assert_array_equal(again[0], lrs)
    assert not np.array_equal(data.batch(0, epoch=0)[0], lrs)
    with pytest.raises(InputError, match="multiple of the scale"):
        SRPairs([(lr, hr)], patch_size=18)
    with pytest.raises(InputError, match="smaller than an LR patch"):
        SRPairs([(lr, hr)], patch_size=48)


@pytest.mark.backend_free  # numpy only
def test_sr_pairs_take_the_lr_of_the_whole_image_as_matlab_makes_it():
    image = (images((37, 42, 3), seed=4) * 255).astype(np.uint8)
    (lr, hr), = low_resolution_pairs([image], scale=4)
    expected_lr, expected_hr = bicubic_pair(image, 4)
    assert lr.dtype == hr.dtype == np.uint8 and hr.shape == (36, 40, 3) and lr.shape == (9, 10, 3)
    np.testing.assert_array_equal(lr / np.float32(255), expected_lr)
    np.testing.assert_array_equal(hr / np.float32(255), expected_hr)
    data = sr_pairs([image], scale=4, patch_size=36, batch_size=2, steps=1, augment=False)
    lrs, hrs = data.batch(0)
    assert lrs.shape == (2, 9, 9, 3) and hrs.shape == (2, 36, 36, 3)
    for lr_crop, hr_crop in zip(lrs, hrs):  # crops of the whole image's LR and HR at one place
        left = next(c for c in (0, 1) if np.array_equal(lr_crop, expected_lr[:, c:c + 9]))
        np.testing.assert_array_equal(hr_crop, expected_hr[:, 4 * left:4 * left + 36])


def test_fit_takes_sr_pairs():
    model = tiny_srresnet()
    data = sr_pairs([images((40, 44, 3), seed=s) for s in range(2)], patch_size=16, batch_size=4, steps=2)
    history = model.fit(data, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["loss"]).all()


# Saving -------------------------------------------------------------------------------------------------------


def test_an_srresnet_checkpoint_gives_the_same_output(tmp_path):
    model = tiny_srresnet(channels=3, scale=2)
    lr, hr = pairs(4, scale=2)
    model.fit(lr, hr, batch_size=4, epochs=1, verbose=0)  # BatchNorm statistics away from their start
    path = save_checkpoint(model, tmp_path / "srresnet_tiny", {"name": "srresnet_tiny", "description": "A tiny one."})
    loaded = zoo.load(path)
    assert isinstance(loaded, SRResNet) and (loaded.width, loaded.blocks, loaded.scale) == (4, 1, 2)
    x = images((11, 13, 3))
    np.testing.assert_allclose(loaded.upscale(x), model.upscale(x), atol=1e-6)
    loaded.fit(lr, hr, batch_size=4, epochs=1, verbose=0)  # comes back ready to fine-tune


# The recipe ---------------------------------------------------------------------------------------------------


@pytest.mark.one_backend("torch")  # the fastest here; JAX compiles each new shape
def test_quick_srresnet_recipe_measures_beside_bicubic_and_writes_a_loadable_checkpoint(tmp_path):
    natural_image_files("t91", "set5")
    recipe = load_recipe("srresnet")
    out, results = tmp_path / "srresnet", tmp_path / "srresnet_x4.json"
    recipe.main(["--quick", "--steps", "3", "--verbose", "0", "--out", str(out), "--results", str(results),
                 "--state", str(tmp_path / "state.npz")])
    data = json.loads(results.read_text())
    assert data["quick"] and data["steps"] == 3 and data["patch_size"] == 48
    for name in ("set5", "set14", "bsd100"):
        assert data["sets"][name]["images"] == 2
        assert 20 < data["metrics"][f"{name}_bicubic_psnr"] < 40
        assert np.isfinite(data["metrics"][f"{name}_psnr"])
    assert (results.with_name("srresnet_x4_pictures.png")).stat().st_size > 0
    model = zoo.load(out)
    assert isinstance(model, SRResNet) and model.upscale(images((12, 12, 3))).shape == (48, 48, 3)
    meta = json.loads((out / "metadata.json").read_text())["zoo"]
    assert meta["family"] == "superres" and any(m["key"] == "set5_psnr" for m in meta["metrics"])
    rows = zoo.evaluation.evaluate(model)  # the card's super_resolution protocol measures it again
    assert {row.key for row in rows} >= {"set5_psnr", "bsd100_bicubic_ssim"} and all(row.within for row in rows)


@pytest.mark.one_backend("torch")
def test_quick_srgan_recipe_calibrates_its_content_weight_and_judges_three_methods(tmp_path):
    natural_image_files("t91", "set5")
    out, results = tmp_path / "srgan", tmp_path / "srgan_x4.json"
    load_recipe("srgan").main(["--quick", "--verbose", "0", "--out", str(out), "--results", str(results),
                               "--state", str(tmp_path / "state.npz")])
    data = json.loads(results.read_text())
    calibration = data["calibration"]
    assert data["steps"] == 4 and data["content_weight"] == pytest.approx(
        calibration["mse"] / calibration["content_loss"])
    for name in ("set5", "set14", "bsd100"):
        row = data["sets"][name]
        assert row["images"] == 1 and 20 < row["bicubic_psnr"] < 40
        assert all(row[f"{m}_perceptual"] > 0 for m in ("bicubic", "srresnet", "srgan"))
    assert {"set5_psnr", "set5_srresnet_perceptual", "bsd100_bicubic_ssim"} <= set(data["metrics"])
    assert results.with_name("srgan_x4_pictures.png").stat().st_size > 0
    model = zoo.load(out)
    assert isinstance(model, SRGAN) and model.discriminator_size is None
    assert model.upscale(images((12, 12, 3))).shape == (48, 48, 3)


@pytest.mark.one_backend("torch")
def test_quick_srgan_artifacts_recipe_measures_the_grid_power_of_each_loss_term(tmp_path):
    natural_image_files("t91")
    results = tmp_path / "srgan_artifacts.json"
    data = load_recipe("srgan_artifacts").main(["--quick", "--results", str(results)])
    assert json.loads(results.read_text())["ratios"] == data["ratios"]
    ratios = {name: row["mean"] for name, row in data["ratios"].items()}
    assert len(ratios) == 9 and all(np.isfinite(v) and v > 0 for v in ratios.values())
    # The pixel MSE's gradient is 2 (sr - hr) / n: the same pattern as the SRResNet's error.
    assert ratios["pixel MSE gradient"] == pytest.approx(ratios["SRResNet output - original"], rel=1e-3)
    assert set(data["metrics"]) >= {"adversarial_gradient", "srgan_change", "adversarial_cosine_at_srgan",
                                    "srgan_change_upsampler_put_back", "srgan_change_trunk_put_back"}
    at_gan = data["at_srgan_outputs"]
    assert sorted(at_gan) == ["adversarial loss", "content loss", "pixel MSE"]
    assert all(-1 <= row["descent_cosine_with_added_grid"]["mean"] <= 1 and row["gradient_grid_power"]["mean"] > 0
               for row in at_gan.values())
    recipe = load_recipe("srgan_artifacts")
    with pytest.raises(SystemExit):  # which trained SRGAN to measure must be said
        recipe.parse_args([])
    with pytest.raises(SystemExit):  # a test set is no set of training crops
        recipe.parse_args(["--srgan", "srgan_x4", "--sets", "set5"])
