"""Data parallelism (zoo/distribute.py) on two virtual CPU devices, through each backend's engine.

The engines are set up once per process, before the backend starts, so the steps run in child processes
(distributed_step.py, distributed_families.py); the errors are checked here.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import zoo
from zoo.distribute import DataParallel, ReplicaBatches

HERE = Path(__file__).resolve().parent
BACKEND = keras.backend.backend()


def run_child(script, *args, launcher=(), timeout=600):
    env = {**os.environ, "KERAS_BACKEND": BACKEND}
    done = subprocess.run([sys.executable, *launcher, str(script), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=HERE.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.parametrize("kind", ["vae", "wgan_gp"])
def test_a_data_parallel_step_equals_the_single_device_step(kind, tmp_path):
    """15-20 s: a child process (two for torch), since an engine is set up once per process before the backend
    starts."""
    # Two steps on global batches of 8, split over 2 devices: the VAE's noise, and WGAN-GP's two optimizers,
    # two critic updates a step and penalty input-gradients, give the single device's weights.
    run_child(HERE / "distributed_step.py", kind, str(tmp_path / "out.json"))
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["replicas"] == 2
    assert result["max_change"] > 1e-3  # the steps trained
    assert result["max_difference"] < 1e-5, result


@pytest.mark.one_backend("jax")
def test_a_users_keras_distribution_fine_tunes_every_family_on_jax(tmp_path):
    """About 90 s: seven bundled models (one per family that trains with fit) loaded and compiled on a 2-device
    mesh in one child process; JAX only, where a user's own keras.distribution is the engine."""
    run_child(HERE / "distributed_families.py", str(tmp_path / "out.json"))
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["devices"] == 2
    for family, record in result["families"].items():
        assert record["finite"] and record["moved"] > 0, (family, record)
        assert record["devices_per_weight"] == 2, (family, record)


def test_a_recipe_trains_on_two_devices_and_only_the_chief_writes(tmp_path, real_tfds_dir, monkeypatch):
    """About a minute: the recipe's process (torch: torchrun's two) is the subject, with its --devices flag."""
    # --devices 2: virtual devices on this CPU (JAX, TensorFlow); torch's two gloo processes come from torchrun
    monkeypatch.setenv("ZOO_LOGS_DIR", str(tmp_path / "logs"))
    launcher = ("-m", "torch.distributed.run", "--nproc_per_node", "2") if BACKEND == "torch" else ()
    done = run_child("recipes/vae_mnist.py", "--quick", "--devices", "2", "--verbose", "0", "--out",
                     str(tmp_path / "vae"), "--results", str(tmp_path / "vae.json"), launcher=launcher)
    result = json.loads((tmp_path / "vae.json").read_text())
    assert result["devices"] == 2 and all(np.isfinite(v) for v in result["history"]["loss"])
    assert zoo.load(tmp_path / "vae").sample(2, seed=0).shape == (2, 28, 28, 1)
    if BACKEND == "torch":  # process 1 wrote its files apart
        assert (tmp_path / "logs" / "replica_1" / "results.json").is_file()
    else:
        assert "data parallel on 2" in done.stdout


@pytest.mark.parametrize("devices", [0, -1, 1.5, "2", True])
def test_devices_must_be_a_positive_integer(devices):
    with pytest.raises(ValueError, match="positive integer"):
        zoo.distribute.data_parallel(devices)


def test_more_devices_than_exist_are_refused_naming_both():
    keras.ops.convert_to_numpy(keras.ops.zeros(1))  # the backend has started: no virtual devices can be made
    with pytest.raises(ValueError, match="64 devices were asked for") as error:
        zoo.distribute.data_parallel(64)
    assert {"jax": "JAX sees", "tensorflow": "TensorFlow sees", "torch": "torchrun"}[BACKEND] in str(error.value)
    assert zoo.distribute.current() is None and zoo.distribute.is_chief()


def test_one_device_needs_no_engine():
    assert zoo.distribute.data_parallel(1) is None and zoo.distribute.current() is None


def test_a_global_batch_must_divide_among_the_devices():
    parallel = DataParallel(2, 0, None)
    parallel.check_batch_size(8)
    with pytest.raises(ValueError, match=r"global batch \(7\) must divide among the 2 devices"):
        parallel.check_batch_size(7)
    with pytest.raises(ValueError, match="must divide among the 2 devices"):
        ReplicaBatches([np.zeros((5, 3))], 0, 2)[0]


def test_each_process_gets_its_contiguous_slice_of_every_global_batch():
    x = np.arange(20)
    shard, local = DataParallel(2, 1, None).shard(x, 8)
    if BACKEND == "torch":  # one process per device: the zoo splits each global batch
        assert local == 4 and shard.tolist() == [4, 5, 6, 7, 12, 13, 14, 15]  # the partial batch is left out
        batches = ReplicaBatches([{"a": np.arange(8)}], 1, 2)
        assert batches[0]["a"].tolist() == [4, 5, 6, 7]
    else:  # the engine splits the global batch
        assert local == 8 and shard is x


def test_a_keras_distribution_on_another_backend_is_refused(monkeypatch):
    from zoo.models.vae import VAE

    model = VAE(image_shape=(8, 8, 1), latent_dim=2, filters=(4,), hidden=8, seed=0)
    model.compile(optimizer="adam")
    monkeypatch.setattr(keras.distribution, "distribution", lambda: object())
    x = np.zeros((4, 8, 8, 1), "float32")
    if BACKEND == "jax":
        pytest.skip("keras.distribution is JAX's engine: tested with real devices above")
    with pytest.raises(ValueError, match="on JAX only"):
        model.fit(x, batch_size=4, verbose=0)
