"""The GAN family on this backend: every loss trains both players; guards, save/load, sampling, BEGAN's k."""

import json

import keras
import numpy as np
import pytest

from conftest import spread
from zoo.data.toy import eight_gaussians
from zoo.errors import InputError
from zoo.models.gan import (
    GAN,
    LOSSES,
    TRACKED,
    WGANGP,
    began_autoencoder,
    dcgan_critic,
    dcgan_generator,
    mlp,
)


def toy_gan(loss, seed=0, **kwargs):
    """A tiny GAN on the 2-D ring; BEGAN's critic is a 2 -> 2 autoencoder."""
    keras.utils.set_random_seed(seed)
    critic = mlp(2, 2 if loss == "began" else 1, hidden=(16,), name="critic")
    return GAN(mlp(2, 2, hidden=(16,), name="generator"), critic, latent_dim=2, loss=loss, seed=seed, **kwargs)


def image_gan(loss, channels=1, normalization=None, seed=0, packing=1):
    keras.utils.set_random_seed(seed)
    if loss == "began":
        critic = began_autoencoder(channels, width=4, code_dim=8)
    else:
        critic = dcgan_critic(channels * packing, width=4, normalization=normalization)
    return GAN(dcgan_generator(8, channels, width=4), critic, latent_dim=8, loss=loss, seed=seed, packing=packing)


def moved(before, weights):
    return max(float(np.abs(b - w.numpy()).max()) for b, w in zip(before, weights, strict=True))


def copies(weights):
    return [w.numpy().copy() for w in weights]


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains_both_players(loss):
    points, _ = eight_gaussians(64)
    model = toy_gan(loss)
    model.compile(n_critic=2)  # the paper's optimizer, fewer critic updates
    generator_before, critic_before = copies(model.generator.weights), copies(model.critic.weights)
    history = model.fit(points, batch_size=32, epochs=1, verbose=0)

    assert set(history.history) == set(TRACKED[loss])
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert moved(generator_before, model.generator.weights) > 1e-6
    assert moved(critic_before, model.critic.weights) > 1e-6
    iterations = {name: int(model.optimizer[name].iterations.numpy()) for name in model.players}
    assert iterations == {"generator": 2, "critic": 4}


def test_wgan_clips_the_critic_after_every_update():
    points, _ = eight_gaussians(64)
    model = toy_gan("wgan")
    model.compile(optimizers={"generator": keras.optimizers.RMSprop(1e-2), "critic": keras.optimizers.RMSprop(1e-2)},
                  n_critic=2)
    assert max(np.abs(w).max() for w in copies(model.critic.trainable_weights)) > 0.1  # glorot init is wider
    model.fit(points, batch_size=32, epochs=1, verbose=0)
    largest = [np.abs(w).max() for w in copies(model.critic.trainable_weights)]
    assert max(largest) <= 0.01 + 1e-7
    assert max(largest) > 0.009  # the clip value is reached: weights are clipped, not shrunk


def test_began_k_is_a_model_variable_carried_across_steps():
    points, _ = eight_gaussians(32)
    # gamma = 10 makes gamma L(x) > L(G(z)) at the start, so k grows; lambda_k = 0.05 makes it visible.
    model = toy_gan("began", gamma=10.0, lambda_k=0.05)
    model.compile(n_critic=1)
    assert any(v is model.k for v in model.non_trainable_variables)
    assert not any(v is model.k for v in model.trainable_variables)
    k = 0.0
    for _ in range(3):
        logs = model.train_on_batch(points, return_dict=True)  # trackers restart each call: logs are this step's
        expected = np.clip(k + 0.05 * (10.0 * logs["real_reconstruction"] - logs["generator_loss"]), 0.0, 1.0)
        assert float(logs["k"]) == pytest.approx(expected, rel=1e-5)
        assert float(model.k.numpy()) == pytest.approx(float(logs["k"]), rel=1e-6)
        assert float(logs["m_global"]) == pytest.approx(
            logs["real_reconstruction"] + abs(10.0 * logs["real_reconstruction"] - logs["generator_loss"]), rel=1e-5)
        k = float(logs["k"])
    assert k > 0.0


