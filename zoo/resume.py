"""Training that survives interruption: a state file saved every few minutes and when training stops,
and a `fit` that continues from it to the weights an uninterrupted run would have reached.

    state = TrainingState("logs/vae_mnist/training_state.npz",
                          identity={"recipe": "vae_mnist", "config": {"epochs": 100, ...}})
    if resume:
        state.restore(model)                   # after compile(): refuses another run's or a damaged state
    outcome = fit(model, ArrayBatches(x, batch_size=128, seed=0), epochs=100, state=state)

The state holds every variable the step changes (weights, BatchNorm statistics,
seed generators, every optimizer's variables, the loss trackers), the position
(epoch and batch of the current `fit`, optimizer steps), the history of the
finished epochs, and the caller's own record and arrays (e.g. UNMT's iteration,
its scores and the weights it keeps). It is one file, written next to its place
and renamed into it, with a sha256 of its arrays: a half-written or damaged
file is refused, never loaded. It lives apart from the published checkpoint,
which holds weights only.

Exact resumption needs batches that are a pure function of (epoch, index)
(`zoo.data.batches.EpochBatches`), since `fit(x, shuffle=True)` draws its order
from the global random state. On a deterministic CPU run, a training stopped
at any step and resumed ends on the same weights as one that never stopped.
"""

import hashlib
import io
import json
import signal
import threading
import time
import weakref
from pathlib import Path

import keras
import numpy as np

from zoo.data.batches import EpochBatches
from zoo.errors import ZooError
from zoo.io import write_atomic

FORMAT = "keras-zoo training state"
FORMAT_VERSION = 1
_MANIFEST = "manifest"


class TrainingStateError(ZooError):
    """A training state that cannot be resumed: damaged, half-written, or another run's."""


class TrainingStopped(ZooError):
    """`fit` stopped before its last epoch (a step or time limit, or a signal); the state is saved."""

    def __init__(self, message, step, state_path):
        super().__init__(message)
        self.step = step
        self.state_path = state_path


def state_variables(model):
    """Every variable a training step changes, in a fixed order: what Keras' JAX trainer threads through its
    step (trainable, non-trainable incl. seed generators, optimizer, metrics)."""
    optimizer = model.optimizer
    if optimizer is None:
        raise TrainingStateError(f"{type(model).__name__} has no optimizer: compile() it before saving or "
                                 "restoring a training state")
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    return [*model.trainable_variables, *model.non_trainable_variables, *optimizer.variables,
            *model.metrics_variables]


def _sync(model):
    """On JAX, `fit` keeps the variables' values in its own state; write them back before reading them."""
    if hasattr(model, "jax_state_sync"):
        model.jax_state_sync()


