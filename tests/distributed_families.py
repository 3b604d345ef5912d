"""A user's own `keras.distribution.DataParallel` fine-tunes a bundled model of every trained family on JAX
(run by test_distribute.py on two virtual CPU devices).

    python tests/distributed_families.py OUT.json

For each family: set_distribution before `zoo.load`, one fit step on a global batch of 4, and a record of
whether the weights moved, stayed finite and were laid out on both devices.
"""

import json
import os
import sys

os.environ["KERAS_BACKEND"] = "jax"
from zoo.backend.jax_backend import CPU_COLLECTIVE_TIMEOUTS  # noqa: E402  (imports jax; its backend starts later)

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2 "
                           + CPU_COLLECTIVE_TIMEOUTS)

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

# One bundled model per family that trains with fit (the classical family solves in closed form).
FAMILIES = {"autoencoder": "ae_mnist", "vae": "vae_mnist", "gan": "gan_wgan_gp_mnist", "classifier": "mnist_judge",
            "denoiser": "dae_bsd", "cyclegan": "cyclegan_mnist_usps", "unmt": "unmt_multi30k_en_fr"}
BATCH = 4


def fit_one_batch(family, model):
    rng = np.random.default_rng(0)
    if family == "unmt":
        from zoo.models.unmt import unmt_batches

        ids = model.tokenizer.encode(["a man rides a bike .", "two dogs play in the snow .", "a girl smiles .",
                                      "people walk down the street ."] * 2)
        pairs = {lang: ids for lang in model.tokenizer.languages}
        return model.fit(unmt_batches(pairs, pairs, batch_size=BATCH, length=16, steps=1), epochs=1, verbose=0)
    if family == "denoiser":
        return model.fit(rng.uniform(size=(BATCH, 32, 32, model.channels)).astype("float32"), batch_size=BATCH,
                         epochs=1, verbose=0)
    shape = (BATCH,) + tuple(model.image_shape)
    x = rng.uniform(size=shape).astype("float32")
    if family == "classifier":
        return model.fit(x, rng.integers(0, 10, BATCH), batch_size=BATCH, epochs=1, verbose=0)
    if family == "cyclegan":
        return model.fit(x, rng.uniform(size=shape).astype("float32"), batch_size=BATCH, epochs=1, verbose=0)
    return model.fit(x, batch_size=BATCH, epochs=1, verbose=0)


def main(out):
    import zoo

    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    results = {}
    for family, name in FAMILIES.items():
        model = zoo.load(name)
        model.compile_for_finetuning()
        before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
        fit_one_batch(family, model)
        after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
        results[family] = {
            "model": name,
            "moved": max(float(np.max(np.abs(a - b))) for a, b in zip(before, after)),
            "finite": all(bool(np.all(np.isfinite(a))) for a in after),
            "devices_per_weight": min(len(w.value.sharding.device_set) for w in model.trainable_weights),
        }
    with open(out, "w") as f:
        json.dump({"devices": len(jax.devices()), "families": results}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
