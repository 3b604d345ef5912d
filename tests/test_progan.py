"""Progressive growing of GANs (Karras et al. 2018) on this backend: the layers against hand computations, the fade-in
between levels in both networks and in the real images, a step that trains only the blocks in use, growth by the
schedule across two fits, the stage through a checkpoint, the schedule's mapping and its errors, sampling."""

import json
import math

import keras
import numpy as np
import pytest

import zoo
from zoo.checkpoints import save_checkpoint
from zoo.errors import InputError
from zoo.models.progan import (
    PAPER_IMAGES_PER_PHASE,
    EqualizedConv2D,
    EqualizedDense,
    FadeIn,
    Grow,
    GrowthSchedule,
    MinibatchStdDev,
    PixelNormalization,
    ProGAN,
    channels_at,
)


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def tiny(resolution=8, channels=3, seed=0, **kwargs):
    """8, 4 and 2 feature maps at 4x4, 8x8 and 16x16 (fmap_base 16, fmap_max 8), latent_dim 8."""
    keras.utils.set_random_seed(seed)
    return ProGAN(resolution, channels, latent_dim=8, fmap_base=16, fmap_max=8, seed=seed, **kwargs)


def images(n, size=8, channels=3, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, size, size, channels)).astype("float32")


def codes(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 8)).astype("float32")


def full(x, size):
    """Nearest upsampling of NHWC numpy images to `size`."""
    factor = size // x.shape[1]
    return np.repeat(np.repeat(x, factor, axis=1), factor, axis=2)


def pool(x, size):
    """Average pooling of NHWC numpy images down to `size`."""
    n, h, w, c = x.shape
    f = h // size
    return x.reshape(n, size, f, size, f, c).mean(axis=(2, 4))


def copies(layer):
    return [to_numpy(w).copy() for w in layer.weights]


def moved(before, layer):
    return max(float(np.abs(b - to_numpy(w)).max()) for b, w in zip(before, layer.weights, strict=True))


# The layers --------------------------------------------------------------------------------------------------


def test_equalized_layers_draw_unit_normal_weights_and_scale_them_by_hes_constant():
    keras.utils.set_random_seed(0)
    conv = EqualizedConv2D(4, 3)
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 2)).astype("float32")
    conv.build(x.shape)
    assert conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(3 * 3 * 2))
    conv.bias.assign(np.float32([0.1, 0.2, 0.3, 0.4]))
    kernel = to_numpy(conv.kernel) * conv.scale
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    expected = np.stack([np.stack([np.einsum("nhwc,hwcf->nf", padded[:, i:i + 3, j:j + 3], kernel)
                                   for j in range(5)], axis=1) for i in range(5)], axis=1) + [0.1, 0.2, 0.3, 0.4]
    np.testing.assert_allclose(to_numpy(conv(x)), expected, rtol=1e-4, atol=1e-5)

    dense = EqualizedDense(3, gain=1.0)
    y = np.random.default_rng(1).standard_normal((4, 2, 2, 5)).astype("float32")  # flattened to 20 inputs
    out = to_numpy(dense(y))
    np.testing.assert_allclose(out, y.reshape(4, 20) @ to_numpy(dense.kernel) / math.sqrt(20), rtol=1e-4, atol=1e-5)

    wide = EqualizedDense(128)
    wide.build((None, 256))
    kernel = to_numpy(wide.kernel)  # N(0, 1) whatever the fan-in: the scale is applied at run time
    assert abs(kernel.mean()) < 0.02 and kernel.std() == pytest.approx(1.0, abs=0.02)
    assert wide.scale == pytest.approx(math.sqrt(2 / 256))
    assert EqualizedConv2D.from_config(conv.get_config()).get_config() == conv.get_config()


def test_pixel_normalization_divides_each_pixel_by_its_root_mean_square():
    x = np.random.default_rng(0).standard_normal((2, 3, 3, 4)).astype("float32")
    out = to_numpy(PixelNormalization()(x))
    np.testing.assert_allclose(out, x / np.sqrt(np.mean(x ** 2, axis=-1, keepdims=True) + 1e-8), rtol=1e-5)
    np.testing.assert_allclose(np.sqrt(np.mean(out ** 2, axis=-1)), 1.0, rtol=1e-5)