# Each loss trains on every backend above; the image networks' cases, one backend each.
@pytest.mark.parametrize("loss, channels, normalization", spread([
    ("ns", 1, "batch"),
    ("wgan_gp", 3, "layer"),
    ("began", 1, None),
]))
def test_dcgan_networks_train_on_images(loss, channels, normalization):
    images = np.random.default_rng(0).uniform(size=(16, 28, 28, channels)).astype("float32")
    model = image_gan(loss, channels, normalization)
    model.compile(n_critic=1)
    generator_before = copies(model.generator.trainable_weights)
    critic_before = copies(model.critic.trainable_weights)
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    assert moved(generator_before, model.generator.trainable_weights) > 1e-6
    assert moved(critic_before, model.critic.trainable_weights) > 1e-6


@pytest.mark.parametrize("loss", ["wgan_gp", "dragan"])
def test_a_penalised_loss_refuses_a_batchnorm_critic(loss):
    with pytest.raises(ValueError, match="must not use BatchNormalization"):
        GAN(dcgan_generator(8, width=4), dcgan_critic(width=4, normalization="batch"), latent_dim=8, loss=loss)
    # BatchNorm inside a sub-model of the critic is found too.
    nested = keras.Sequential([keras.Input((28, 28, 1)), dcgan_critic(width=4, normalization="batch")])
    with pytest.raises(ValueError, match="must not use BatchNormalization"):
        GAN(dcgan_generator(8, width=4), nested, latent_dim=8, loss=loss)
    GAN(dcgan_generator(8, width=4), dcgan_critic(width=4, normalization="layer"), latent_dim=8, loss=loss)


def test_unplayable_networks_get_clear_errors():
    generator = dcgan_generator(8, width=4)
    with pytest.raises(ValueError, match="loss must be one of"):
        GAN(generator, dcgan_critic(width=4), latent_dim=8, loss="hinge")
    with pytest.raises(ValueError, match="autoencoder critic"):
        GAN(generator, dcgan_critic(width=4), latent_dim=8, loss="began")
    with pytest.raises(ValueError, match="one score per example"):
        GAN(generator, began_autoencoder(width=4, code_dim=8), latent_dim=8, loss="ns")
    with pytest.raises(ValueError, match="the generator makes"):
        GAN(generator, dcgan_critic(channels=3, width=4), latent_dim=8)
    with pytest.raises(ValueError, match="latent_dim=4"):
        GAN(generator, dcgan_critic(width=4), latent_dim=4)
    with pytest.raises(ValueError, match="normalization"):
        dcgan_critic(normalization="instance")


def test_critic_depth_adds_stride_2_convolutions_and_keeps_the_two_convolution_names():
    two = dcgan_critic(width=4, normalization="batch")
    assert [layer.name for layer in two.layers if layer.weights] == ["conv_0", "conv_1", "norm", "score"]
    three = dcgan_critic(width=4, normalization="batch", depth=3)
    assert [layer.name for layer in three.layers if layer.weights] == [
        "conv_0", "conv_1", "norm", "conv_2", "norm_2", "score"]
    assert three.get_layer("conv_2").output.shape[1:] == (4, 4, 16)
    assert three(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 1)
    for bad in (0, 5, 2.0, True):
        with pytest.raises(ValueError, match="depth must be an integer from 1 to 4"):
            dcgan_critic(depth=bad)


def test_dcgan_mnist_entry_is_the_wider_gan_with_a_three_convolution_critic():
    from zoo import registry

    model = registry.get("dcgan_mnist").build()
    assert model.gan_loss == "ns" and model.latent_dim == 64
    assert model.critic.get_layer("conv_2").filters == 256
    assert model.generator.get_layer("deconv").filters == 64
    assert model.generator.get_layer("deconv_2").filters == 32
    assert model.generator.get_layer("image").kernel.shape == (3, 3, 32, 1)
    assert model.sample(2, seed=0).shape == (2, 28, 28, 1)


