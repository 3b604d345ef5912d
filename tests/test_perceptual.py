"""The perceptual loss (Johnson et al. 2016) and the DFC-VAE (Hou et al. 2017): hand computations, a frozen feature
net through fit, checkpoints, bad inputs, the offline VGG19 error, and
the quick run of recipes/dfcvae.py."""

import json
import os

import keras
import numpy as np
import pytest

import zoo
from conftest import load_recipe, shared_data_dir
from zoo.checkpoints import save_checkpoint
from zoo.errors import InputError
from zoo.losses import PerceptualLoss, vgg19_features
from zoo.losses.perceptual import VGG19_WEIGHTS_FILE, ImageNetCaffeInput
from zoo.metrics.judges import mark_judge
from zoo.models.vae import DFCVAE, VAE


def pointwise_net():
    """(3, 3, 2) images -> 1x1 convolutions "a" (ReLU) and "b", and a dense "c": features numpy can compute."""
    rng = np.random.default_rng(0)
    inputs = keras.Input((3, 3, 2))
    a = keras.layers.Conv2D(3, 1, activation="relu", name="a")(inputs)
    b = keras.layers.Conv2D(2, 1, name="b")(a)
    c = keras.layers.Dense(4, name="c")(keras.layers.Flatten()(b))
    net = keras.Model(inputs, c, name="pointwise")
    net.set_weights([rng.normal(size=w.shape).astype("float32") for w in net.get_weights()])
    return net


def numpy_features(net, x):
    wa, ba, wb, bb, wc, bc = net.get_weights()
    a = np.maximum(x @ wa[0, 0] + ba, 0.0)
    b = a @ wb[0, 0] + bb
    return [a, b, b.reshape(len(x), -1) @ wc + bc]


def numpy_gram(f):
    f = f.reshape(len(f), -1, f.shape[-1])
    return np.einsum("npc,npd->ncd", f, f) / (f.shape[1] * f.shape[2])


def conv_net(image_shape=(8, 8, 1), name="tiny_features", batch_norm=True):
    """A small functional feature net; with BatchNorm, whose statistics must not move either."""
    inputs = keras.Input(image_shape)
    x = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv_0")(inputs)
    if batch_norm:
        x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="down_0")(x)
    features = keras.layers.Dense(5, name="features")(keras.layers.Flatten()(x))
    return keras.Model(inputs, features, name=name)


def small_dfcvae(seed=0, image_shape=(8, 8, 1), **kwargs):
    keras.utils.set_random_seed(seed)
    kwargs.setdefault("feature_model", conv_net(image_shape))
    kwargs.setdefault("feature_layers", ["conv_0", "down_0"])
    model = DFCVAE(image_shape=image_shape, latent_dim=2, filters=(4, 8), hidden=8, seed=seed, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


def images(n=16, shape=(8, 8, 1), seed=0):
    return np.random.default_rng(seed).uniform(size=(n, *shape)).astype("float32")


def value(tensor):
    return float(keras.ops.convert_to_numpy(tensor))


def test_loss_matches_a_hand_computation_of_features_and_gram_matrices():
    net = pointwise_net()
    rng = np.random.default_rng(1)
    x, y = (rng.uniform(size=(4, 3, 3, 2)).astype("float32") for _ in range(2))
    weights, style_weights = [0.5, 2.0, 1.5], [1.0, 0.3, 0.7]
    loss = PerceptualLoss(net, ["a", "b", "c"], weights=weights, style_weights=style_weights)

    fx, fy = numpy_features(net, x), numpy_features(net, y)
    feature = sum(w * np.mean((a - b) ** 2) for w, a, b in zip(weights, fx, fy))
    style = sum(w * np.mean(np.sum((numpy_gram(a) - numpy_gram(b)) ** 2, axis=(1, 2)))
                for w, a, b in zip(style_weights, fx, fy))
    terms = loss.terms(keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y))
    np.testing.assert_allclose(value(terms["feature"]), feature, rtol=1e-5)
    np.testing.assert_allclose(value(terms["style"]), style, rtol=1e-5)
    np.testing.assert_allclose(value(loss(x, y)), feature + style, rtol=1e-5)
    assert value(loss(x, x)) == 0.0
    # Weights by name; a layer left out counts 0; no style weights, no style term.
    by_name = PerceptualLoss(net, ["a", "b"], weights={"b": 3.0})
    np.testing.assert_allclose(value(by_name(x, y)), 3.0 * np.mean((fx[1] - fy[1]) ** 2), rtol=1e-5)
    assert value(by_name.terms(keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y))["style"]) == 0.0