def expected_stddev(x, groups):
    """The authors' minibatch_stddev_layer in numpy: example n is in group n mod (N / groups)."""
    m = len(x) // groups
    stats = [np.sqrt(x[k::m].var(axis=0) + 1e-8).mean() for k in range(m)]
    return np.array([stats[n % m] for n in range(len(x))], dtype="float32")


@pytest.mark.parametrize("n, groups", [(8, 4), (4, 4), (6, 6), (2, 2)])  # groups of 4; else the whole batch
def test_minibatch_stddev_appends_each_groups_mean_standard_deviation(n, groups):
    layer = MinibatchStdDev(4)
    x = np.random.default_rng(n).standard_normal((n, 2, 2, 3)).astype("float32")
    out = to_numpy(layer(x))
    assert out.shape == (n, 2, 2, 4)
    np.testing.assert_array_equal(out[..., :3], x)
    expected = expected_stddev(x, groups)
    np.testing.assert_allclose(out[..., 3], np.broadcast_to(expected[:, None, None], (n, 2, 2)), rtol=1e-5)
    if keras.backend.backend() == "tensorflow":  # a traced step whose batch size is unknown (a last, short batch)
        import tensorflow as tf

        traced = tf.function(layer, input_signature=[tf.TensorSpec((None, 2, 2, 3))])
        np.testing.assert_allclose(traced(x).numpy(), out, rtol=1e-5)


def test_fade_in_blends_new_with_old():
    new, old = np.full((1, 2, 2, 1), 3.0, "float32"), np.full((1, 2, 2, 1), -1.0, "float32")
    assert to_numpy(FadeIn()(new, old, weight=0.25)).tolist() == [[[[0.0], [0.0]], [[0.0], [0.0]]]]
    np.testing.assert_array_equal(to_numpy(FadeIn()(new, old, weight=1.0)), new)
    np.testing.assert_array_equal(to_numpy(FadeIn()(new, old, weight=0.0)), old)


# The networks and the stage ------------------------------------------------------------------------------------


def test_feature_maps_follow_the_paper_and_bad_sizes_are_named():
    assert [channels_at(r) for r in (4, 8, 16, 32, 64, 128, 256, 512, 1024)] == [512] * 4 + [256, 128, 64, 32, 16]
    assert channels_at(2) == 512  # the critic's last dense layer and the latent size
    model = tiny(16)
    assert [model.channels_at(r) for r in (4, 8, 16)] == [8, 4, 2] and model.max_level == 2
    assert model.stage == (2, 1.0)  # a new model stands at the full resolution
    for bad in (4, 12, 6, 8.0, True, "32", 0):
        with pytest.raises(ValueError, match=rf"power of two >= 8.*got {bad!r}"):
            ProGAN(bad)
    with pytest.raises(ValueError, match="image_channels must be 1 .* or 3"):
        ProGAN(8, image_channels=2)
    with pytest.raises(ValueError, match="no feature maps at 64x64"):
        ProGAN(64, fmap_base=16, fmap_max=8)


def test_the_generator_fades_the_new_level_in_over_the_upsampled_previous_one():
    model = tiny(8)
    z = codes(4)
    per_level = [to_numpy(o) for o in model.generator.level_outputs(z)]
    assert [o.shape for o in per_level] == [(4, 4, 4, 3), (4, 8, 8, 3)]

    def output(level, alpha):
        model.set_stage(level, alpha)
        return to_numpy(model.generator(z))

    for level in range(2):  # alpha 1: this level's toRGB, upsampled to the full size (8x8 ignored at 4x4)
        np.testing.assert_allclose(output(level, 1.0), full(per_level[level], 8), atol=1e-6)
    np.testing.assert_array_equal(output(1, 0.0), output(0, 1.0))  # alpha 0: the previous level's, exactly
    np.testing.assert_allclose(output(1, 0.25), 0.25 * per_level[1] + 0.75 * full(per_level[0], 8), atol=1e-6)
    np.testing.assert_array_equal(output(0, 0.3), output(0, 1.0))  # nothing fades in at 4x4