def test_the_conv_head_adds_a_full_resolution_layer_and_keeps_the_deconv_names():
    plain = dcgan_generator(8, width=8)
    headed = dcgan_generator(8, width=8, head="conv", output="linear", normalization=None)
    assert [layer.name for layer in plain.layers if layer.weights] == [
        "project", "project_norm", "deconv", "deconv_norm", "image"]  # older checkpoints still load
    assert [layer.name for layer in headed.layers if layer.weights] == ["project", "deconv", "deconv_2", "image"]
    assert headed.get_layer("deconv_2").output.shape == (None, 28, 28, 4)
    assert plain(np.zeros((2, 8))).shape == headed(np.zeros((2, 8))).shape == (2, 28, 28, 1)
    for bad in ({"head": "dense"}, {"head": "conv", "width": 1}):
        with pytest.raises(ValueError, match="head"):
            dcgan_generator(8, **{"width": 8, **bad})


@pytest.mark.parametrize("loss", ["wgan", "began"])
def test_keras_file_round_trip(loss, tmp_path):
    points, _ = eight_gaussians(32)
    model = toy_gan(loss, gamma=0.7, clip_value=0.02)
    model.compile(n_critic=2)
    model.fit(points, batch_size=32, epochs=1, verbose=0)
    path = tmp_path / f"{loss}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)

    assert type(loaded) is GAN
    assert json.dumps(loaded.get_config(), sort_keys=True) == json.dumps(model.get_config(), sort_keys=True)
    assert (loaded.gan_loss, loaded.gamma, loaded.clip_value, loaded.n_critic) == (loss, 0.7, 0.02, 2)
    assert type(loaded.optimizer["critic"]) is type(model.optimizer["critic"])
    for a, b in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    if loss == "began":
        assert float(loaded.k.numpy()) == float(model.k.numpy())
    z = np.random.default_rng(0).standard_normal((4, 2))
    np.testing.assert_allclose(loaded.generate(z), model.generate(z), atol=1e-6)
    loaded.fit(points, batch_size=32, epochs=1, verbose=0)  # resumes


def test_wgangp_keeps_its_constructor_and_config():
    model = WGANGP(mlp(2, 2, hidden=(8,), name="generator"), mlp(2, 1, hidden=(8,), name="critic"),
                   latent_dim=2, gp_weight=5.0)
    config = model.get_config()
    assert {"generator", "critic", "latent_dim", "gp_weight", "seed"} <= set(config)
    assert not {"loss", "penalty_weight", "clip_value", "gamma", "lambda_k"} & set(config)
    rebuilt = WGANGP.from_config(config)
    assert (rebuilt.gan_loss, rebuilt.penalty_weight) == ("wgan_gp", 5.0)


def test_sample_gives_images_in_the_unit_interval():
    model = image_gan("ns", channels=3)
    images = model.sample(5, seed=1)
    assert images.shape == (5, 28, 28, 3)
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, model.sample(5, seed=1))
    assert np.abs(images - model.sample(5, seed=2)).max() > 0


def test_linear_generator_without_batchnorm_is_clipped_to_the_unit_interval():
    """BEGAN's generator (normalization=None, output="linear"): raw outputs leave [0, 1], samples do not."""
    keras.utils.set_random_seed(0)
    generator = dcgan_generator(8, width=4, normalization=None, output="linear")
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in generator.layers)
    weights = generator.get_layer("image").get_weights()
    generator.get_layer("image").set_weights([w * 50.0 for w in weights])  # push raw outputs far past [0, 1]
    model = GAN(generator, began_autoencoder(width=4, code_dim=8), latent_dim=8, loss="began")
    z = np.random.default_rng(0).standard_normal((16, 8)).astype("float32")
    raw = keras.ops.convert_to_numpy(generator(z))
    assert raw.min() < 0.0 and raw.max() > 1.0
    np.testing.assert_allclose(model.generate(z), np.clip(raw, 0.0, 1.0), atol=1e-5)
    ring = toy_gan("ns")  # 2-D data are not images: never clipped
    assert np.abs(ring.generate(np.full((64, 2), 30.0, "float32"))).max() > 1.0
    with pytest.raises(ValueError, match="normalization must be 'batch' or None"):
        dcgan_generator(8, normalization="layer")
    with pytest.raises(ValueError, match="output must be 'sigmoid' or 'linear'"):
        dcgan_generator(8, output="tanh")


