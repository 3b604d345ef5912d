"""Mixed precision on this backend: every zoo step trains under mixed_bfloat16 and mixed_float16.

Under mixed_float16 the loss is scaled before it is differentiated and the
gradients unscaled before they are applied (a `LossScaleOptimizer` per
optimizer, one per player in an adversarial model); a step whose float16
gradients overflow is skipped. Checked here: finite losses and float32 weights,
the same loss as float32 after a few steps, the same update as float32 after
one SGD step, skipped overflows, and checkpoints that load under any policy.
Each test builds its models under a policy; a fixture puts float32 back.
"""

import json
from types import SimpleNamespace

import keras
import numpy as np
import pytest
from keras import ops

import zoo
from conftest import spread
from zoo.checkpoints import save_checkpoint
from zoo.losses import SCORE_LOSSES
from zoo.models.autoencoder import Autoencoder
from zoo.models.clustering import DEC, VaDE
from zoo.models.completion import ImageCompletion
from zoo.models.classifier import DigitClassifier
from zoo.models.cyclegan import CycleGAN, patch_discriminator, resnet_generator
from zoo.models.denoiser import DnCNN
from zoo.models.gan import GAN, began_autoencoder, dcgan_critic, dcgan_generator
from zoo.models.progan import ProGAN
from zoo.models.superres import SRGAN, SRResNet
from zoo.models.topics import BagOfWordsBatches, ProdLDA
from zoo.models.unmt import UNMT, unmt_batches
from zoo.models.vae import VAE
from zoo.text.alignment import AlignmentBatches, EmbeddingAligner
from zoo.text.bag_of_words import Vocabulary
from zoo.text.tokenizer import SubwordTokenizer
from zoo.trainers import OptimizerGroup
from zoo.trainers.precision import share_gradients

LossScaleOptimizer = keras.optimizers.LossScaleOptimizer
MIXED = ("mixed_bfloat16", "mixed_float16")
COMPUTE_DTYPE = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


@pytest.fixture(autouse=True)
def float32_afterwards():
    """Models take the global policy when built; leave it float32 for the next test."""
    yield
    keras.config.set_dtype_policy("float32")


def strokes(n, seed=0):
    """`n` digit-like 28x28 images in [0, 1]: three soft line strokes each."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:28, 0:28]
    t = np.linspace(0.0, 1.0, 30)[:, None, None]
    images = np.zeros((n, 28, 28), "float32")
    for image in images:
        for _ in range(3):
            (c0, r0), (c1, r1) = rng.uniform(5, 23, size=(2, 2))
            distance = np.min((cols - (c0 + t * (c1 - c0))) ** 2 + (rows - (r0 + t * (r1 - r0))) ** 2, axis=0)
            image += np.exp(-distance / 2.0)
    return np.clip(images, 0.0, 1.0)[..., None]


def build(kind, policy):
    """A tiny model of `kind` built under `policy`, its weights the same under every policy."""
    keras.config.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    if kind == "vae":
        return VAE(latent_dim=8, filters=(8, 16), hidden=32, seed=0)
    if kind == "wgan_gp":
        return GAN(dcgan_generator(8, width=4), dcgan_critic(width=4, normalization="layer"), latent_dim=8,
                   loss="wgan_gp", seed=0)
    if kind == "cyclegan":
        return CycleGAN(resnet_generator(width=4, n_blocks=1, name="generator_ab"),
                        resnet_generator(width=4, n_blocks=1, name="generator_ba"),
                        patch_discriminator(width=4, name="discriminator_a"),
                        patch_discriminator(width=4, name="discriminator_b"), seed=0)
    raise ValueError(kind)


def batch_of(kind, n=16):
    x = strokes(n)
    return (x, strokes(n, seed=1) ** 2) if kind == "cyclegan" else (x,)


def compile_with(model, make_optimizer, n_critic=1):
    if isinstance(model, VAE):
        model.compile(optimizer=make_optimizer())
    else:
        model.compile(optimizers={name: make_optimizer() for name in model.players}, n_critic=n_critic)


def optimizers_of(model):
    return model.optimizer.optimizers if isinstance(model.optimizer, OptimizerGroup) else [model.optimizer]


def built_optimizers(model):
    """The model's optimizers, each built (Keras builds a single one lazily, at the first step)."""
    for optimizer in optimizers_of(model):
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
    return optimizers_of(model)


