"""Two data-parallel steps against the single-device steps on the same global batches (run by test_distribute.py).

    KERAS_BACKEND=... python tests/distributed_step.py {vae,wgan_gp} OUT.json

Two virtual devices are made here, before the backend starts: XLA's host
platform split in two (JAX), two logical CPUs (TensorFlow), two gloo processes
(PyTorch). OUT.json gets the largest weight difference between the runs.
"""

import json
import os
import socket
import sys
import tempfile

import numpy as np

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
REPLICAS = 2
GLOBAL_BATCH = 8


def start_backend():
    if BACKEND == "jax":
        from zoo.backend.jax_backend import CPU_COLLECTIVE_TIMEOUTS

        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count="
                                   f"{REPLICAS} {CPU_COLLECTIVE_TIMEOUTS}")
    elif BACKEND == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * REPLICAS)


def data(kind):
    rng = np.random.default_rng(0)
    shape = (2 * GLOBAL_BATCH, 8, 8, 1) if kind == "vae" else (2 * GLOBAL_BATCH, 6)
    return rng.uniform(size=shape).astype("float32")


def build(kind):
    """A model without BatchNorm (per-replica on TensorFlow and torch), plain SGD so the comparison is exact."""
    import keras

    from zoo.models.gan import GAN, mlp
    from zoo.models.vae import VAE

    if kind == "vae":
        model = VAE(image_shape=(8, 8, 1), latent_dim=3, filters=(4,), hidden=8, seed=1)
        model.compile(optimizer=keras.optimizers.SGD(0.1))
    else:  # two optimizers, two critic updates a step, and the penalty's input gradients
        model = GAN(mlp(3, 6, (16,), name="generator"), mlp(6, 1, (16,), name="critic"), latent_dim=3,
                    loss="wgan_gp", seed=1)
        model.compile(optimizers={"generator": keras.optimizers.SGD(0.01), "critic": keras.optimizers.SGD(0.01)},
                      n_critic=2)
    return model


def train(model, weights, x):
    model.set_weights(weights)
    model.fit(x, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
    return model.get_weights()


def torch_worker(rank, kind, port, weights_path, out_path):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(REPLICAS),
                      LOCAL_RANK=str(rank))
    import zoo

    zoo.distribute.data_parallel(REPLICAS)
    with np.load(weights_path) as saved:
        weights = [saved[f"w{i}"] for i in range(len(saved.files))]
    trained = train(build(kind), weights, data(kind))
    if zoo.distribute.is_chief():
        np.savez(out_path, *trained)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(kind, out):
    start_backend()
    import zoo

    x = data(kind)
    single = build(kind)
    initial = single.get_weights()
    expected = train(single, initial, x)
    if BACKEND == "torch":
        import torch.multiprocessing

        with tempfile.TemporaryDirectory() as tmp:
            np.savez(os.path.join(tmp, "initial.npz"), **{f"w{i}": w for i, w in enumerate(initial)})
            torch.multiprocessing.spawn(torch_worker, nprocs=REPLICAS, args=(
                kind, free_port(), os.path.join(tmp, "initial.npz"), os.path.join(tmp, "trained.npz")))
            with np.load(os.path.join(tmp, "trained.npz")) as saved:
                parallel = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        replicas = REPLICAS
    else:
        replicas = zoo.distribute.data_parallel(REPLICAS).replicas
        parallel = train(build(kind), initial, x)
    result = {
        "backend": BACKEND, "replicas": replicas,
        "max_difference": max(float(np.max(np.abs(a - b))) for a, b in zip(expected, parallel)),
        "max_change": max(float(np.max(np.abs(a - b))) for a, b in zip(expected, initial)),
    }
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