def test_loss_config_round_trip_keeps_the_architecture_and_stays_frozen():
    net = pointwise_net()
    loss = PerceptualLoss(net, ["a", "c"], weights=[1.0, 0.5], style_weights=[0.2, 0.0])
    assert not loss.trainable and loss.trainable_weights == [] and len(loss.non_trainable_weights) == 6
    loss.trainable = True
    assert not loss.trainable and loss.trainable_weights == []
    copy = PerceptualLoss.from_config(loss.get_config())
    copy.set_weights(loss.get_weights())
    assert copy.layer_names == ["a", "c"] and copy.layer_weights == [1.0, 0.5] and copy.style_weights == [0.2, 0.0]
    x, y = images(2, (3, 3, 2), 0), images(2, (3, 3, 2), 1)
    np.testing.assert_allclose(value(copy(x, y)), value(loss(x, y)), rtol=1e-6)


def test_the_loss_trains_a_keras_model_through_compile():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(inputs))
    loss = PerceptualLoss(conv_net(), ["conv_0", "down_0"])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss)
    frozen = [w.copy() for w in loss.get_weights()]
    x = images(32)
    history = model.fit(x, x, batch_size=8, epochs=3, verbose=0).history["loss"]
    assert history[-1] < history[0], history
    for before, after in zip(frozen, loss.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_a_zoo_feature_network_is_taken_and_a_judge_refused():
    mnistnet = zoo.load("mnistnet", compile=False)
    loss = PerceptualLoss(mnistnet, ["conv_1", "down_1"])
    x = images(2, (28, 28, 1))
    assert value(loss(x, x)) == 0.0 and value(loss(x, 1.0 - x)) > 0.0
    assert loss.image_shape == (28, 28, 1)
    judged = mark_judge(conv_net())  # what zoo.load does to a judge's layers
    with pytest.raises(InputError, match="judge.*mnistnet"):
        PerceptualLoss(judged, ["conv_0"])
    with pytest.raises(InputError, match="judge"):
        PerceptualLoss(judged.get_layer("conv_0"), ["conv_0"])
    with pytest.raises(InputError, match="judge"):
        small_dfcvae(feature_model=judged)


def test_layers_that_do_not_exist_are_refused_naming_the_available_ones():
    with pytest.raises(InputError, match=r"no layer named \['block3_conv1'\].*'conv_0', 'bn', 'down_0'"):
        PerceptualLoss(conv_net(), ["conv_0", "block3_conv1"])
    with pytest.raises(InputError, match="empty"):
        PerceptualLoss(conv_net(), [])
    with pytest.raises(InputError, match="3 values for 2 layers"):
        PerceptualLoss(conv_net(), ["conv_0", "down_0"], weights=[1.0, 2.0, 3.0])
    with pytest.raises(InputError, match=r"\['nope'\]"):
        PerceptualLoss(conv_net(), ["conv_0"], style_weights={"nope": 1.0})
    with pytest.raises(InputError, match="functional"):
        PerceptualLoss(VAE(latent_dim=2, filters=(4, 8), hidden=8), ["hidden"])


def test_an_input_size_the_feature_network_cannot_take_is_refused():
    with pytest.raises(InputError, match=r"takes images of shape \(H, W, C\) = \(8, 8, 1\); got .*\(64, 64, 1\)"):
        small_dfcvae(image_shape=(64, 64, 1), feature_model=conv_net((8, 8, 1)))
    loss = PerceptualLoss(conv_net((8, 8, 1)), ["down_0"])
    with pytest.raises(InputError, match="3 channels.*expected 1"):
        loss(images(2, (8, 8, 3)), images(2, (8, 8, 3)))
    # A network of any size, whose pooling leaves nothing of images too small.
    inputs = keras.Input((None, None, 1))
    pooled = keras.layers.MaxPooling2D(4, name="pool")(keras.layers.Conv2D(2, 3, padding="same", name="conv")(inputs))
    any_size = PerceptualLoss(keras.Model(inputs, pooled), ["conv", "pool"])
    any_size.check_input_shape((8, 8, 1))
    with pytest.raises(InputError, match=r"\(2, 2, 1\) are too small"):
        any_size.check_input_shape((2, 2, 1))


@pytest.mark.parametrize("x, match", [
    (np.full((2, 8, 8, 1), 255.0, "float32"), "255"),
    (np.full((2, 8, 8, 1), np.nan, "float32"), "NaN"),
])
def test_numpy_images_out_of_range_are_refused(x, match):
    loss = PerceptualLoss(conv_net(), ["conv_0"])
    with pytest.raises(InputError, match=match):
        loss(x, images(2))
    with pytest.raises(InputError, match=match):
        small_dfcvae().fit(x, epochs=1, verbose=0)


def test_dfcvae_loss_reads_like_the_paper_and_with_pixels_only_is_the_vae():
    x = keras.ops.convert_to_tensor(images(8))
    model = small_dfcvae(beta=0.5, feature_weight=3.0, pixel_weight=0.1)
    terms = {k: value(t) for k, t in model.compute_terms(x).items()}
    assert all(terms[k] > 0 for k in ("perceptual", "pixel", "kl"))
    np.testing.assert_allclose(terms["loss"], 0.5 * terms["kl"] + 3.0 * terms["perceptual"] + 0.1 * terms["pixel"],
                               rtol=1e-5)
    # feature_weight=0, pixel_weight=1: the VAE's ELBO, with the same networks and the same noise.
    pixels_only = small_dfcvae(feature_weight=0.0, pixel_weight=1.0, seed=3)
    vae = VAE(image_shape=(8, 8, 1), latent_dim=2, filters=(4, 8), hidden=8, binarize=False, seed=3)
    vae.set_weights(pixels_only.get_weights()[:len(vae.get_weights())])
    ours, theirs = pixels_only.compute_terms(x), vae.compute_terms(x)
    np.testing.assert_allclose(value(ours["pixel"]), value(theirs["reconstruction"]), rtol=1e-5)
    np.testing.assert_allclose(value(ours["loss"]), value(theirs["loss"]), rtol=1e-5)


def test_the_feature_network_stays_frozen_through_fit():
    model = small_dfcvae()  # pixel_weight 0: the decoder learns through the frozen network only
    x = images(32)
    frozen = [w.copy() for w in model.perceptual.get_weights()]  # kernels, biases and BatchNorm statistics
    decoder = [w.copy() for w in model.decoder.get_weights()]
    model.trainable = True  # what unfreezing a whole model does: the loss's network stays out of it
    assert len(model.trainable_weights) == len(model.encoder.trainable_weights) + len(model.decoder.trainable_weights)
    history = model.fit(x, batch_size=8, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "perceptual", "pixel", "kl"}
    assert all(np.isfinite(v).all() for v in history.history.values())
    for before, after in zip(frozen, model.perceptual.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert all(not np.array_equal(b, a) for b, a in zip(decoder, model.decoder.get_weights()))


def test_dfcvae_saves_and_loads_through_a_zoo_checkpoint(tmp_path):
    model = small_dfcvae(layer_weights=[1.0, 0.5], feature_weight=2.0, pixel_weight=0.1, beta=0.5)
    model.fit(images(16), batch_size=8, epochs=1, verbose=0)
    path = save_checkpoint(model, tmp_path / "dfcvae", metadata={
        "name": "dfcvae_test", "description": "A tiny DFC-VAE for tests.", "family": "vae"})
    loaded = zoo.load(path)
    assert isinstance(loaded, DFCVAE) and loaded.compiled
    assert (loaded.feature_weight, loaded.pixel_weight, loaded.beta) == (2.0, 0.1, 0.5)
    assert loaded.perceptual.layer_names == ["conv_0", "down_0"] and loaded.perceptual.layer_weights == [1.0, 0.5]
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    z = np.random.default_rng(0).standard_normal((3, 2)).astype("float32")
    np.testing.assert_allclose(loaded.decode(z), model.decode(z), atol=1e-6)
    x = images(4, seed=1)
    np.testing.assert_allclose(value(loaded.perceptual(x, model.reconstruct(x))),
                               value(model.perceptual(x, model.reconstruct(x))), rtol=1e-5)
    frozen = [w.copy() for w in loaded.perceptual.get_weights()]
    loaded.fit(images(16), batch_size=8, epochs=1, verbose=0)  # fine-tuning keeps the feature net frozen too
    for before, after in zip(frozen, loaded.perceptual.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_dfcvae_on_64x64_faces_has_the_vae_api():
    model = small_dfcvae(image_shape=(64, 64, 1), feature_model=conv_net((64, 64, 1), batch_norm=False))
    x = images(2, (64, 64, 1))
    mean, log_var = model.encode(x)
    assert mean.shape == log_var.shape == (2, 2)
    assert model.decode(mean).shape == model.reconstruct(x).shape == model.sample(3, seed=0)[:2].shape == x.shape
    assert np.isfinite(value(model.compute_terms(keras.ops.convert_to_tensor(x))["loss"]))


def test_imagenet_input_is_what_keras_vgg_preprocessing_makes_of_unit_range_images():
    rgb = images(2, (4, 4, 3))
    expected = keras.applications.vgg19.preprocess_input(rgb * 255.0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ImageNetCaffeInput()(rgb)), expected, atol=1e-4)
    grey = images(2, (4, 4, 1))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ImageNetCaffeInput()(grey)),
                               keras.applications.vgg19.preprocess_input(np.repeat(grey, 3, axis=-1) * 255.0),
                               atol=1e-4)