def copies(variables):
    return [np.array(ops.convert_to_numpy(v)) for v in variables]


def flat_delta(before, variables):
    return np.concatenate([(ops.convert_to_numpy(v) - b).ravel() for b, v in zip(before, variables, strict=True)])


# Training under each policy -----------------------------------------------------------------------------


# float16's loss scaling on every backend; bfloat16 (no scaling) on one each, as in test_every_zoo_step...
@pytest.mark.parametrize("kind, policy", [("vae", "mixed_float16"), ("wgan_gp", "mixed_float16"),
                                          *spread([("vae", "mixed_bfloat16"), ("wgan_gp", "mixed_bfloat16")])])
def test_a_few_steps_give_finite_losses_and_keep_float32_weights(kind, policy):
    model = build(kind, policy)
    compile_with(model, lambda: keras.optimizers.Adam(1e-3), n_critic=2)
    before = copies(model.trainable_variables)
    # 16 steps: under mixed_float16 Keras' initial scale 2^15 overflows the VAE's first steps, which are skipped
    history = model.fit(strokes(128), batch_size=8, epochs=1, verbose=0).history
    assert history and all(np.isfinite(values).all() for values in history.values())
    assert model.dtype_policy.name == policy
    assert {layer.compute_dtype for layer in model._flatten_layers() if layer.weights} == {COMPUTE_DTYPE[policy]}
    assert {v.dtype for v in model.trainable_variables} == {"float32"}
    assert np.abs(flat_delta(before, model.trainable_variables)).max() > 0
    scaled = [isinstance(o, LossScaleOptimizer) for o in optimizers_of(model)]
    if policy == "mixed_float16":
        assert all(scaled)
        # the scale's state came back from the step (on JAX: through the stateless step's optimizer state)
        assert all(float(ops.convert_to_numpy(o.dynamic_scale)) != 2.0**15 or int(ops.convert_to_numpy(
            o.step_counter)) > 0 for o in optimizers_of(model))
    else:
        assert not any(scaled)  # bfloat16 has float32's range: no loss scaling


# Measured on CPU (jax, torch, tensorflow): after these 16 Adam steps the loss differs from float32's by at most
# 9.1e-4 (relative) under mixed_bfloat16 and 6.2e-4 under mixed_float16. The tolerances leave about 10x that.
QUALITY_RTOL = {"mixed_bfloat16": 1e-2, "mixed_float16": 5e-3}


def trained_vae_loss(policy, images):
    model = build("vae", policy)
    optimizer = keras.optimizers.Adam(5e-3)
    if policy == "mixed_float16":
        # Keras' initial scale 2^15 overflows this ELBO (a sum over 784 pixels) and halves down to 2^7 over the
        # first steps, each skipped; starting there, all 16 steps apply and the two runs stay comparable.
        optimizer = LossScaleOptimizer(optimizer, initial_scale=2.0**7)
    model.compile(optimizer=optimizer)
    model.fit(images, batch_size=32, epochs=2, shuffle=False, verbose=0)
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == 16
    return model.evaluate(images, batch_size=len(images), verbose=0, return_dict=True)["loss"]


@pytest.fixture(scope="module")
def float32_vae_loss():
    loss = trained_vae_loss("float32", strokes(256))
    keras.config.set_dtype_policy("float32")
    return loss


