"""Timing a compiled Keras model on the running backend: its compiled step, `fit`, and `fit`'s input pipeline.

- `run_steps`: Keras' own train function (what `fit` calls each step) on
  batches already converted to backend tensors: the step without the loop.
- `fit_times`: `model.fit` on numpy arrays (or a prefetching `tf.data`
  pipeline), one epoch per repetition, timed by a callback: what a user runs.
- `pipeline_times`: the same batches pulled through the epoch iterator `fit`
  uses on this backend, with no training: the input pipeline's cost.
"""

import time

import keras
import numpy as np
from _bench import timed_reps

BACKEND = keras.backend.backend()


class EpochTimer(keras.callbacks.Callback):
    """Seconds of each epoch, waiting for the last step's results before stopping the clock."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        for value in (logs or {}).values():
            float(value)
        self.times.append(time.perf_counter() - self.start)


def _batch(arrays, start, size):
    """`(x, y, sample_weight)` of backend tensors, as fit's iterator gives; a dict of arrays is x alone."""
    if isinstance(arrays, dict):
        return ({key: keras.ops.convert_to_tensor(a[start:start + size]) for key, a in arrays.items()}, None, None)
    parts = [keras.ops.convert_to_tensor(a[start:start + size]) for a in arrays]
    return (parts[0], parts[1] if len(parts) > 1 else None, None)


def _rows(arrays):
    return len(next(iter(arrays.values())) if isinstance(arrays, dict) else arrays[0])


class KerasBench:
    """Times `model` (compiled) on batches of `make_data(n)`: a tuple of numpy arrays, `(x,)` or `(a, b)`, or a
    dict of arrays (the translation model's batches)."""

    def __init__(self, model, make_data, batch_size, data="numpy", staged=4):
        if data not in ("numpy", "tfdata"):
            raise ValueError(f"data must be 'numpy' or 'tfdata'; got {data!r}")
        self.model = model
        self.make_data = make_data
        self.batch_size = int(batch_size)
        self.data = data
        arrays = make_data(staged * self.batch_size)
        self.batches = [_batch(arrays, i * self.batch_size, self.batch_size) for i in range(staged)]
        self.step_count = 0
        self.logs = None
        self.state = None  # JAX: the stateless step's state while run_steps is in use
        if hasattr(model, "_maybe_symbolic_build"):
            model._maybe_symbolic_build(data_batch=self.batches[0])
        else:
            model._symbolic_build(data_batch=self.batches[0])
        model.make_train_function()

    # Compiled steps on staged tensors ----------------------------------------------------------

    def run_steps(self, n):
        model = self.model
        for _ in range(n):
            batch = self.batches[self.step_count % len(self.batches)]
            self.step_count += 1
            if BACKEND == "jax":
                if self.state is None:
                    self.state = model._get_jax_state(trainable_variables=True, non_trainable_variables=True,
                                                      optimizer_variables=True, metrics_variables=True,
                                                      purge_model_variables=True)
                    model._jax_state_synced = False
                self.logs, self.state = model.train_function(self.state, iter([batch]))
            elif BACKEND == "tensorflow":
                self.logs = model.train_function(iter([batch]))
            else:
                self.logs = model.train_function([batch])

    def sync(self):
        if BACKEND == "jax":
            import jax

            jax.block_until_ready((self.logs, self.state))
        elif BACKEND == "tensorflow":
            for value in (self.logs or {}).values():
                value.numpy()
        else:
            import torch

            if torch.cuda.is_available():
                torch.cuda.synchronize()

    def finish_steps(self):
        """Give the state of the staged steps back to the model's variables (JAX), as `fit` does after an epoch."""
        if BACKEND == "jax" and self.state is not None:
            names = ("trainable_variables", "non_trainable_variables", "optimizer_variables", "metrics_variables")
            self.model._jax_state = dict(zip(names, self.state))
            self.model._jax_state_synced = False
            self.model.jax_state_sync()
            self.state = None

    # fit -----------------------------------------------------------------------------------

    def _fit_input(self, arrays):
        """fit's x and y: the arrays, or a shuffled, batched, prefetching tf.data pipeline over them."""
        if isinstance(arrays, dict):
            x, y = arrays, None
        else:
            x, y = arrays[0], arrays[1] if len(arrays) > 1 else None
        if self.data == "numpy":
            return x, y, self.batch_size
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
        dataset = dataset.shuffle(_rows(arrays)).batch(self.batch_size, drop_remainder=True)
        return dataset.prefetch(tf.data.AUTOTUNE), None, None

    def fit_times(self, steps, reps, warmup):
        warm_x, warm_y, batch_size = self._fit_input(self.make_data(max(warmup, 1) * self.batch_size))
        self.model.fit(warm_x, warm_y, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)
        x, y, batch_size = self._fit_input(self.make_data(steps * self.batch_size))
        timer = EpochTimer()
        self.model.fit(x, y, batch_size=batch_size, epochs=reps, verbose=0, shuffle=True, callbacks=[timer])
        return timer.times

    def pipeline_times(self, steps, reps):
        x, y, batch_size = self._fit_input(self.make_data(steps * self.batch_size))
        kwargs = {"x": x, "y": y, "batch_size": batch_size, "shuffle": True, "steps_per_execution": self.model.steps_per_execution}
        if BACKEND == "tensorflow":
            from keras.src.backend.tensorflow.trainer import TFEpochIterator

            iterator = TFEpochIterator(distribute_strategy=self.model.distribute_strategy, **kwargs)
        elif BACKEND == "jax":
            from keras.src.backend.jax.trainer import JAXEpochIterator

            iterator = JAXEpochIterator(**kwargs)
        else:
            from keras.src.backend.torch.trainer import TorchEpochIterator

            iterator = TorchEpochIterator(**kwargs)
        spe = self.model.steps_per_execution

        def epoch(_):
            with iterator.catch_stop_iteration():
                for _, _, data in iterator:
                    if isinstance(data, list):  # torch: the batches themselves
                        continue
                    for _ in range(spe):  # TF and JAX: an iterator the train function pulls from
                        try:
                            next(data)
                        except StopIteration:
                            break

        return timed_reps(epoch, lambda: None, steps, reps)

    def device_peak_mb(self):
        return device_peak_mb()


def check_device(device):
    """Stop with a clear message when --device gpu finds no GPU, rather than measure the CPU under a GPU label."""
    if device != "gpu":
        return
    if BACKEND == "torch":
        import torch

        found = torch.cuda.is_available()
    elif BACKEND == "jax":
        import jax

        found = jax.default_backend() != "cpu"
    else:
        import tensorflow as tf

        found = bool(tf.config.list_physical_devices("GPU"))
    if not found:
        raise SystemExit(f"--device gpu: the {BACKEND} backend sees no GPU")


def device_peak_mb():
    """Peak accelerator memory the backend allocated, MB; None on CPU."""
    if BACKEND == "torch":
        import torch

        return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
    if BACKEND == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform == "cpu":
            return None
        stats = device.memory_stats() or {}
        return stats.get("peak_bytes_in_use", float("nan")) / 2**20
    import tensorflow as tf

    if not tf.config.list_logical_devices("GPU"):
        return None
    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


def trainable_count(network):
    return int(sum(np.prod(v.shape) for v in network.trainable_variables))
