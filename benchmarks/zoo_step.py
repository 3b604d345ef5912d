"""The zoo's models as users train them: the registry's builder, `compile` as the recipes do, `fit`.

One `train_step` written with `keras.ops` and `zoo.backend.value_and_grad`
runs on every backend; this is what its portability costs against each
framework's hand-written loop (reference_torch.py, reference_jax.py) and the
keras-io style TF-only step (reference_keras_tf.py).
"""

import keras
from _bench import synthetic, translation_vocabulary
from keras_harness import BACKEND, KerasBench, check_device, trainable_count

import zoo.distribute
import zoo.registry

NETWORKS = {"vae": ("encoder", "decoder"), "wgan_gp": ("generator", "critic"),
            "cyclegan": ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b"),
            "translation": ("translator", "discriminator")}


def default_jit_compile():
    """What recipes/_common.py compiles with: XLA on JAX only (XLA was slower for these nets with TF on CPU,
    and on torch `jit_compile=True` means torch.compile, which takes minutes and fails on double backward)."""
    return BACKEND == "jax"


def build(model_name, cfg, jit_compile="auto", steps_per_execution=1):
    """The registry's untrained model for `model_name`, compiled with the training settings of its recipe.

    The translation model is built as its recipe builds it (`unmt_multi30k` on
    the Multi30k vocabulary, with `cfg`'s sizes: the registry's defaults, which
    the tests check), so that the tests can also run it small.
    """
    if model_name == "translation":
        from zoo.models.unmt import unmt_multi30k

        model = unmt_multi30k(cfg["languages"], tokenizer=translation_vocabulary(cfg),
                              embedding_dim=cfg["embedding_dim"], units=cfg["units"],
                              discriminator_units=cfg["discriminator_units"],
                              discriminator_layers=cfg["discriminator_layers"])
    else:
        model = zoo.registry.get(cfg["registry"]).build()
    jit = default_jit_compile() if jit_compile == "auto" else jit_compile == "true"
    kwargs = {"jit_compile": jit, "steps_per_execution": steps_per_execution}
    if model_name == "vae":
        model.compile(optimizer=keras.optimizers.Adam(cfg["learning_rate"]), **kwargs)
    else:  # GAN: PAPER_TRAINING (Adam(1e-4, 0.5, 0.9), n_critic 5 for wgan_gp); CycleGAN: Adam(2e-4, 0.5);
        model.compile(**kwargs)  # UNMT: Adam(3e-4, 0.5, clipnorm 5) and RMSprop(5e-4), as recipes/unmt_multi30k.py
    return model


def parameter_counts(model_name, model):
    return {name: trainable_count(getattr(model, name)) for name in NETWORKS[model_name]}


def make_bench(model_name, cfg, args):
    check_device(args.device)
    if args.precision != "float32":
        keras.config.set_dtype_policy(args.precision)
    if getattr(args, "devices", 1) > 1:
        zoo.distribute.data_parallel(args.devices)
    model = build(model_name, cfg, args.jit_compile, args.steps_per_execution)
    bench = KerasBench(model, lambda n: synthetic(model_name, n, cfg=cfg), args.batch_size, data=args.data)
    bench.params = parameter_counts(model_name, model)
    bench.settings = {"jit_compile": bool(model.jit_compile), "steps_per_execution": model.steps_per_execution,
                      "data": args.data, "precision": args.precision}
    return bench