@pytest.mark.parametrize("policy", ["mixed_float16", *spread(["mixed_bfloat16"], start=2)])
def test_a_vae_reaches_float32s_loss(policy, float32_vae_loss):
    assert float32_vae_loss < 480  # it learned: about 540 nats before training
    loss = trained_vae_loss(policy, strokes(256))
    print(f"{policy}: loss {loss:.3f}, float32 {float32_vae_loss:.3f}, relative difference "
          f"{abs(loss - float32_vae_loss) / float32_vae_loss:.2e}")
    assert loss == pytest.approx(float32_vae_loss, rel=QUALITY_RTOL[policy])


# Measured on CPU (jax, torch, tensorflow): the two updates differ by at most 1.5e-4 (relative; CycleGAN, where
# float16 flushes a few tiny gradients under the smaller scale). Were the loss not scaled, or the gradients not
# unscaled, they would differ by a factor of 16.
SCALE_RTOL = 2e-3
# Scales under which one step of each model neither overflows float16 nor loses its gradients to underflow.
SCALES = {"vae": (2.0**3, 2.0**7), "wgan_gp": (2.0**0, 2.0**4), "cyclegan": (2.0**3, 2.0**7)}


@pytest.mark.parametrize("kind", ["vae", "wgan_gp", *spread(["cyclegan"], start=2)])  # its joint step: one backend
def test_the_loss_scale_cancels_out_of_an_sgd_step(kind):
    """The scaled loss is differentiated and the gradients unscaled: one step of a single, per-player and joint
    update moves the weights alike under two loss scales 16 times apart, and logs the same, unscaled, loss."""
    model = build(kind, "mixed_float16")
    compile_with(model, lambda: keras.optimizers.SGD(0.05))
    optimizers = built_optimizers(model)
    state = model.variables + [v for o in optimizers for v in o.variables]
    start = copies(state)
    batch = batch_of(kind)
    deltas, logs = [], []
    for scale in SCALES[kind]:
        for variable, value in zip(state, start, strict=True):
            variable.assign(value)  # the same weights, noise (seed states) and optimizer state for both
        for optimizer in optimizers:
            optimizer.dynamic_scale.assign(scale)
        before = copies(model.trainable_variables)
        logs.append(model.train_on_batch(*batch, return_dict=True))
        assert all(int(ops.convert_to_numpy(o.iterations)) == 1 for o in optimizers), scale  # applied
        deltas.append(flat_delta(before, model.trainable_variables))
    error = np.linalg.norm(deltas[1] - deltas[0]) / np.linalg.norm(deltas[0])
    print(f"{kind}: relative difference of the updates {error:.2e}")
    assert error < SCALE_RTOL
    for name, value in logs[0].items():
        assert logs[1][name] == pytest.approx(value, rel=1e-3), name


@pytest.mark.parametrize("kind", ["vae", "wgan_gp"])
def test_a_float16_overflow_skips_the_step_and_halves_the_scale(kind):
    model = build(kind, "mixed_float16")
    compile_with(model, lambda: keras.optimizers.Adam(1e-3))
    optimizers = built_optimizers(model)
    for optimizer in optimizers:
        optimizer.dynamic_scale.assign(2.0**40)  # the scaled loss's gradients overflow float16's 65504
    before = copies(model.trainable_variables)
    logs = model.train_on_batch(*batch_of(kind), return_dict=True)
    assert all(np.isfinite(value) for value in logs.values())  # only the scaled loss's gradients overflowed
    np.testing.assert_array_equal(flat_delta(before, model.trainable_variables), 0.0)
    for optimizer in optimizers:  # each member updated once (n_critic = 1): skipped once
        assert int(ops.convert_to_numpy(optimizer.iterations)) == 0
        assert float(ops.convert_to_numpy(optimizer.dynamic_scale)) == 2.0**39