def test_the_critic_mirrors_it_and_real_images_are_shown_at_the_stage():
    model = tiny(16)  # three levels: the fade at 16x16 passes the 4x4 / 8x8 one through
    x = images(4, 16) * 2 - 1

    def score(level, alpha, inputs=x):
        model.set_stage(level, alpha)
        return to_numpy(model.critic(inputs))

    for level in (1, 2):
        np.testing.assert_array_equal(score(level, 0.0), score(level - 1, 1.0))
    assert not np.allclose(score(1, 0.5), score(1, 1.0))
    # At 4x4 the critic sees the 4x4 average of each image only: finer detail enters with weight 0.
    np.testing.assert_allclose(score(0, 1.0), score(0, 1.0, full(pool(x, 4), 16)), rtol=1e-5, atol=1e-6)
    assert not np.allclose(score(2, 1.0), score(2, 1.0, full(pool(x, 4), 16)))

    model.set_stage(1, 0.25)  # the authors' process_reals: pooled to 8x8, faded with 4x4, upsampled
    expected = full(0.25 * pool(x, 8) + 0.75 * full(pool(x, 4), 8), 16)
    np.testing.assert_allclose(to_numpy(model.faded_reals(x)), expected, atol=1e-6)
    model.set_stage(2, 1.0)
    np.testing.assert_allclose(to_numpy(model.faded_reals(x)), x, atol=1e-6)


def test_set_stage_refuses_what_the_networks_do_not_have():
    model = tiny(8)
    with pytest.raises(ValueError, match=r"level must be an integer from 0 \(4x4\) to 1 \(8x8\); got 2"):
        model.set_stage(2)
    with pytest.raises(ValueError, match="level must be an integer"):
        model.set_stage(0.5)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        model.set_stage(1, 1.5)
    assert model.stage == (1, 1.0)


def test_compile_and_the_losses_read_like_the_paper():
    model = tiny(8)
    model.compile()
    assert model.n_critic == 1
    for name in model.players:
        config = model.optimizer[name].get_config()
        assert (config["learning_rate"], config["beta_1"], config["beta_2"], config["epsilon"]) == \
            pytest.approx((1e-3, 0.0, 0.99, 1e-8)), name
    real = model.faded_reals(keras.ops.convert_to_tensor(images(4) * 2 - 1))
    z, mix = keras.ops.convert_to_tensor(codes(4)), keras.ops.convert_to_tensor(np.full((4,), 0.5, "float32"))
    loss, terms = model.critic_loss(real, z, mix)
    real_scores = to_numpy(model.critic(real))
    fake_scores = to_numpy(model.critic(model.generator(z)))
    assert float(to_numpy(terms["drift"])) == pytest.approx(np.mean(real_scores ** 2), rel=1e-5)
    expected = fake_scores.mean() - real_scores.mean() + 10 * float(to_numpy(terms["gradient_penalty"])) \
        + 0.001 * np.mean(real_scores ** 2)
    assert float(to_numpy(loss)) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    generator_loss, _ = model.generator_loss(z)
    assert float(to_numpy(generator_loss)) == pytest.approx(-fake_scores.mean(), rel=1e-5, abs=1e-6)


def test_the_average_generator_follows_the_generator_by_ema_beta_and_is_what_samples_come_from():
    model = tiny(8, ema_beta=0.9)
    z = codes(3)
    np.testing.assert_allclose(to_numpy(model.average_generator(z)), to_numpy(model.generator(z)), atol=1e-6)
    before = [to_numpy(w) for w in model.average_generator.weights]
    for weight in model.generator.trainable_weights:
        weight.assign(weight + 1.0)
    model.update_average()  # what each train_step does after the generator's update
    for average, weight, old in zip(model.average_generator.weights, model.generator.weights, before, strict=True):
        expected = 0.9 * old + 0.1 * to_numpy(weight) if weight.trainable else old
        np.testing.assert_allclose(to_numpy(average), expected, rtol=1e-6, atol=1e-6)
    raw = to_numpy(model.average_generator(z))
    np.testing.assert_allclose(model.generate(z), np.clip((raw + 1) / 2, 0, 1), atol=1e-6)
    model.set_stage(1, 0.25)
    assert (int(to_numpy(model.average_generator.level)), float(to_numpy(model.average_generator.alpha))) == (1, 0.25)
    plain = tiny(8, ema_beta=0)
    assert plain.average_generator is None and plain.sampling_generator is plain.generator
    with pytest.raises(ValueError, match="ema_beta must be in"):
        tiny(8, ema_beta=1.0)