@pytest.mark.backend_free
def test_vgg19_offline_names_the_file_keras_wanted_and_the_zoo_feature_nets(monkeypatch):
    def offline(fname, origin, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(InputError) as error:
        vgg19_features((64, 64, 1))
    message = str(error.value)
    for part in (VGG19_WEIGHTS_FILE, "storage.googleapis.com", "models", "mnistnet", "fashionnet",
                 "name resolution"):
        assert part in message, (part, message)


@pytest.mark.backend_free
def test_vgg19_helper_hands_the_fetched_weights_to_keras(monkeypatch):
    calls = {}
    monkeypatch.setattr(keras.utils, "get_file", lambda fname, origin, **kwargs: f"/cache/models/{fname}")

    def fake_vgg19(include_top, weights, input_tensor):
        calls.update(include_top=include_top, weights=weights, input_shape=tuple(input_tensor.shape))
        return "vgg19"

    monkeypatch.setattr(keras.applications, "VGG19", fake_vgg19)
    assert vgg19_features((64, 64, 1)) == "vgg19"
    assert calls == {"include_top": False, "weights": f"/cache/models/{VGG19_WEIGHTS_FILE}",
                     "input_shape": (None, 64, 64, 3)}


# On torch: this run took 4.5 s there, 15 s on TensorFlow and 45 s on JAX (whose run is already the suite's longest).
@pytest.mark.one_backend("torch")
def test_quick_dfcvae_recipe_measures_both_models_by_the_judge_and_writes_a_loadable_checkpoint(tmp_path):
    shared_data_dir(os.path.join("fashion_mnist", "t10k-images-idx3-ubyte.gz"), "the DFC-VAE recipe")
    recipe = load_recipe("dfcvae")
    out, results = tmp_path / "dfcvae", tmp_path / "dfcvae_fashion_mnist.json"
    recipe.main(["--quick", "--verbose", "0", "--out", str(out), "--results", str(results),
                 "--state", str(tmp_path / "state.npz")])
    data = json.loads(results.read_text())
    assert data["quick"] and data["backend"] == keras.backend.backend()
    judge = "fashion_mnist_judge"  # every number is the judge's; fashionnet only trains
    assert set(data["metrics"]) == {f"{key}{suffix}" for suffix in ("", "_vae") for key in (
        f"fid_reconstructions_{judge}", f"fid_{judge}", f"attribute_success_{judge}")} | {
        "reconstruction_fid_ratio", "sample_fid_ratio"}
    metrics = data["metrics"]
    assert all(np.isfinite(v) for v in metrics.values())
    for what, key in (("reconstructions_", "reconstruction_fid_ratio"), ("", "sample_fid_ratio")):
        assert metrics[key] == pytest.approx(metrics[f"fid_{what}{judge}"] / metrics[f"fid_{what}{judge}_vae"],
                                             abs=1e-3)
    assert all(0.0 <= metrics[f"attribute_success_{judge}{s}"] <= 1.0 for s in ("", "_vae"))
    assert set(data["attributes"]["dfcvae"]) == {"shirt -> pullover", "t-shirt/top -> dress",
                                                "sneaker -> ankle boot", "sandal -> sneaker", "pullover -> coat"}
    assert data["steps"] == data["vae_steps"] == 4 and data["feature_network"] == "fashionnet"
    assert data["feature_weight"] == 3000.0 and data["judge"] == judge
    for picture in ("reconstructions", "vae_samples", "dfcvae_samples", "interpolations", "attributes"):
        name = f"dfcvae_fashion_mnist_{picture}.png"
        assert name in data["pictures"] and (tmp_path / name).stat().st_size > 0
    model = zoo.load(out)
    assert isinstance(model, DFCVAE) and model.feature_weight == 3000.0
    assert model.perceptual.layer_names == ["conv_0", "conv_1", "down_1"]
    card = model.zoo_metadata
    assert card["name"] == "dfcvae_fashion_mnist" and card["family"] == "vae" and card["steps"] == 4
    assert {m["key"]: m["value"] for m in card["metrics"]} == metrics
    assert all("protocol" in m or m.get("not_evaluated") for m in card["metrics"])  # what bundled cards need
    protocol = load_recipe("card_protocols").protocol_of(card["name"], card, {})  # how a bundled card is re-measured
    assert protocol[0] == "gan_samples" and protocol[1]["dataset"] == "fashion_mnist"
    assert protocol[1]["classifier"] == "fashionnet" and protocol[1]["seed"] == data["seed"]
    assert model.sample(2, seed=0).shape == model.reconstruct(np.zeros((2, 28, 28, 1), "float32")).shape
    # --resume --diagnose on the finished states trains nothing, measures the same, and adds the diagnostics
    recipe.main(["--quick", "--verbose", "0", "--out", str(out), "--results", str(results),
                 "--state", str(tmp_path / "state.npz"), "--resume", "--diagnose"])
    again = json.loads(results.read_text())
    assert again["metrics"] == data["metrics"] and again["steps"] == again["vae_steps"] == 4
    for key in ("vae", "dfcvae"):
        diagnostics = again["diagnostics"][key]
        assert np.isfinite(diagnostics["fid_samples_from_fitted_gaussian"])
        assert set(diagnostics["attributes_by_vector_scale"]) == {"1.0", "1.5", "2.0", "3.0"}
        assert diagnostics["attributes_by_vector_scale"]["1.0"]["pooled"] == pytest.approx(
            metrics[f"attribute_success_{judge}{'' if key == 'dfcvae' else '_vae'}"], abs=1e-4)


@pytest.mark.one_backend("tensorflow")
def test_quick_facenet_recipe_learns_only_the_training_people_and_is_no_judge(tmp_path):
    shared_data_dir(os.path.join("olivetti_faces", "olivetti_faces.npz"), "the facenet recipe")
    from zoo.data import olivetti
    from zoo.metrics.judges import check_not_judge

    recipe = load_recipe("digit_classifier")
    args = recipe.parse_args(["--dataset", "olivetti"])
    assert (args.epochs, args.batch_size) == (150, 32)
    _, people = recipe.load("olivetti", "train")
    assert len(people) == 210 and not set(people) & set(olivetti.HELD_OUT_PEOPLE)
    out, results = tmp_path / "facenet", tmp_path / "facenet.json"
    recipe.main(["--dataset", "olivetti", "--quick", "--verbose", "0", "--out", str(out), "--results", str(results),
                 "--state", str(tmp_path / "state.npz")])
    data = json.loads(results.read_text())
    assert set(data["metrics"]) == {"accuracy"} and 0.0 <= data["metrics"]["accuracy"] <= 1.0
    net = zoo.load(out, compile=False)
    assert net.architecture == "plain" and net.image_shape == (64, 64, 1)
    check_not_judge(net)  # a loss may use it
    card = net.zoo_metadata
    assert card["name"] == "facenet" and "perceptual-loss" in card["tags"]
    assert load_recipe("card_protocols").protocol_of("facenet", card, data) == (
        "classification", {"dataset": "olivetti_train_people", "name": "facenet"})


@pytest.mark.one_backend("torch")
def test_quick_dfcvae_olivetti_recipe_measures_held_out_faces_and_writes_a_loadable_checkpoint(tmp_path):
    shared_data_dir(os.path.join("olivetti_faces", "olivetti_faces.npz"), "the DFC-VAE faces recipe")
    from zoo import evaluation

    recipe = load_recipe("dfcvae_olivetti")
    out, results = tmp_path / "dfcvae_olivetti", tmp_path / "dfcvae_olivetti.json"
    recipe.main(["--quick", "--verbose", "0", "--out", str(out), "--results", str(results),
                 "--state", str(tmp_path / "state.npz")])
    data = json.loads(results.read_text())
    keys = ("psnr_held_out_people", "ssim_held_out_people", "identity_olivetti_judge")
    assert set(data["metrics"]) == {f"{key}{suffix}" for key in keys for suffix in ("", "_vae")}
    metrics = data["metrics"]
    assert all(0.0 < metrics[f"psnr_held_out_people{s}"] < 60.0 for s in ("", "_vae"))
    assert all(-1.0 <= metrics[f"{key}{s}"] <= 1.0 for key in keys[1:] for s in ("", "_vae"))
    assert data["steps"] == data["vae_steps"] == 4 and data["feature_network"] == "facenet"
    for picture in ("reconstructions", "vae_samples", "dfcvae_samples", "interpolations"):
        assert (tmp_path / f"dfcvae_olivetti_{picture}.png").stat().st_size > 0
    model = zoo.load(out)
    assert isinstance(model, DFCVAE) and model.image_shape == (64, 64, 1)
    assert model.perceptual.layer_names == ["conv_0", "conv_1", "conv_2"]
    card = model.zoo_metadata
    protocol = load_recipe("card_protocols").protocol_of(card["name"], card, data)
    assert protocol == ("face_reconstruction", {})
    again = evaluation.face_reconstruction(model)  # what `zoo evaluate` re-measures from the checkpoint
    for metric in card["metrics"]:
        if "protocol" in metric:
            assert abs(again[metric["key"]].value - metric["value"]) <= metric["tolerance"] + 5e-4, metric