def test_a_joint_step_unscales_each_share_by_its_own_scale_and_skips_as_one():
    variables = [keras.Variable(np.zeros(3, "float32")), keras.Variable(np.zeros(2, "float32"))]
    first, second = (LossScaleOptimizer(keras.optimizers.SGD(1.0), initial_scale=scale) for scale in (8.0, 32.0))
    first.build(variables[:1])
    second.build(variables[1:])
    shares = [[ops.ones(3) * 8.0], [ops.ones(2) * 8.0]]  # the gradient 1 of a loss scaled by the first's 8
    ready = share_gradients([first, second], shares)
    np.testing.assert_array_equal(ops.convert_to_numpy(ready[0][0]), 8.0)
    np.testing.assert_array_equal(ops.convert_to_numpy(ready[1][0]), 32.0)  # the second divides by 32
    ready = share_gradients([first, second], [[ops.ones(3)], [ops.convert_to_tensor([1.0, np.inf])]])
    assert not np.isfinite(ops.convert_to_numpy(ready[0][0])).any()  # one overflow: both skip
    plain = [keras.optimizers.SGD(1.0), keras.optimizers.SGD(1.0)]
    assert share_gradients(plain, shares) is shares


# Losses in float32 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_gan_losses_of_half_precision_scores_are_float32(dtype):
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((2, 8, 1)).astype("float32")
    for name, (critic_loss, generator_loss) in SCORE_LOSSES.items():
        half = critic_loss(ops.cast(real, dtype), ops.cast(fake, dtype)), generator_loss(ops.cast(fake, dtype))
        full = critic_loss(real, fake), generator_loss(fake)
        for h, f in zip(half, full, strict=True):
            assert keras.backend.standardize_dtype(h.dtype) == "float32", name
            assert float(ops.convert_to_numpy(h)) == pytest.approx(float(ops.convert_to_numpy(f)), rel=2e-2,
                                                                   abs=2e-2), name


# Optimizers per player, compile config, checkpoints -----------------------------------------------------------


def test_each_player_gets_its_own_loss_scale_optimizer_that_serializes_and_checkpoints_load(tmp_path):
    model = build("wgan_gp", "mixed_float16")
    model.compile(n_critic=1)
    group = model.optimizer
    assert isinstance(group, OptimizerGroup)
    for name in model.players:
        member = group[name]
        assert isinstance(member, LossScaleOptimizer) and isinstance(member.inner_optimizer, keras.optimizers.Adam)
        # the scale and its counter travel with the group: the JAX step's state, training states
        assert any(v is member.dynamic_scale for v in group.variables)
        assert any(v is member.step_counter for v in group.variables)

    clone = OptimizerGroup.from_config(json.loads(json.dumps(group.get_config())))
    fresh = build("wgan_gp", "mixed_float16")
    fresh.compile_from_config(json.loads(json.dumps(model.get_compile_config())))
    for name in model.players:
        for copy in (clone[name], fresh.optimizer[name]):
            assert isinstance(copy, LossScaleOptimizer) and not isinstance(copy.inner_optimizer, LossScaleOptimizer)
            assert copy.inner_optimizer.get_config() == group[name].inner_optimizer.get_config()
    unscaled = build("wgan_gp", "mixed_float16")
    unscaled.compile(auto_scale_loss=False)
    assert not any(isinstance(o, LossScaleOptimizer) for o in unscaled.optimizer.optimizers)

    path = save_checkpoint(model, tmp_path / "mixed", {"name": "mixed", "description": "mixed_float16 WGAN-GP"})
    assert "mixed_float16" not in (path / "config.json").read_text()  # stored as float32 weights and config
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    loaded = zoo.load(path)  # the policy is still mixed_float16: the model comes back mixed, loss-scaled
    assert loaded.generator.compute_dtype == "float16"
    assert all(isinstance(o, LossScaleOptimizer) for o in loaded.optimizer.optimizers)
    np.testing.assert_allclose(loaded.generate(z), model.generate(z), atol=1e-6)

    keras.config.set_dtype_policy("float32")
    loaded = zoo.load(path)
    assert loaded.generator.compute_dtype == "float32"
    assert not any(isinstance(o, LossScaleOptimizer) for o in loaded.optimizer.optimizers)
    np.testing.assert_allclose(loaded.generate(z), model.generate(z), atol=2e-2)  # float16 against float32