# Training, growth and checkpoints ---------------------------------------------------------------------------


def test_steps_train_the_blocks_in_use_grow_by_the_schedule_and_the_stage_survives_a_checkpoint(tmp_path):
    # One test for the steps, the growth and the round trip: under JAX each new model's step is a fresh compilation.
    model = tiny(8)
    model.compile()
    generator, critic = model.generator, model.critic
    low = [generator.project, generator.conv_4, generator.to_rgb[0], critic.from_rgb[0], critic.conv_4, critic.dense,
           critic.score]
    high = [*generator.convs[0], generator.to_rgb[1], *critic.convs[0], critic.from_rgb[1]]
    before = {id(layer): copies(layer) for layer in low + high}
    # 4 images at 4x4, then 8x8 fades in over 8 images: steps of 4 are at (0, 1), (1, 0), (1, 0.5), (1, 1), ...
    schedule = GrowthSchedule(8, stable_images=4, fade_images=8)
    x = images(8)
    history = model.fit(x, batch_size=4, epochs=1, verbose=0, callbacks=[Grow(schedule, 4)])
    assert set(history.history) == {"critic_loss", "gradient_penalty", "drift", "generator_loss"}
    assert all(np.isfinite(v).all() for v in history.history.values())
    assert model.stage == (1, 0.0)
    assert {name: int(to_numpy(model.optimizer[name].iterations)) for name in model.players} == \
        {"generator": 2, "critic": 2}
    for layer in low:
        assert moved(before[id(layer)], layer) > 0, layer.name
    for layer in high:  # at 4x4 and at alpha 0 the 8x8 blocks enter with weight 0: no gradient, no Adam step
        assert moved(before[id(layer)], layer) == 0, layer.name

    # A second fit goes on from the optimizer's step count (as a resumed run does): step 2 is (1, 0.5).
    model.fit(x[:4], batch_size=4, epochs=1, verbose=0, callbacks=[Grow(schedule, 4)])
    assert model.stage == (1, 0.5)
    for layer in high:
        assert moved(before[id(layer)], layer) > 0, layer.name

    path = save_checkpoint(model, tmp_path / "progan_tiny", {"name": "progan_tiny", "description": "A tiny ProGAN."})
    loaded = zoo.load(path)
    assert type(loaded) is ProGAN and loaded.compiled
    assert loaded.stage == (1, 0.5)
    assert json.dumps(loaded.get_config(), sort_keys=True) == json.dumps(model.get_config(), sort_keys=True)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.sample(4, seed=0), model.sample(4, seed=0), atol=1e-6)


def test_grow_refuses_a_schedule_for_another_resolution():
    model = tiny(8)
    model.compile()
    with pytest.raises(ValueError, match="grows to 16x16 but the model's resolution is 8x8"):
        model.fit(images(4), batch_size=4, epochs=1, verbose=0, callbacks=[Grow(GrowthSchedule(16), 4)])
    with pytest.raises(TypeError, match="GrowthSchedule"):
        Grow({"resolution": 8}, 4)
    with pytest.raises(ValueError, match="batch_size"):
        Grow(GrowthSchedule(8), 0)


