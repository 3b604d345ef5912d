"""CycleGAN on this backend: networks, cycle losses, the image pool, one step of all four players, save/load, USPS."""

import gzip
import json
import os

import keras
import numpy as np
import pytest

import zoo
from zoo.checkpoints import save_checkpoint
from zoo.data.usps import load_usps, to_mnist_layout
from zoo.errors import DataNotFoundError, InputError
from zoo.losses import cycle_consistency_loss, identity_loss
from zoo.models.cyclegan import (
    CycleGAN,
    ImagePool,
    LinearDecay,
    cyclegan_mnist_usps,
    patch_discriminator,
    resnet_generator,
    unpaired,
)

from conftest import max_abs_diff, shared_data_dir


def tiny_cyclegan(channels=1, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    return CycleGAN(resnet_generator(channels, width=4, n_blocks=1, name="generator_ab"),
                    resnet_generator(channels, width=4, n_blocks=1, name="generator_ba"),
                    patch_discriminator(channels, width=4, name="discriminator_a"),
                    patch_discriminator(channels, width=4, name="discriminator_b"), seed=seed, **kwargs)


def domains(n_a=24, n_b=16, channels=1):
    rng = np.random.default_rng(0)
    a = rng.uniform(size=(n_a, 28, 28, channels)).astype("float32")
    b = (rng.uniform(size=(n_b, 28, 28, channels)) ** 3).astype("float32")  # darker: another domain
    return a, b


def copies(weights):
    return [w.numpy().copy() for w in weights]


def moved(before, weights):
    return max(float(np.abs(b - w.numpy()).max()) for b, w in zip(before, weights, strict=True))


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


# Networks and losses --------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_generators_keep_the_shape_and_discriminators_score_7x7_patches(channels):
    generator = resnet_generator(channels, width=4, n_blocks=2)
    discriminator = patch_discriminator(channels, width=4)
    x = np.random.default_rng(0).uniform(size=(3, 28, 28, channels)).astype("float32")
    y = to_numpy(generator(x))
    assert y.shape == (3, 28, 28, channels) and 0.0 <= y.min() and y.max() <= 1.0
    assert to_numpy(discriminator(x)).shape == (3, 7, 7, 1)
    norms = [layer for layer in generator.layers if isinstance(layer, keras.layers.GroupNormalization)]
    assert norms and all(layer.groups == layer.gamma.shape[0] for layer in norms)  # one group per channel


def test_cycle_and_identity_losses_on_hand_computed_values():
    real = np.array([[0.0, 1.0], [1.0, 0.0]], "float32").reshape(1, 2, 2, 1)
    other = np.array([[0.5, 1.0], [0.0, 0.0]], "float32").reshape(1, 2, 2, 1)
    # |0 - 0.5| + |1 - 1| + |1 - 0| + |0 - 0| = 1.5 over 4 values
    assert float(to_numpy(cycle_consistency_loss(real, other))) == pytest.approx(0.375)
    assert float(to_numpy(identity_loss(real, other))) == pytest.approx(0.375)
    assert float(to_numpy(cycle_consistency_loss(real, real))) == 0.0


def test_the_generator_objective_adds_the_terms_with_the_paper_weights():
    model = tiny_cyclegan()
    a, b = domains(4, 4)
    loss, terms = model.generator_loss(keras.ops.convert_to_tensor(a), keras.ops.convert_to_tensor(b))
    values = {k: float(to_numpy(v)) for k, v in terms.items() if k not in ("fake_a", "fake_b")}
    expected = values["adversarial_loss"] + 10.0 * values["cycle_loss"] + 0.5 * 10.0 * values["identity_loss"]
    assert float(to_numpy(loss)) == pytest.approx(expected, rel=1e-5)
    # The cycle term is the round trip of `reconstruct`, both ways.
    cycle = np.abs(model.reconstruct(a, "a2b") - a).mean() + np.abs(model.reconstruct(b, "b2a") - b).mean()
    assert values["cycle_loss"] == pytest.approx(cycle, rel=1e-4)
    identity = np.abs(model.translate(b, "a2b") - b).mean() + np.abs(model.translate(a, "b2a") - a).mean()
    assert values["identity_loss"] == pytest.approx(identity, rel=1e-4)
    np.testing.assert_allclose(to_numpy(terms["fake_b"]), model.translate(a, "a2b"), atol=1e-5)


def test_linear_decay_is_constant_then_falls_linearly_to_zero():
    schedule = LinearDecay(2e-4, constant_steps=10, decay_steps=20)
    values = [float(to_numpy(schedule(step))) for step in (0, 10, 20, 30, 40)]
    np.testing.assert_allclose(values, [2e-4, 2e-4, 1e-4, 0.0, 0.0], atol=1e-10)
    rebuilt = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert isinstance(rebuilt, LinearDecay) and rebuilt.get_config() == schedule.get_config()
    with pytest.raises(ValueError, match="decay_steps"):
        LinearDecay(1e-3, 5, 0)


# The image pool ----------------------------------------------------------------------------------------


def labelled(ids):
    """1x1 images whose value is their id, so pool contents can be followed."""
    return np.asarray(ids, "float32").reshape(-1, 1, 1, 1)


def ids(x):
    return to_numpy(x).reshape(-1).round().astype(int).tolist()


def test_the_pool_fills_first_passing_images_through():
    pool = ImagePool(pool_size=4, image_shape=(1, 1, 1), seed=0)
    assert ids(pool(labelled([1, 2, 3]))) == [1, 2, 3]
    assert int(to_numpy(pool.count)) == 3 and ids(pool.images)[:3] == [1, 2, 3]
    # One slot left: the first image of the batch fills it, the others pass through unstored.
    assert ids(pool(labelled([4, 5, 6]))) == [4, 5, 6]
    assert int(to_numpy(pool.count)) == 4 and sorted(ids(pool.images)) == [1, 2, 3, 4]


@pytest.mark.parametrize("batch", [2, 6])  # 6 > pool_size: the images past the pool's size pass through
def test_a_full_pool_swaps_half_the_images_for_stored_ones(batch):
    pool = ImagePool(pool_size=4, image_shape=(1, 1, 1), seed=1)
    pool(labelled([1, 2, 3, 4]))
    swapped, next_id = 0, 100
    for _ in range(60):
        before, inputs = ids(pool.images), list(range(next_id, next_id + batch))
        next_id += batch
        outputs = ids(pool(labelled(inputs)))
        after = ids(pool.images)
        # Nothing is lost or made up: pool + inputs before == pool + outputs after.
        assert sorted(before + inputs) == sorted(after + outputs)
        for i, (given, out) in enumerate(zip(inputs, outputs, strict=True)):
            if out == given:
                assert given not in after  # passed through, not stored
            else:
                assert out in before and given in after and i < 4  # swapped with a stored image
                swapped += 1
    decisions = 60 * min(batch, 4)
    assert 0.35 * decisions < swapped < 0.65 * decisions  # probability 1/2


def test_the_pool_is_part_of_the_model_state_and_not_trained():
    model = tiny_cyclegan(pool_size=5)
    non_trainable = {id(v) for v in model.non_trainable_variables}
    for pool in (model.pool_a, model.pool_b):
        assert tuple(pool.images.shape) == (5, 28, 28, 1)
        assert id(pool.images) in non_trainable and id(pool.count) in non_trainable
    assert not {id(v) for v in model.trainable_variables} & {id(model.pool_a.images), id(model.pool_b.images)}


# Training ------------------------------------------------------------------------------------------------


def test_one_step_updates_all_four_networks_and_fills_both_pools():
    a, b = domains()
    model = tiny_cyclegan(pool_size=50)
    model.compile(total_steps=10)
    before = {name: copies(getattr(model, name).trainable_weights) for name in model.players}
    history = model.fit(unpaired(a, b, batch_size=8, steps=1), epochs=1, verbose=0)

    assert set(history.history) == {"generator_loss", "adversarial_loss", "cycle_loss", "identity_loss",
                                    "discriminator_a_loss", "discriminator_b_loss"}
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    for name in model.players:
        assert moved(before[name], getattr(model, name).trainable_weights) > 1e-6, name
        assert int(model.optimizer[name].iterations.numpy()) == 1, name
    for pool in (model.pool_a, model.pool_b):
        assert int(to_numpy(pool.count)) == 8
        assert np.abs(to_numpy(pool.images)[:8]).max() > 0 and np.abs(to_numpy(pool.images)[8:]).max() == 0
    # Pool a holds F(b) fakes: images the generator made, in [0, 1], not copies of real data.
    assert to_numpy(model.pool_a.images)[:8].min() >= 0.0


def test_fit_takes_two_arrays_and_refuses_one_domain():
    a, b = domains(16, 16, channels=3)
    model = tiny_cyclegan(channels=3, identity_weight=0.0)
    model.compile()
    history = model.fit(a, b, batch_size=8, epochs=1, verbose=0)
    assert "identity_loss" not in history.history and int(model.optimizer["generator_ba"].iterations.numpy()) == 2
    with pytest.raises(InputError, match="domain B"):
        model.fit(a, b[..., :1], batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="one domain only"):
        model.fit(a, batch_size=8, epochs=1, verbose=0)


def test_unpaired_batches_are_full_and_drawn_independently():
    a, b = domains(40, 12)
    data = unpaired(a, b, batch_size=8, seed=0)
    assert len(data) == 5  # the larger domain once
    seen_b = []
    for i in range(len(data)):
        batch_a, batch_b = data[i]
        assert batch_a.shape == batch_b.shape == (8, 28, 28, 1)
        seen_b.append(batch_b)
    # The smaller domain wraps around: every USPS-side image appears, in a new order each pass.
    flat = np.concatenate(seen_b).reshape(40, -1)
    assert len({row.tobytes() for row in flat}) == 12
    with pytest.raises(InputError, match="b has images of size"):
        unpaired(a, b[:, :14, :14], batch_size=8)


# The numpy API -----------------------------------------------------------------------------------------


def test_translate_any_batch_size_and_clear_errors():
    model = tiny_cyclegan()
    x = np.random.default_rng(0).uniform(size=(7, 28, 28, 1)).astype("float32")
    full = model.translate(x, "a2b")
    assert full.shape == (7, 28, 28, 1)
    # 1e-4: on a GPU, convolutions (TF32) pick kernels by batch size (seen 6.6e-5 on an H200 with torch).
    np.testing.assert_allclose(model.translate(x, "a2b", batch_size=3), full, atol=1e-4)
    np.testing.assert_allclose(model.translate(x[:1], "a2b"), full[:1], atol=1e-4)
    assert model.translate(x[..., 0], "b2a").shape == (7, 28, 28, 1)  # (n, 28, 28) grey images get a channel
    assert np.abs(model.translate(x, "b2a") - full).max() > 0  # two different generators
    assert model.reconstruct(x, "b2a").shape == (7, 28, 28, 1)
    with pytest.raises(InputError, match=r"size \(32, 32\); expected \(28, 28\)"):
        model.translate(np.zeros((2, 32, 32, 1), "float32"))
    with pytest.raises(InputError, match="3 channels"):
        model.translate(np.zeros((2, 28, 28, 3), "float32"))
    with pytest.raises(InputError, match="values up to 255"):
        model.translate(np.full((2, 28, 28, 1), 255.0, "float32"))
    with pytest.raises(ValueError, match="direction must be one of"):
        model.translate(x, "mnist2usps")
    with pytest.raises(NotImplementedError, match="translate"):
        model.sample(4)


def test_mismatched_networks_are_refused():
    generator = resnet_generator(1, width=4, n_blocks=1)
    with pytest.raises(ValueError, match="discriminator_b takes inputs"):
        CycleGAN(generator, resnet_generator(1, width=4, n_blocks=1), patch_discriminator(1, width=4),
                 patch_discriminator(3, width=4))
    with pytest.raises(ValueError, match="both generators"):
        CycleGAN(generator, resnet_generator(3, width=4, n_blocks=1), patch_discriminator(1, width=4),
                 patch_discriminator(1, width=4))


def test_checkpoint_round_trip_on_this_backend(tmp_path):
    a, b = domains()
    model = tiny_cyclegan(pool_size=6)
    model.pool_b.images.assign(b[:6])  # as if trained: pools are saved too
    model.pool_b.count.assign(6)
    path = save_checkpoint(model, tmp_path / "tiny_cyclegan",
                           metadata={"name": "tiny_cyclegan", "description": "A tiny CycleGAN."})
    loaded = zoo.load(path)

    assert type(loaded) is CycleGAN
    assert json.dumps(loaded.get_config(), sort_keys=True) == json.dumps(model.get_config(), sort_keys=True)
    assert max_abs_diff(loaded.get_weights(), model.get_weights()) == 0.0
    np.testing.assert_array_equal(loaded.pool_b.images.numpy(), b[:6])
    assert int(loaded.pool_b.count.numpy()) == 6
    x = a[:5]
    for direction in ("a2b", "b2a"):
        np.testing.assert_allclose(loaded.translate(x, direction), model.translate(x, direction), atol=1e-6)
    loaded.fit(unpaired(a, b, batch_size=4, steps=1), epochs=1, verbose=0)  # comes back ready to fine-tune


def test_keras_file_keeps_the_optimizers_and_their_schedule(tmp_path):
    a, _ = domains()
    model = tiny_cyclegan()
    model.compile(total_steps=10, learning_rate=1e-3)
    model.save(tmp_path / "cyclegan.keras")
    loaded = keras.saving.load_model(tmp_path / "cyclegan.keras")
    schedule = loaded.optimizer["discriminator_b"]._learning_rate
    assert isinstance(schedule, LinearDecay)
    assert (schedule.learning_rate, schedule.constant_steps, schedule.decay_steps) == (1e-3, 5, 5)
    assert set(loaded.optimizer.members) == set(CycleGAN.players)
    np.testing.assert_allclose(loaded.translate(a[:3], "b2a"), model.translate(a[:3], "b2a"), atol=1e-6)


def test_the_recipe_architecture_builds():
    model = cyclegan_mnist_usps()
    assert model.image_shape == (28, 28, 1) and model.pool_size == 50 and model.cycle_weight == 10.0
    assert model.generator_ab.count_params() < 100_000  # CPU-sized


# USPS ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def usps_dir():
    return shared_data_dir(os.path.join("usps", "zip.test.gz"), "USPS")


def test_usps_loads_in_mnist_layout(usps_dir):
    x, y = load_usps("test", data_dir=usps_dir)
    assert x.shape == (2007, 28, 28, 1) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [359, 264, 198, 166, 200, 160, 170, 147, 166, 177]  # zip.info.txt
    assert x.min() == 0.0 and x.max() == 1.0
    assert np.abs(x[:, :4]).max() == 0 and np.abs(x[:, -4:]).max() == 0  # a 20x20 box, 4 pixels of padding
    assert np.abs(x[:, :, :4]).max() == 0 and np.abs(x[:, :, -4:]).max() == 0
    assert x[:, 4:24, 4:24].max(axis=(1, 2, 3)).min() > 0.5  # every digit has ink inside the box
    full, _ = load_usps("test", box=28, data_dir=usps_dir)
    assert np.abs(full[:, :4]).max() > 0


def test_to_mnist_layout_maps_minus_one_to_zero_and_keeps_the_picture():
    grey = -np.ones((1, 16, 16), "float32")
    grey[0, 4:12, 6:10] = 1.0  # a bar
    image = to_mnist_layout(grey)[0, ..., 0]
    assert image.shape == (28, 28) and image[:, :4].max() == 0.0
    assert image[14, 14] == pytest.approx(1.0) and image[5, 14] == 0.0  # the bar's middle, above it


def test_usps_files_are_checked(usps_dir, tmp_path):
    (tmp_path / "usps").mkdir()
    with gzip.open(os.path.join(usps_dir, "usps", "zip.test.gz"), "rb") as f:
        rows = f.read().splitlines()
    with gzip.open(tmp_path / "usps" / "zip.test.gz", "wb") as f:
        f.write(b"\n".join(rows[:10]))  # truncated: a valid file, the wrong checksum
    with pytest.raises(DataNotFoundError, match="checksum"):
        load_usps("test", data_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match="usps/zip.train.gz"):
        load_usps("train", data_dir=tmp_path)
    with pytest.raises(InputError, match="split"):
        load_usps("validation", data_dir=usps_dir)
    with pytest.raises(InputError, match="box"):
        load_usps("test", box=21, data_dir=usps_dir)