def test_a_float32_checkpoint_loads_under_a_mixed_policy(tmp_path):
    model = build("vae", "float32")
    path = save_checkpoint(model, tmp_path / "vae", {"name": "vae", "description": "a float32 VAE"})
    keras.config.set_dtype_policy("mixed_bfloat16")
    loaded = zoo.load(path)
    assert {layer.compute_dtype for layer in loaded._flatten_layers() if layer.weights} == {"bfloat16"}
    assert {v.dtype for v in loaded.weights if "float" in v.dtype} == {"float32"}
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    np.testing.assert_allclose(loaded.decode(z), model.decode(z), atol=2e-2)
    assert np.isfinite(list(loaded.fit(strokes(16), batch_size=16, epochs=1, verbose=0).history.values())).all()


# Every other zoo step ----------------------------------------------------------------------------------------


WORDS = {"xx": ["alpha", "bravo", "charlie", "delta", "echo"], "yy": ["uno", "dos", "tres", "cuatro", "cinco"]}


def unmt_fit(policy):
    rng = np.random.default_rng(0)
    corpus = {lang: [" ".join(rng.choice(WORDS[lang], rng.integers(2, 5))) + " ." for _ in range(40)]
              for lang in WORDS}
    tokenizer = SubwordTokenizer.train(corpus["xx"] + corpus["yy"], ("xx", "yy"), vocab_size=60)
    keras.config.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    model = UNMT(tokenizer, embedding_dim=8, units=8, discriminator_units=8, seed=0)
    model.compile()
    ids = {lang: tokenizer.encode(corpus[lang][:8]) for lang in WORDS}
    data = unmt_batches(ids, {"xx": ids["yy"], "yy": ids["xx"]}, batch_size=4, length=8, steps=2)
    return model, model.fit(data, epochs=1, verbose=0).history