def test_interpolate_walks_from_z0_to_z1():
    model = image_gan("ns")
    rng = np.random.default_rng(0)
    z0, z1 = rng.standard_normal((2, 8)), rng.standard_normal((2, 8))
    grid = model.interpolate(z0, z1, steps=5)
    assert grid.shape == (2, 5, 28, 28, 1)
    np.testing.assert_allclose(grid[:, 0], model.generate(z0), atol=1e-6)
    np.testing.assert_allclose(grid[:, -1], model.generate(z1), atol=1e-6)
    np.testing.assert_allclose(grid[:, 2], model.generate((z0 + z1) / 2), atol=1e-5)
    assert model.interpolate(z0[0], z1[0], steps=3).shape == (3, 28, 28, 1)
    with pytest.raises(InputError, match="one shape"):
        model.interpolate(z0, z1[0])


def test_bad_inputs_are_named():
    with pytest.raises(InputError, match="channels"):
        image_gan("ns").fit(np.zeros((4, 28, 28, 3), "float32"), verbose=0)
    with pytest.raises(InputError, match=r"\(n, 2\)"):
        toy_gan("ns").check_inputs(np.zeros((4, 3)))
    with pytest.raises(InputError, match="codes of shape"):
        toy_gan("ns").generate(np.zeros((4, 3)))


@pytest.mark.parametrize("loss", spread(["ns", "wgan_gp", "began"]))  # one backend each
def test_evaluate_logs_both_players_and_changes_nothing(loss):
    model = image_gan(loss, normalization=None if loss in ("wgan_gp", "began") else "batch")
    model.compile()
    images = np.random.default_rng(0).uniform(size=(32, 28, 28, 1)).astype("float32")
    before = copies(model.weights)
    logs = model.evaluate(images, batch_size=16, verbose=0, return_dict=True)
    assert set(TRACKED[loss]) <= set(logs) and all(np.isfinite(v) for v in logs.values())
    assert moved(before, model.weights) == 0.0  # no player, BatchNorm statistic or BEGAN k moved
    history = model.fit(images, batch_size=16, epochs=1, verbose=0, validation_data=(images,))
    assert "val_generator_loss" in history.history
    assert model.selection_metric == ("m_global" if loss == "began" else None)


@pytest.mark.parametrize("loss, generator_lr, critic_lr, n_critic", [
    ("wgan_gp", 1e-4, 1e-4, 5), ("ns", 2e-4, 2e-4, 1), ("began", 2e-4, 5e-4, 1)])
def test_compile_without_arguments_trains_as_the_recipe_does(loss, generator_lr, critic_lr, n_critic):
    model = image_gan(loss)
    model.compile()
    members = model.optimizer.members
    rates = {name: float(keras.ops.convert_to_numpy(opt.learning_rate)) for name, opt in members.items()}
    assert rates == pytest.approx({"generator": generator_lr, "critic": critic_lr})
    assert model.optimizer["generator"] is not model.optimizer["critic"] and model.n_critic == n_critic


def test_packing_puts_consecutive_samples_on_the_channel_axis():
    model = image_gan("ns", channels=3, packing=2)
    x = np.arange(5 * 28 * 28 * 3, dtype="float32").reshape(5, 28, 28, 3)
    packed = keras.ops.convert_to_numpy(model.pack(keras.ops.convert_to_tensor(x)))
    assert packed.shape == (2, 28, 28, 6)  # the fifth sample makes no pack and is left out
    for row in range(2):
        np.testing.assert_array_equal(packed[row, ..., :3], x[2 * row])
        np.testing.assert_array_equal(packed[row, ..., 3:], x[2 * row + 1])