@pytest.mark.backend_free
def test_the_schedule_maps_steps_to_stages_as_the_paper_grows():
    schedule = GrowthSchedule(32, stable_images=100, fade_images=50)  # levels 0 (4x4) to 3 (32x32)
    stages = {step: schedule.stage(step, 10) for step in (0, 9, 10, 12, 15, 25, 44, 45, 1000)}
    assert stages == {0: (0, 1.0), 9: (0, 1.0), 10: (1, 0.0), 12: (1, 0.4), 15: (1, 1.0), 25: (2, 0.0),
                      44: (3, 0.8), 45: (3, 1.0), 1000: (3, 1.0)}
    assert schedule(12, 10) == (1, 0.4)
    assert schedule.images_to_full_resolution == 450
    assert schedule.steps_to_full_resolution(10) == 45 and schedule.steps_to_full_resolution(16) == 29
    schedule.check_reaches(450)

    paper = GrowthSchedule(1024)  # 800k images stable, 800k fading, from 4x4
    assert paper.stable_images == paper.fade_images == PAPER_IMAGES_PER_PHASE
    assert paper.at_images(800_000) == (1, 0.0) and paper.at_images(1_200_000) == (1, 0.5)
    assert paper.images_to_full_resolution == 8 * 1_600_000
    quick = GrowthSchedule(1024, scale=0.01)
    assert quick.at_images(12_000) == (1, 0.5)
    assert GrowthSchedule(16, stable_images=10, fade_images=10, start_resolution=8).stage(0, 1) == (1, 1.0)
    assert GrowthSchedule(8, stable_images=10, fade_images=0).stage(10, 1) == (1, 1.0)  # no fade: a switch


@pytest.mark.backend_free
def test_a_schedule_that_does_not_reach_the_final_resolution_is_refused():
    with pytest.raises(ValueError, match=r"reaches 32x32 after 450 images.*300 images stop at 16x16"):
        GrowthSchedule(32, stable_images=100, fade_images=50, total_images=300)
    assert GrowthSchedule(32, stable_images=100, fade_images=50, total_images=450).total_images == 450
    schedule = GrowthSchedule(32, stable_images=100, fade_images=50)
    with pytest.raises(ValueError, match="reaches 32x32 after 450 images"):
        schedule.check_reaches(449)
    for kwargs, match in [({"resolution": 12}, "power of two"), ({"start_resolution": 64}, "start_resolution"),
                          ({"start_resolution": 6}, "start_resolution"), ({"scale": 0}, "scale"),
                          ({"stable_images": 0, "fade_images": 0}, "not both 0"),
                          ({"stable_images": -1}, ">= 0")]:
        with pytest.raises(ValueError, match=match):
            GrowthSchedule(**{"resolution": 32, **kwargs})
    for step, batch_size, match in [(-1, 4, "step"), (1.5, 4, "step"), (1, 0, "batch_size")]:
        with pytest.raises(ValueError, match=match):
            schedule.stage(step, batch_size)


# Sampling and inputs -------------------------------------------------------------------------------------------


def test_samples_and_interpolations_are_images_in_the_unit_interval():
    model = tiny(8)  # every test's model at 8x8 has the same shapes: JAX compiles each operation once for them
    samples = model.sample(4, seed=0)
    assert samples.shape == (4, 8, 8, 3) and samples.dtype == np.float32
    assert samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples, model.sample(4, seed=0))
    z = codes(4)
    raw = to_numpy(model.generator(z))  # the networks work in [-1, 1]
    np.testing.assert_allclose(model.generate(z), np.clip((raw + 1) / 2, 0, 1), atol=1e-6)
    z0, z1 = codes(2, 1), codes(2, 2)
    grid = model.interpolate(z0, z1, steps=2)
    assert grid.shape == (2, 2, 8, 8, 3)
    ends = model.generate(np.stack([z0[0], z1[0], z0[1], z1[1]]))  # two steps: just the ends, one row a pair
    np.testing.assert_allclose(grid.reshape(4, 8, 8, 3), ends, atol=1e-6)
    assert model.interpolate(z0[0], z1[0], steps=4).shape == (4, 8, 8, 3)
    with pytest.raises(InputError, match=r"codes of shape \(n, 8\)"):
        model.generate(np.zeros((2, 5)))
    with pytest.raises(InputError, match=r"expected \(8, 8\)"):
        model.fit(images(4, 16), epochs=1, verbose=0)
    with pytest.raises(InputError, match="channels"):
        model.fit(images(4, 8, 1), epochs=1, verbose=0)
    cropped = tiny(8, crop=6)  # digits padded to the next power of two come back at their size
    full = to_numpy(cropped.generator(z))
    np.testing.assert_allclose(cropped.generate(z), np.clip((full[:, 1:7, 1:7] + 1) / 2, 0, 1), atol=1e-6)
    assert cropped.image_shape == (6, 6, 3) and cropped.data_shape == (8, 8, 3)
    assert cropped.interpolate(z0, z1, steps=2).shape == (2, 2, 6, 6, 3)