def zoo_fit(kind, policy):
    """A tiny model of `kind` trained two steps under `policy`: the model and its history."""
    if kind == "unmt":
        return unmt_fit(policy)
    keras.config.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    images = strokes(16)
    if kind == "autoencoder":
        model = Autoencoder(code_dim=4, filters=(4, 8), hidden=16, noise="gaussian", noise_level=0.2, seed=0)
        model.compile(optimizer="adam")
        return model, model.fit(images, batch_size=8, verbose=0).history
    if kind == "denoiser":
        model = DnCNN(depth=3, width=4, seed=0)
        model.compile(optimizer="adam")
        return model, model.fit(images, batch_size=8, verbose=0).history
    if kind == "classifier":
        model = DigitClassifier(filters=(4, 8), features_dim=16)
        model.compile(optimizer="adam")
        return model, model.fit(images, np.arange(16) % 10, batch_size=8, verbose=0).history
    if kind in ("ns", "dragan", "began"):
        critic = began_autoencoder(width=4, code_dim=8) if kind == "began" else dcgan_critic(width=4)
        model = GAN(dcgan_generator(8, width=4), critic, latent_dim=8, loss=kind, seed=0)
        model.compile()
        return model, model.fit(images, batch_size=8, verbose=0).history
    if kind == "cyclegan":
        model = build("cyclegan", policy)
        model.compile()
        return model, model.fit(images, images ** 2, batch_size=8, verbose=0).history
    if kind == "aligner":
        rng = np.random.default_rng(0)
        source, target = rng.standard_normal((2, 32, 8)).astype("float32")
        model = EmbeddingAligner(8, hidden=8, seed=0)
        model.compile(n_critic=1)
        return model, model.fit(AlignmentBatches(source, target, batch_size=4, n_critic=1, steps=2),
                                verbose=0).history
    if kind in ("srresnet", "srgan"):
        lr = np.random.default_rng(0).uniform(size=(8, 4, 4, 3)).astype("float32")
        hr = np.repeat(np.repeat(lr, 4, axis=1), 4, axis=2)
        if kind == "srresnet":
            model = SRResNet(channels=3, width=4, blocks=1, scale=4)
            model.compile(optimizer="adam")
        else:
            features = keras.Sequential([keras.Input((None, None, 3)),
                                         keras.layers.Conv2D(4, 3, padding="same", name="conv_0")])
            model = SRGAN(features, ["conv_0"], channels=3, width=4, blocks=1, scale=4, discriminator_width=4,
                          discriminator_size=16, seed=0)
            model.compile()
        return model, model.fit(lr, hr, batch_size=4, verbose=0).history
    if kind == "completion":
        model = ImageCompletion(channels=1, image_size=16, local_size=8, hole_sides=(2, 6), width=4,
                                discriminator_width=2, fill=[0.5])
        model.compile()
        model.set_phase("joint")
        return model, model.fit(images[:, 6:22, 6:22], batch_size=8, verbose=0, seed=1).history
    if kind == "progan":
        model = ProGAN(8, 1, latent_dim=8, fmap_base=16, fmap_max=8, seed=0)
        model.compile()
        return model, model.fit(images[:, ::3, ::3][:, :8, :8], batch_size=8, verbose=0).history
    if kind in ("idec", "vade"):
        inputs, codes = keras.Input((28, 28, 1)), keras.Input((2,))
        encoder = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
        decoder = keras.Model(codes, keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784)(codes)))
        if kind == "vade":
            model = VaDE.from_autoencoder(SimpleNamespace(encoder=encoder, decoder=decoder), n_clusters=2, seed=0)
            model.compile(optimizer="adam")
            return model, model.fit(images, batch_size=8, verbose=0).history
        model = DEC(encoder, decoder, n_clusters=2, clustering_weight=0.1, reconstruction_weight=1.0)
        model.compile(optimizer="adam")
        targets = model.refresh_targets(images).targets
        return model, model.fit(images, targets, batch_size=8, verbose=0).history
    if kind == "prodlda":
        rng = np.random.default_rng(0)
        documents = [" ".join(rng.choice(["cat", "dog", "sun", "rain", "hat", "shoe"], 6)) for _ in range(16)]
        vocabulary = Vocabulary.fit(documents, min_count=1, stop_words=None)
        model = ProdLDA(vocabulary, num_topics=2, hidden=(8, 8), seed=0)
        model.compile(optimizer="adam")
        return model, model.fit(BagOfWordsBatches(vocabulary.transform(documents), batch_size=8), verbose=0).history
    raise ValueError(kind)


# Each model under one policy and on one backend, to keep the suite short on CPUs: the casts to float32 a step
# needs are the same for float16 and bfloat16, and the scaling is the trainers' (tested above on every backend);
# each backend runs a third of the models. UNMT, whose attention masks with -1e9 (-inf in float16), runs under
# both.
EVERY_STEP = [("autoencoder", "mixed_float16"), ("denoiser", "mixed_bfloat16"), ("classifier", "mixed_float16"),
              ("ns", "mixed_bfloat16"), ("dragan", "mixed_float16"), ("began", "mixed_float16"),
              ("cyclegan", "mixed_bfloat16"), ("unmt", "mixed_bfloat16"), ("unmt", "mixed_float16"),
              ("aligner", "mixed_float16"), ("srresnet", "mixed_float16"), ("srgan", "mixed_bfloat16"),
              ("completion", "mixed_float16"), ("progan", "mixed_float16"), ("idec", "mixed_bfloat16"),
              ("vade", "mixed_float16"), ("prodlda", "mixed_float16")]


@pytest.mark.parametrize("kind, policy", spread(EVERY_STEP))
def test_every_zoo_step_trains_under_a_mixed_policy(kind, policy):
    model, history = zoo_fit(kind, policy)
    assert history and all(np.isfinite(values).all() for values in history.values()), history
    assert {v.dtype for v in model.trainable_variables} == {"float32"}
    scaled = {isinstance(o, LossScaleOptimizer) for o in optimizers_of(model)}
    assert scaled == {policy == "mixed_float16"}