def _digest(arrays):
    digest = hashlib.sha256()
    for key in sorted(arrays):
        value = arrays[key]
        digest.update(f"{key}|{value.dtype.str}|{value.shape}|".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


class TrainingState:
    """The state of one training run in the file `path`, tagged with `identity`.

    `identity` (JSON) says which run this is: a recipe's name, its
    configuration, the backend. A state is restored only into a run of the same
    identity; the message names what differs. Besides the variables, the state
    carries `position` (where the current `fit` is: `{"epoch", "batch",
    "finished"}`, or None before it starts), `history` (logs of the finished
    epochs), and the caller's `record` (JSON) and `arrays` (numpy).
    """

    def __init__(self, path, identity):
        self.path = Path(path)
        self.identity = json.loads(json.dumps(identity))  # a JSON copy: what is saved is what is compared
        self.position = None
        self.history = {}
        self.record = {}
        self.arrays = {}
        self.step = 0
        self.seconds = 0.0  # spent in `fit` by every run of this training

    def exists(self):
        return self.path.is_file()

    def save(self, model):
        """Write the model's variables and this object's position, history, record and arrays, atomically.
        `model=None`: a training whose whole state is the record and arrays (evolution); `step` is the caller's."""
        variables = []
        if model is not None:
            _sync(model)
            variables = state_variables(model)
        arrays = {f"variable_{i:05d}": np.asarray(keras.ops.convert_to_numpy(v)) for i, v in enumerate(variables)}
        arrays.update({f"array_{key}": np.asarray(value) for key, value in self.arrays.items()})
        if model is not None:
            self.step = _steps(model)
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "identity": self.identity,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "step": self.step, "seconds": round(self.seconds, 1),
            "position": self.position, "history": self.history, "record": self.record,
            "variables": [{"path": v.path, "shape": list(v.shape), "dtype": str(v.dtype)} for v in variables],
            "arrays": sorted(self.arrays), "sha256": _digest(arrays),
        }
        buffer = io.BytesIO()
        np.savez(buffer, **arrays, **{_MANIFEST: np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)})
        write_atomic(self.path, buffer.getvalue())
        return self.path

    def read(self):
        """`(manifest, arrays)` of the file, checked: a zip of arrays, no pickles, the sha256 it names."""
        if not self.exists():
            raise TrainingStateError(f"no training state at {self.path}: nothing to resume")
        try:
            with np.load(self.path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
            manifest = json.loads(arrays.pop(_MANIFEST).tobytes().decode())
        except Exception as e:  # a truncated or overwritten file: zip, npy or JSON errors of every kind
            raise TrainingStateError(f"{self.path} is not a readable training state ({type(e).__name__}: {e}); "
                                     "it may have been cut short or damaged. Start over with --restart.") from None
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise TrainingStateError(f"{self.path} is not a {FORMAT} of version {FORMAT_VERSION} (found "
                                     f"{manifest.get('format')!r}, version {manifest.get('format_version')!r})")
        if _digest(arrays) != manifest.get("sha256"):
            raise TrainingStateError(f"{self.path} fails its sha256 check: its arrays changed after it was "
                                     "written. Start over with --restart.")
        return manifest, arrays

    def peek(self):
        """The checked manifest (identity, step, position, record) without restoring anything."""
        return self.read()[0]

    def check_identity(self, manifest):
        differences = _differences(manifest["identity"], self.identity)
        if differences:
            raise TrainingStateError(
                f"{self.path} holds another run (step {manifest.get('step')}), so it is not resumed; it differs "
                f"in {'; '.join(differences)}. Resume with the run's own settings, pass another state path, or "
                "start over with --restart.")

    def restore(self, model):
        """Load the state into the compiled `model` (None: a state of record and arrays only) and this object;
        refuses a damaged or another run's state."""
        manifest, arrays = self.read()
        self.check_identity(manifest)
        variables = [] if model is None else state_variables(model)
        saved = manifest["variables"]
        if len(saved) != len(variables):
            raise TrainingStateError(f"{self.path} has {len(saved)} variables but the model has {len(variables)}: "
                                     "it was written by another model")
        for i, (variable, entry) in enumerate(zip(variables, saved)):
            if list(variable.shape) != entry["shape"]:
                raise TrainingStateError(f"{self.path}: variable {i} ({entry['path']}) has shape {entry['shape']} "
                                         f"but the model's ({variable.path}) is {list(variable.shape)}")
        for i, variable in enumerate(variables):
            variable.assign(arrays[f"variable_{i:05d}"])
        self.position, self.history = manifest["position"], manifest["history"]
        self.record, self.step, self.seconds = manifest["record"], manifest["step"], manifest["seconds"]
        self.arrays = {key: arrays[f"array_{key}"] for key in manifest["arrays"]}
        return self

    def describe(self):
        manifest = self.peek()
        where = manifest["position"]
        if where is None:
            at = ", before its training began"
        elif where.get("finished"):
            at = ", finished"
        elif "generation" in where:
            at = f", after generation {where['generation']}"
        else:
            at = f", epoch {where['epoch'] + 1} after batch {where['batch']}"
        return f"step {manifest['step']}{at}, saved {manifest['saved_at']}"


_running = weakref.WeakKeyDictionary()  # model -> the saver of the resumable `fit` under way


def epoch_cut_short(model):
    """True in an epoch-end callback when a stop (a step or time limit, a signal) ended that epoch before its
    last batch. Keras still ends the epoch; a callback that scores or selects on whole epochs skips it (the
    resumed run finishes the epoch and scores it then). False outside a resumable `fit`."""
    saver = _running.get(model)
    return saver is not None and saver.cut_short


def _steps(model):
    """Optimizer steps taken: the first optimizer's iterations (a group's first member)."""
    optimizer = model.optimizer
    members = getattr(optimizer, "members", None)
    first = next(iter(members.values())) if members else optimizer
    return int(keras.ops.convert_to_numpy(first.iterations))


def _differences(saved, current, prefix=""):
    if isinstance(saved, dict) and isinstance(current, dict):
        out = []
        for key in sorted(set(saved) | set(current)):
            if key not in saved:
                out.append(f"{prefix}{key} (not in the state; now {current[key]!r})")
            elif key not in current:
                out.append(f"{prefix}{key} (state {saved[key]!r}; not in this run)")
            else:
                out += _differences(saved[key], current[key], f"{prefix}{key}.")
        return out
    return [] if saved == current else [f"{prefix.rstrip('.')} (state {saved!r}, now {current!r})"]


def fit(model, data, epochs, *, state=None, save_every=300.0, max_steps=None, max_seconds=None, callbacks=None,
        **fit_kwargs):
    """`model.fit(data, epochs=epochs, ...)` that starts where `state.position` says and saves `state` as it goes.

    The state is saved every `save_every` seconds, at the end, and when
    training stops early: after `max_steps` steps or `max_seconds` seconds of
    this call (the batch under way when the time is up finishes), or at a
    SIGINT/SIGTERM (once the next batch is done; a second one acts at once).
    Between saves nothing is read from the device and no batch-end callback
    is added, so Keras may run batch-end callbacks off the training thread. An early
    stop raises `TrainingStopped` once the state is saved; `fit` again with the
    restored state continues. A state whose `fit` finished returns at once.
    Keras resets the loss trackers when an epoch starts; in a resumed epoch the
    restored ones are put back, so its logs cover the whole epoch. A callback
    that ends training early at an epoch's end (early stopping) ends it for
    good: the state is saved as finished. The callbacks run before the saver,
    so what they keep in `state.record` at an epoch's end is saved with it. A stop inside an epoch still
    ends that epoch in Keras; `epoch_cut_short(model)` tells the callbacks so.

    Args:
        model: a compiled model (restore `state` into it first to continue).
        data: an `EpochBatches` (batches a pure function of (epoch, index)).
        epochs: epochs of this `fit` in all, including those already done.
        state: a `TrainingState`, or None to save nothing.
        **fit_kwargs: passed to `model.fit` (`verbose`, `validation_data`, ...).

    Returns:
        The history: `{log name: [value per finished epoch]}`, across resumptions.
    """
    if not isinstance(data, EpochBatches):
        raise TypeError(f"resumable training needs batches that are a pure function of (epoch, index), a "
                        f"zoo.data.batches.EpochBatches (e.g. ArrayBatches); got {type(data).__name__}")
    for key in ("initial_epoch", "epochs", "shuffle", "batch_size", "steps_per_epoch"):
        if key in fit_kwargs:
            raise TypeError(f"resume.fit sets {key} itself (from the state and the data); do not pass it")
    position = (state.position if state is not None else None) or {"epoch": 0, "batch": 0}
    if position.get("finished"):
        return state.history
    saver = _Saver(state, data.steps, epochs, position, save_every, max_steps, max_seconds)
    # The saver last: what the others record at an epoch's end is in its save. A stop inside an epoch is saved
    # first: `fit` still ends that epoch, and what the others did with half an epoch must not enter the state.
    callbacks = [_SaveAStopFirst(saver), *(callbacks or []), saver]
    steps = data.steps
    _running[model] = saver
    try:
        with stop_on_signals(saver):
            epoch, batch = position["epoch"], position["batch"]
            if batch > 0:  # finish the interrupted epoch, then the rest
                model.fit(data.steps_from(epoch * steps + batch, steps - batch), initial_epoch=epoch,
                          epochs=epoch + 1, steps_per_epoch=steps - batch, shuffle=False, callbacks=callbacks,
                          **fit_kwargs)
                epoch += 1
            if not saver.stopped and epoch < epochs:
                model.fit(data.steps_from(epoch * steps, (epochs - epoch) * steps), initial_epoch=epoch,
                          epochs=epochs, steps_per_epoch=steps, shuffle=False, callbacks=callbacks, **fit_kwargs)
    finally:
        _running.pop(model, None)
    if saver.stopped:
        saver.save_stopped()
        where = f"; the state is saved in {state.path}" if state is not None else " (no state was kept)"
        raise TrainingStopped(f"training stopped by {saver.stopped} after {saver.run_steps} steps of this run "
                              f"(step {saver.step} in all){where}", saver.step, state and state.path)
    if state is not None:
        state.position = {"epoch": epochs, "batch": 0, "finished": True}
        saver.save_state()
    if saver.signal:  # it came after the last step (during validation, say): the training is whole, but stop
        raise TrainingStopped(f"{saver.signal} came as training ended; the finished state is saved"
                              + (f" in {state.path}" if state is not None else ""), saver.step,
                              state and state.path)
    return saver.history


class _Saver(keras.callbacks.Callback):
    """Keeps `state` current: position as batches start, history as epochs end, saved when due or stopping."""

    def __init__(self, state, steps, epochs, position, save_every, max_steps, max_seconds):
        super().__init__()
        self.state, self.steps, self.epochs = state, steps, epochs
        self.first = (position["epoch"], position["batch"])
        self.history = {key: list(values) for key, values in (state.history if state else {}).items()}
        self.save_every, self.max_steps, self.max_seconds = save_every, max_steps, max_seconds
        self.started = self.last_save = time.monotonic()
        self.epoch, self.batch, self.run_steps, self.step = position["epoch"], position["batch"], 0, 0
        self.seconds = state.seconds if state else 0.0
        self.stopped = self.signal = None
        self.stop_saved = False
        self.metrics = None

    def set_model(self, model):
        super().set_model(model)
        if self.metrics is None:  # the restored trackers, before any fit resets them
            self.metrics = [keras.ops.convert_to_numpy(v) for v in model.metrics_variables]

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.batch = self.first[1] if epoch == self.first[0] else 0
        if self.batch > 0:
            for variable, value in zip(self.model.metrics_variables, self.metrics):
                variable.assign(value)

    def on_train_batch_begin(self, batch, logs=None):
        # At a batch's start, not its end: Keras hands batch-end callbacks to a background thread only when no
        # callback overrides them (on JAX and PyTorch), so the host never waits for the device at each step.
        # Here the steps before this batch are done; a stop asked for now takes effect once this batch is done.
        now = time.monotonic()
        if self.batch > 0 and now - self.last_save >= self.save_every:
            self._save({"epoch": self.epoch, "batch": self.batch})  # waits for the device: every few minutes
        self.batch += 1
        self.run_steps += 1
        if self.epoch == self.epochs - 1 and self.batch == self.steps:
            pass  # the last step: nothing is left to stop
        elif self.signal:
            self.stopped = self.signal
        elif self.max_steps is not None and self.run_steps >= self.max_steps:
            self.stopped = f"the step limit ({self.max_steps} steps)"
        elif self.max_seconds is not None and now - self.started >= self.max_seconds:
            self.stopped = f"the time limit ({self.max_seconds:g} s)"
        if self.stopped:
            self.model.stop_training = True

    def on_test_begin(self, logs=None):
        # `fit` validates at an epoch's end even when stopped inside it; validation draws from the seed
        # generators, so a stop inside an epoch is saved before it, as the uninterrupted run stood.
        self.save_stopped()

    @property
    def cut_short(self):
        """Whether a stop ended the current epoch before its last batch."""
        return bool(self.stopped) and self.batch < self.steps

    def save_stopped(self):
        """Save where a stop inside an epoch left the training, once (a stop at an epoch's end saves there)."""
        if self.cut_short and not self.stop_saved:
            self.stop_saved = True
            self._save({"epoch": self.epoch, "batch": self.batch})

    def on_epoch_end(self, epoch, logs=None):
        if self.batch < self.steps:  # stopped inside the epoch: its logs cover part of it
            return
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if self.stopped or time.monotonic() - self.last_save >= self.save_every:
            self._save({"epoch": epoch + 1, "batch": 0})

    def _count(self):
        _sync(self.model)
        return _steps(self.model)

    def _save(self, position):
        self.last_save = time.monotonic()
        if self.state is None:  # nothing to save: read the step count from the device only for the stop message
            if self.stopped:
                self.step = self._count()
            return
        self.state.position = position
        self.save_state()

    def save_state(self):
        self.state.history = self.history
        self.state.seconds = self.seconds + time.monotonic() - self.started
        self.state.save(self.model)
        self.step = self.state.step


class _SaveAStopFirst(keras.callbacks.Callback):
    """First at an epoch's end: a stop inside the epoch is saved before the other callbacks see it (say, a
    selection score of half an epoch, or a learning rate it lowered)."""

    def __init__(self, saver):
        super().__init__()
        self.saver = saver

    def on_epoch_end(self, epoch, logs=None):
        self.saver.save_stopped()


class stop_on_signals:
    """While active, SIGINT and SIGTERM set `saver.signal`, so it stops once the step under way is done (main
    thread only; a second signal is not caught)."""

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self, saver):
        self.saver, self.previous = saver, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                number = getattr(signal, name)
                self.previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, number, frame):
        self.saver.signal = signal.Signals(number).name
        signal.signal(number, self.previous[number])  # a second one is not caught

    def __exit__(self, *exc):
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        return False
