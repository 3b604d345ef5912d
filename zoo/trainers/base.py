"""The base every zoo model stands on: portable steps, loss trackers, a NaN guard."""

import math

import keras

from zoo import backend, distribute
from zoo.errors import TrainingDiverged


class NaNGuard(keras.callbacks.Callback):
    """Stops `fit` at the first non-finite logged value, naming the step.

    It raises from the batch-end callback, before `on_epoch_end` runs for the
    diverged epoch: a `ModelCheckpoint` or `BackupAndRestore` keeps the last
    good checkpoint instead of writing a NaN model over it. It is async-safe:
    where Keras runs batch-end callbacks on a background thread (JAX and
    PyTorch, when no other callback needs them on the training thread), reading
    the logs does not make the host wait for the device at every step; the
    error then reaches `fit` a step or two later, still naming the step where
    the value broke.
    """

    async_safe = True

    def __init__(self):
        super().__init__()
        self.epoch = self.first_epoch = 0

    def on_train_begin(self, logs=None):
        self.first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if self.first_epoch is None:
            self.first_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            value = float(value)
            if not math.isfinite(value):
                steps = (self.params or {}).get("steps")
                step = (self.epoch - (self.first_epoch or 0)) * steps + batch + 1 if steps else None
                raise TrainingDiverged(
                    f"'{key}' became {value} at epoch {self.epoch + 1}, batch {batch + 1}"
                    + (f" (step {step} of this fit)" if step else "")
                    + ". Training stopped; checkpoints written before this step are kept. Try a lower learning "
                    "rate, and check the data."
                )


class ZooModel(keras.Model):
    """A `keras.Model` whose `train_step`/`test_step` are written once for all backends.

    Subclasses write `train_step(self, data)` and `test_step(self, data)` with
    `keras.ops` and `zoo.backend.value_and_grad`; the class adapts them to the
    calling convention of Keras' trainer on the running backend. Each name in
    `tracked` gets a `keras.metrics.Mean`, so `fit` logs and callbacks see it.
    `selection_metric` (lower is better) picks the best epoch when fine-tuning;
    None keeps the last one.
    """

    tracked = ("loss",)
    selection_metric = "loss"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("train_step", "test_step"):
            step = cls.__dict__.get(name)
            if step is not None and not getattr(step, "_zoo_portable", False):
                setattr(cls, name, backend.portable_step(step))

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.trackers = [keras.metrics.Mean(name=name) for name in self.tracked]

    @property
    def metrics(self):
        return list(self.trackers)

    def update_trackers(self, terms):
        """Add this batch's loss terms to the running means; return the logs."""
        for tracker in self.trackers:
            tracker.update_state(terms[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def compile_for_finetuning(self):
        """Compile with the optimizer a loaded checkpoint fine-tunes with by default."""
        self.compile(optimizer=keras.optimizers.Adam(1e-4))

    def check_inputs(self, x):
        """Validate user data before training; models with image inputs override this."""
        return x

    def fit(self, x=None, y=None, batch_size=None, *args, callbacks=None, validation_data=None, **kwargs):
        x = self._checked(x)
        if isinstance(validation_data, (tuple, list)):
            validation_data = tuple(self._checked(v) if i == 0 else v
                                    for i, v in enumerate(validation_data))
        elif validation_data is not None:
            validation_data = self._checked(validation_data)
        x, y, batch_size = self._data_parallel(x, y, batch_size)
        callbacks = [NaNGuard()] + list(callbacks or [])
        return super().fit(x, y, batch_size, *args, callbacks=callbacks,
                           validation_data=validation_data, **kwargs)

    def _data_parallel(self, x, y, batch_size):
        """Under `zoo.distribute.data_parallel`: the global batch checked, torch's process given its slices
        and process 0's weights (zoo/distribute.py)."""
        distribute.check_keras_distribution()
        parallel = distribute.current()
        if parallel is None:
            return x, y, batch_size
        if batch_size is None and hasattr(x, "__array__"):
            batch_size = 32  # Keras' default
        parallel.check_batch_size(batch_size if batch_size is not None else getattr(x, "batch_size", None))
        (x, local), (y, _) = parallel.shard(x, batch_size), parallel.shard(y, batch_size)
        parallel.prepare(self)
        return x, y, local

    def _checked(self, x):
        # Arrays are checked here; tf.data pipelines and generators are the caller's.
        return self.check_inputs(x) if hasattr(x, "__array__") else x
