"""The adversarial base: a tiny WGAN-GP on 8 Gaussians trains both players on this backend."""

import keras
import numpy as np
import pytest

from zoo.data.toy import eight_gaussians
from zoo.models.gan import WGANGP, mlp
from zoo.trainers import OptimizerGroup


def adam():
    return keras.optimizers.Adam(1e-3, beta_1=0.5, beta_2=0.9)


def make_wgan(n_critic=5, seed=1):
    keras.utils.set_random_seed(seed)
    model = WGANGP(mlp(2, 2, hidden=(32, 32), name="generator"), mlp(2, 1, hidden=(32, 32), name="critic"),
                   latent_dim=2, seed=seed)
    model.compile(optimizers={"generator": adam(), "critic": adam()}, n_critic=n_critic)
    return model


def snapshot(model):
    return [w.numpy().copy() for w in model.weights]


def test_wgan_gp_trains_both_players_with_a_penalty():
    points, _ = eight_gaussians(256)
    model = make_wgan()
    generator_before = [w.numpy().copy() for w in model.generator.weights]
    critic_before = [w.numpy().copy() for w in model.critic.weights]
    history = model.fit(points, batch_size=64, epochs=2, verbose=0)

    def moved(before, weights):
        return max(float(np.abs(b - w.numpy()).max()) for b, w in zip(before, weights))

    assert moved(generator_before, model.generator.weights) > 1e-4
    assert moved(critic_before, model.critic.weights) > 1e-4
    assert all(p > 0 for p in history.history["gradient_penalty"])
    assert set(history.history) == {"critic_loss", "gradient_penalty", "generator_loss"}
    # n_critic critic updates per generator update, each counted by its own optimizer.
    assert int(model.optimizer["critic"].iterations.numpy()) == 5 * int(model.optimizer["generator"].iterations.numpy())
    assert int(model.optimizer["generator"].iterations.numpy()) == 8


def test_optimizer_group_state_travels_with_the_model(tmp_path):
    points, _ = eight_gaussians(128)
    model = make_wgan(n_critic=2)
    model.fit(points, batch_size=64, epochs=1, verbose=0)
    group = model.optimizer
    assert isinstance(group, OptimizerGroup)
    member_variables = sum(len(o.variables) for o in group.optimizers)
    assert len(group.variables) > member_variables > 0

    path = tmp_path / "wgan.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.n_critic == 2
    for name in ("generator", "critic"):
        for a, b in zip(model.optimizer[name].variables, loaded.optimizer[name].variables, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy())
    z = np.random.default_rng(0).standard_normal((5, 2)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(z)), keras.ops.convert_to_numpy(loaded(z)), atol=1e-6)
    loaded.fit(points, batch_size=64, epochs=1, verbose=0)  # resumes training


def test_compile_errors_name_the_players():
    model = WGANGP(mlp(2, 2, name="generator"), mlp(2, 1, name="critic"), latent_dim=2)
    with pytest.raises(ValueError, match="one optimizer per player"):
        model.compile(optimizers={"generator": adam()})
    with pytest.raises(ValueError, match="n_critic"):
        model.compile(optimizers={"generator": adam(), "critic": adam()}, n_critic=0)


def test_optimizer_group_refuses_ambiguous_use():
    model = make_wgan()
    with pytest.raises(ValueError, match="through one member"):
        model.optimizer.apply([], [])
    with pytest.raises(AttributeError, match="one learning rate per member"):
        model.optimizer.learning_rate  # noqa: B018
    with pytest.raises(ValueError, match="built by its model's compile"):
        OptimizerGroup({"a": adam()}).build([])


def test_sample_is_deterministic_for_a_seed():
    model = make_wgan()
    a, b = model.sample(6, seed=3), model.sample(6, seed=3)
    assert a.shape == (6, 2)
    np.testing.assert_array_equal(a, b)