@pytest.mark.one_backend("torch")  # the fastest here for a few small steps
def test_quick_recipe_grows_measures_a_curve_and_writes_a_loadable_checkpoint(tmp_path, real_tfds_dir, monkeypatch):
    from conftest import load_recipe

    monkeypatch.setenv("ZOO_TFDS_DIR", real_tfds_dir)
    out, results = tmp_path / "progan", tmp_path / "progan.json"
    load_recipe("progan").main(["--quick", "--verbose", "0", "--out", str(out), "--results", str(results),
                                "--state", str(tmp_path / "state.npz")])
    data = json.loads(results.read_text())
    assert data["steps"] == 12 and data["mode"] == "progressive" and len(data["curve"]) >= 2
    assert data["curve"][0]["resolution"] < 32 and data["curve"][-1]["resolution"] == 32
    assert all(np.isfinite(p["fid_judge"]) and np.isfinite(p["swd"]) for p in data["curve"])
    assert {"fid_fashion_mnist_judge", "fid_fashionnet", "swd"} <= set(data["metrics"])
    for picture in ("progan_samples.png", "progan_walk.png"):
        assert results.with_name(picture).stat().st_size > 0
    model = zoo.load(out)
    assert isinstance(model, ProGAN) and model.stage == (3, 1.0) and model.sample(2, seed=0).shape == (2, 28, 28, 1)


@pytest.mark.one_backend("torch")
def test_quick_face_recipe_grows_to_64_and_checks_memorisation(tmp_path):
    from conftest import load_recipe, shared_data_dir

    shared_data_dir("olivetti_faces/olivetti_faces.npz", "the Olivetti faces")
    out, results = tmp_path / "faces", tmp_path / "faces.json"
    load_recipe("progan").main(["--quick", "--data", "olivetti", "--verbose", "0", "--out", str(out), "--results",
                                str(results), "--state", str(tmp_path / "state.npz")])
    data = json.loads(results.read_text())
    assert data["resolution"] == 64 and data["curve"][-1]["resolution"] == 64
    assert {"fid_olivetti_judge", "swd"} == set(data["metrics"])
    for key in ("pixel", "judge"):
        row = data["memorisation"][key]
        assert 0 < row["held_out_min"] <= row["held_out_median"] and 0 <= row["samples_closer_than_any_held_out"] <= 1
    assert results.with_name("faces_nearest_faces.png").stat().st_size > 0
    model = zoo.load(out)
    assert model.sample(2, seed=0).shape == (2, 64, 64, 1)
    rows = zoo.evaluation.evaluate(model)  # the card's face_samples protocol measures it again
    assert {row.key for row in rows} == {"fid_olivetti_judge", "swd"} and all(row.within for row in rows)


@pytest.mark.one_backend("torch")
def test_quick_stacked_recipe_counts_modes_in_colour(tmp_path, real_tfds_dir, monkeypatch):
    from conftest import load_recipe

    monkeypatch.setenv("ZOO_TFDS_DIR", real_tfds_dir)
    out, results = tmp_path / "stacked", tmp_path / "stacked.json"
    load_recipe("progan").main(["--quick", "--data", "stacked_mnist", "--verbose", "0", "--out", str(out),
                                "--results", str(results), "--state", str(tmp_path / "state.npz")])
    data = json.loads(results.read_text())
    assert all(0 <= p["modes_judge"] <= 1000 and np.isfinite(p["swd"]) for p in data["curve"])
    assert {"modes_covered", "mode_kl", "modes_covered_mnist_judge", "mode_kl_mnist_judge", "swd"} == \
        set(data["metrics"])
    assert 0 < data["real_reference"]["modes"] <= 1000
    model = zoo.load(out)
    assert model.sample(2, seed=0).shape == (2, 28, 28, 3)