@pytest.mark.parametrize("loss", spread(["ns", "wgan_gp", "dragan"], start=1))  # one backend each
def test_a_packed_critic_trains_both_players_and_round_trips(loss, tmp_path):
    images = np.random.default_rng(0).uniform(size=(16, 28, 28, 1)).astype("float32")
    model = image_gan(loss, packing=2)
    model.compile(n_critic=1)
    generator_before = copies(model.generator.trainable_weights)
    critic_before = copies(model.critic.trainable_weights)
    history = model.fit(images, batch_size=8, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert moved(generator_before, model.generator.trainable_weights) > 1e-6
    assert moved(critic_before, model.critic.trainable_weights) > 1e-6
    path = tmp_path / "packed.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.packing == 2
    z = np.random.default_rng(0).standard_normal((4, 8))
    np.testing.assert_allclose(loaded.generate(z), model.generate(z), atol=1e-6)


def test_packing_gets_clear_errors():
    generator = dcgan_generator(8, width=4)
    with pytest.raises(ValueError, match="packing must be an integer >= 1"):
        GAN(generator, dcgan_critic(width=4), latent_dim=8, packing=0)
    with pytest.raises(ValueError, match="BEGAN"):
        GAN(generator, began_autoencoder(width=4, code_dim=8), latent_dim=8, loss="began", packing=2)
    with pytest.raises(ValueError, match=r"expected \(None, 28, 28, 2\) \(packing=2"):
        GAN(generator, dcgan_critic(width=4), latent_dim=8, packing=2)


def test_standing_statistics_are_the_averages_of_training_mode_batch_statistics():
    model = image_gan("ns")
    model.generator(np.ones((2, 8), "float32"), training=True)  # moving averages move off their start
    generator, norms = model.generator, model.generator_batchnorms
    assert [n.name for n in norms] == ["project_norm", "deconv_norm"]
    # The reference: each BatchNorm's input in training mode, batch by batch, from the same codes.
    probe = keras.Model(generator.inputs, [n.input for n in norms])
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((16, 8)).astype("float32") for _ in range(5)]
    inputs = [[keras.ops.convert_to_numpy(t) for t in probe(z, training=True)] for z in batches]
    expected_mean = [np.mean([x[i].reshape(-1, x[i].shape[-1]).mean(0) for x in inputs], axis=0) for i in range(2)]
    expected_var = [np.mean([x[i].reshape(-1, x[i].shape[-1]).var(0) for x in inputs], axis=0) for i in range(2)]
    momenta = [n.momentum for n in norms]
    trainable = copies(generator.trainable_weights)

    assert model.set_standing_statistics(batches=5, batch_size=16, seed=3) == 2
    for norm, mean, var in zip(norms, expected_mean, expected_var, strict=True):
        np.testing.assert_allclose(norm.moving_mean.numpy(), mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(norm.moving_variance.numpy(), var, rtol=1e-4, atol=1e-5)
    assert [n.momentum for n in norms] == momenta  # restored
    assert moved(trainable, generator.trainable_weights) == 0.0  # only the statistics change
    with pytest.raises(ValueError, match="batches must be an integer >= 1"):
        model.set_standing_statistics(batches=0)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 2"):
        model.set_standing_statistics(batch_size=1)


def test_standing_statistics_skip_frozen_batchnorms_and_undo_a_failed_run():
    model = image_gan("ns")
    model.generator(np.ones((2, 8), "float32"), training=True)
    frozen = model.generator.get_layer("deconv_norm")
    frozen.trainable = False  # normalizes with its moving averages in training too: nothing to set
    variables = [v for name in ("project_norm", "deconv_norm") for v in (
        model.generator.get_layer(name).moving_mean, model.generator.get_layer(name).moving_variance)]
    statistics = copies(variables)
    assert model.generator_batchnorms == [model.generator.get_layer("project_norm")]
    assert model.set_standing_statistics(batches=3, batch_size=4) == 1
    after = copies(variables)
    kept = {id(v) for v in (frozen.moving_mean, frozen.moving_variance)}
    for variable, before, now in zip(variables, statistics, after, strict=True):
        assert np.array_equal(before, now) == (id(variable) in kept), variable.path

    calls = []
    real_call = model.generator.call

    def fail_on_third_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("interrupted")
        return real_call(*args, **kwargs)

    model.generator.call = fail_on_third_batch
    momentum = model.generator.get_layer("project_norm").momentum
    with pytest.raises(RuntimeError, match="interrupted"):
        model.set_standing_statistics(batches=5, batch_size=4)
    model.generator.call = real_call
    for before, variable in zip(after, variables, strict=True):
        np.testing.assert_array_equal(variable.numpy(), before)  # as they were before the failed run
    assert model.generator.get_layer("project_norm").momentum == momentum
