"""Resumable training (zoo.resume): stopped anywhere and resumed, a run ends on the weights of one that never
stopped; a damaged, half-written or foreign state is refused, never loaded."""

import os
import signal

import keras
import numpy as np
import pytest

from conftest import spread
from zoo.data.batches import ArrayBatches, EpochBatches
from zoo.errors import InputError
from zoo.models.gan import GAN, dcgan_critic, dcgan_generator
from zoo.models.vae import VAE
from zoo.resume import TrainingState, TrainingStateError, TrainingStopped, epoch_cut_short, fit, state_variables

from conftest import load_recipe

EPOCHS = 3
IDENTITY = {"recipe": "test", "backend": keras.backend.backend(), "config": {"epochs": EPOCHS}}


def vae(seed=0):
    """Sampling noise from a seed generator, one optimizer."""
    keras.utils.set_random_seed(seed)
    model = VAE(latent_dim=4, filters=(4, 8), hidden=16, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, 30)))
    return model


def wgan_gp(seed=0):
    """Two optimizers, n_critic = 5 and an input-gradient penalty."""
    keras.utils.set_random_seed(seed)
    model = GAN(dcgan_generator(8, 1, width=4), dcgan_critic(1, width=4, normalization=None), latent_dim=8,
                loss="wgan_gp", seed=seed)
    model.compile()
    return model


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(size=(80, 28, 28, 1)).astype("float32")


def data(images):
    return ArrayBatches(images, batch_size=16, seed=3)  # 5 batches an epoch


def values(model):
    return [keras.ops.convert_to_numpy(v.value) for v in state_variables(model)]


def train(build, images, path, stops=(), **kwargs):
    """Train `EPOCHS` epochs, stopped after each count of steps in `stops` and resumed in a fresh model."""
    model = build()
    state = TrainingState(path, IDENTITY)
    for steps in stops:
        with pytest.raises(TrainingStopped, match=f"step limit \\({steps} steps\\)"):
            fit(model, data(images), EPOCHS, state=state, max_steps=steps, verbose=0, **kwargs)
        model, state = build(seed=1), TrainingState(path, IDENTITY)  # another process: other initial weights
        state.restore(model)
    history = fit(model, data(images), EPOCHS, state=state, verbose=0, **kwargs)
    return model, history, state


@pytest.fixture(scope="module")
def uninterrupted(images, tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted")
    return {name: train(build, images, folder / f"{name}.npz") for name, build in (("vae", vae), ("gan", wgan_gp))}


# One stop and a GAN's two optimizers on every backend; three stops in one epoch and across epochs, on one.
@pytest.mark.parametrize("name, stops", [("vae", (7,)), ("gan", (6, 5)), *spread([("vae", (5, 1, 4))], start=2)])
def test_a_training_stopped_and_resumed_ends_on_the_uninterrupted_weights(name, stops, images, uninterrupted,
                                                                            tmp_path):
    build = {"vae": vae, "gan": wgan_gp}[name]
    model, history, state = train(build, images, tmp_path / "state.npz", stops=stops)
    reference, reference_history, reference_state = uninterrupted[name]
    assert state.step == reference_state.step == EPOCHS * 5
    for a, b in zip(values(model), values(reference), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert list(history) == list(reference_history)
    for key in history:  # a resumed epoch logs the mean over all its batches, as if it had never stopped
        assert len(history[key]) == EPOCHS
        np.testing.assert_allclose(history[key], reference_history[key], rtol=1e-5)
    assert state.position == {"epoch": EPOCHS, "batch": 0, "finished": True}


def test_a_stop_inside_an_epoch_is_saved_before_the_validation_that_fit_still_runs(images, tmp_path):
    # The VAE's test step draws from its seed generator: a state saved after that validation would resume on
    # another random stream than the uninterrupted run's.
    validation = {"validation_data": (images[:16],)}
    reference, _, _ = train(vae, images, tmp_path / "reference.npz", **validation)
    model, _, state = train(vae, images, tmp_path / "state.npz", stops=(7,), **validation)
    assert state.step == EPOCHS * 5
    for a, b in zip(values(model), values(reference), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_a_finished_state_returns_at_once_and_a_signal_stops_at_the_next_batch(images, tmp_path):
    path = tmp_path / "state.npz"

    class Interrupt(keras.callbacks.Callback):  # a signal as batch 3 starts: it is the last one done
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 2:
                os.kill(os.getpid(), signal.SIGTERM)

    model = vae()
    with pytest.raises(TrainingStopped, match="SIGTERM") as stopped:
        fit(model, data(images), EPOCHS, state=TrainingState(path, IDENTITY), callbacks=[Interrupt()], verbose=0)
    assert stopped.value.step == 3 and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler put back
    state = TrainingState(path, IDENTITY).restore(vae())
    assert state.position == {"epoch": 0, "batch": 3} and state.step == 3
    model = vae()
    state = TrainingState(path, IDENTITY).restore(model)
    fit(model, data(images), EPOCHS, state=state, verbose=0)
    before = values(model)
    state = TrainingState(path, IDENTITY).restore(model)
    history = fit(model, data(images), EPOCHS, state=state, verbose=0)  # finished: trains nothing
    assert len(history["loss"]) == EPOCHS
    for a, b in zip(values(model), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_state_is_saved_as_time_passes_and_counts_its_seconds(images, tmp_path):
    path = tmp_path / "state.npz"
    seen = []

    class Watch(keras.callbacks.Callback):  # the saver saves as a batch starts, before it runs
        def on_train_batch_end(self, batch, logs=None):
            if batch:
                seen.append(TrainingState(path, IDENTITY).peek()["position"]["batch"])

    state = TrainingState(path, IDENTITY)
    fit(vae(), data(images), 1, state=state, save_every=0.0, callbacks=[Watch()], verbose=0)
    assert seen == [1, 2, 3, 4]  # saved before every batch but the first (and at the epoch's end, with its logs)
    assert state.position["finished"]
    assert state.seconds > 0 and TrainingState(path, IDENTITY).peek()["seconds"] == round(state.seconds, 1)


def test_early_stopping_ends_the_training_for_good_with_what_the_callback_recorded(images, tmp_path):
    path = tmp_path / "state.npz"
    state = TrainingState(path, IDENTITY)

    class StopAfterTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            state.record["epochs_seen"] = epoch + 1
            self.model.stop_training = epoch == 1

    history = fit(vae(), data(images), EPOCHS, state=state, callbacks=[StopAfterTwo()], verbose=0)
    assert len(history["loss"]) == 2 and state.position["finished"] and state.step == 10
    saved = TrainingState(path, IDENTITY).restore(vae())
    assert saved.record["epochs_seen"] == 2 and saved.position["finished"]


def test_a_stop_inside_an_epoch_is_saved_before_the_other_callbacks_end_that_epoch(images, tmp_path):
    # `fit` runs every epoch-end callback even when it stops inside the epoch: a score of that half epoch (a
    # selection callback's, say) must not enter the state, or the resumed epoch would be scored twice.
    path = tmp_path / "state.npz"
    state = TrainingState(path, IDENTITY)

    class Scores(keras.callbacks.Callback):
        def __init__(self, state):
            super().__init__()
            self.state = state

        def on_epoch_end(self, epoch, logs=None):
            self.state.record.setdefault("scored", []).append(epoch + 1)
            self.state.record.setdefault("cut_short", []).append(epoch_cut_short(self.model))

    with pytest.raises(TrainingStopped):
        fit(vae(), data(images), EPOCHS, state=state, callbacks=[Scores(state)], max_steps=7, verbose=0)
    assert state.record["scored"] == [1, 2]  # the stopped run's second epoch ended early, after 2 of 5 steps
    assert state.record["cut_short"] == [False, True]  # and the callbacks could tell
    model, resumed = vae(seed=1), TrainingState(path, IDENTITY)
    resumed.restore(model)
    assert resumed.record["scored"] == [1] and resumed.position == {"epoch": 1, "batch": 2}
    fit(model, data(images), EPOCHS, state=resumed, callbacks=[Scores(resumed)], verbose=0)
    finished = TrainingState(path, IDENTITY).restore(vae()).record
    assert finished["scored"] == [1, 2, 3] and finished["cut_short"] == [False, False, False]
    assert not epoch_cut_short(model)  # outside a resumable fit


def test_a_damaged_or_cut_state_is_refused(images, tmp_path):
    path = tmp_path / "state.npz"
    model = vae()
    with pytest.raises(TrainingStopped):
        fit(model, data(images), EPOCHS, state=TrainingState(path, IDENTITY), max_steps=2, verbose=0)
    good = path.read_bytes()
    for damaged in (good[:len(good) // 2], good[:100] + b"\0" * 50 + good[150:], b""):
        path.write_bytes(damaged)
        with pytest.raises(TrainingStateError, match="not a readable training state|sha256"):
            TrainingState(path, IDENTITY).restore(vae())
    # a flipped byte inside an array's data: the zip may still read, the checksum may not
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    path.write_bytes(bytes(flipped))
    with pytest.raises(TrainingStateError):
        TrainingState(path, IDENTITY).restore(vae())
    with pytest.raises(TrainingStateError, match="no training state"):
        TrainingState(tmp_path / "missing.npz", IDENTITY).restore(vae())


def test_an_interrupted_save_leaves_the_last_state_whole(images, tmp_path, monkeypatch):
    path = tmp_path / "state.npz"
    model = vae()
    state = TrainingState(path, IDENTITY)
    with pytest.raises(TrainingStopped):
        fit(model, data(images), EPOCHS, state=state, max_steps=2, verbose=0)
    good = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        state.save(model)
    monkeypatch.undo()
    assert path.read_bytes() == good and [p.name for p in tmp_path.iterdir()] == ["state.npz"]
    TrainingState(path, IDENTITY).restore(vae())


def test_another_runs_state_is_refused_with_what_differs(images, tmp_path):
    path = tmp_path / "state.npz"
    with pytest.raises(TrainingStopped):
        fit(vae(), data(images), EPOCHS, state=TrainingState(path, IDENTITY), max_steps=1, verbose=0)
    other = {**IDENTITY, "config": {"epochs": 4}}
    with pytest.raises(TrainingStateError, match=r"config\.epochs \(state 3, now 4\)"):
        TrainingState(path, other).restore(vae())
    for key, value in (("recipe", "vae_mnist"), ("backend", "another")):
        with pytest.raises(TrainingStateError, match=f"{key} \\(state"):
            TrainingState(path, {**IDENTITY, key: value}).restore(vae())
    with pytest.raises(TrainingStateError, match="variables but the model has"):
        TrainingState(path, IDENTITY).restore(wgan_gp())


def test_resumable_fit_needs_batches_of_epoch_and_index(images):
    with pytest.raises(TypeError, match="EpochBatches"):
        fit(vae(), images, 1)
    with pytest.raises(TypeError, match="initial_epoch"):
        fit(vae(), data(images), 1, initial_epoch=0)
    with pytest.raises(InputError, match="a count >= 1"):
        data(images).steps_from(3, 0)
    with pytest.raises(InputError, match="positive int"):
        ArrayBatches(images, batch_size=0)
    with pytest.raises(InputError, match="one label per example"):
        ArrayBatches(images, np.zeros(3), batch_size=4)


def test_array_batches_are_a_function_of_epoch_and_index(images):
    a, b = data(images), data(images)
    assert len(a) == 5 and isinstance(a, EpochBatches)
    np.testing.assert_array_equal(a.batch(2, 1), b.batch(2, 1))
    assert not np.array_equal(a.batch(0, 0), a.batch(0, 1))  # each epoch its own order
    seen = np.concatenate([a.batch(i, 4) for i in range(5)])
    assert sorted(map(bytes, seen)) == sorted(map(bytes, images))  # an epoch sees every example once
    flat = b.steps_from(4 * 5 + 3, 4)  # epoch 4 from batch 3, then epoch 5
    assert len(flat) == 4
    np.testing.assert_array_equal(flat[0], a.batch(3, 4))
    np.testing.assert_array_equal(flat[2], a.batch(0, 5))
    flat.on_epoch_end()  # what Keras calls around epochs changes nothing
    np.testing.assert_array_equal(flat[3], a.batch(1, 5))
    assert (len(b), b[1].shape) == (5, (16, 28, 28, 1))
    labelled = ArrayBatches(images, np.arange(80), batch_size=32, seed=0, shuffle=False)
    x, y = labelled[2]
    assert len(labelled) == 3 and x.shape[0] == 16 and list(y) == list(range(64, 80))


@pytest.mark.skipif(keras.backend.backend() == "tensorflow",
                    reason="Keras runs TensorFlow's batch callbacks on the training thread (IS_THREAD_SAFE is False)")
def test_the_zoos_callbacks_make_no_host_read_on_the_training_thread_between_saves(images, tmp_path, monkeypatch):
    import threading

    from zoo import resume
    from zoo.trainers.base import NaNGuard

    main = threading.main_thread()
    events = []
    guard, sync = NaNGuard.on_train_batch_end, resume._sync

    def watched_guard(self, batch, logs=None):
        events.append(("guard", threading.current_thread() is main))
        return guard(self, batch, logs)

    def watched_sync(model):
        events.append(("sync", threading.current_thread() is main))
        return sync(model)

    class Batches(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            events.append(("batch", True))

    monkeypatch.setattr(NaNGuard, "on_train_batch_end", watched_guard)
    monkeypatch.setattr(resume, "_sync", watched_sync)
    state = TrainingState(tmp_path / "state.npz", IDENTITY)
    fit(vae(), data(images), EPOCHS, state=state, save_every=1e9, callbacks=[Batches()], verbose=0)
    guards = [on_main for name, on_main in events if name == "guard"]
    assert len(guards) == EPOCHS * 5 and not any(guards)  # NaNGuard reads the logs off the training thread
    last_batch = max(i for i, (name, _) in enumerate(events) if name == "batch")
    assert not [e for e in events[:last_batch] if e[0] == "sync"]  # the saver waits for the device only to save


@pytest.mark.parametrize("build", [vae, wgan_gp], ids=["one optimizer", "two optimizers"])
def test_timing_a_budget_leaves_the_model_as_it_was(build, images):
    common = load_recipe("_common")
    model = build()
    model.train_on_batch(images[:16])  # a model mid-training: moments, seeds and metrics not at their start
    before = values(model)
    steps = common.steps_for_budget(model, (images[:16],), minutes=0.5, multiple=7, probe_steps=2)
    assert steps >= 7 and steps % 7 == 0
    for x, y in zip(values(model), before, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.backend_free
def test_a_run_of_several_trainings_resumes_the_first_and_those_after_it_that_began(tmp_path):
    import argparse

    common = load_recipe("_common")
    args = argparse.Namespace(resume=True, restart=False)
    paths = [tmp_path / "first.npz", tmp_path / "second.npz"]
    with pytest.raises(TrainingStateError, match="no training state at .*first.npz"):
        common.check_states(args, "test", paths)  # --resume with nothing to resume
    model = vae()
    TrainingState(paths[0], IDENTITY).save(model)
    assert common.check_states(args, "test", paths) == [True, False]  # stopped in the first
    TrainingState(paths[1], IDENTITY).save(model)
    assert common.check_states(args, "test", paths) == [True, True]
    assert common.check_states(argparse.Namespace(resume=False, restart=True), "test", paths) == [False, False]


@pytest.mark.backend_free
def test_the_run_limits_count_from_the_run_start_over_all_its_trainings(monkeypatch):
    import argparse
    import time

    common = load_recipe("_common")
    args = argparse.Namespace(max_minutes=1.0, max_steps=10, save_minutes=5.0, verbose=0)
    monkeypatch.setitem(common.RUN, "started", time.monotonic() - 30)
    monkeypatch.setitem(common.RUN, "steps", 4)  # an earlier training of the run took 4 steps
    assert 29 < common.remaining_seconds(args) <= 30 and common.remaining_steps(args) == 6
    monkeypatch.setitem(common.RUN, "started", time.monotonic() - 61)
    with pytest.raises(TrainingStopped, match=r"time limit \(60 s\), used up by the run's earlier trainings"):
        common.fit(None, None, 1, args, None)  # nothing trains: the limit was spent before this training
    monkeypatch.setitem(common.RUN, "started", time.monotonic())
    monkeypatch.setitem(common.RUN, "steps", 10)
    with pytest.raises(TrainingStopped, match=r"step limit \(10 steps\), used up"):
        common.fit(None, None, 1, args, None)


@pytest.mark.backend_free
def test_an_option_that_left_the_identity_still_binds_a_state_saved_with_it(tmp_path):
    import argparse

    common = load_recipe("_common")

    def args(**options):
        return argparse.Namespace(resume=False, restart=False, state=tmp_path / "state.npz", quick=False,
                                  results=None, seed=0, **options)

    older = common.training_state(args(iterations=3), "test", None)  # saved while iterations was in it
    older.save(None)
    resumed = args(iterations=3)
    resumed.resume = True
    common.training_state(resumed, "test", None, left_identity=("iterations",))  # its own count: resumes
    resumed.iterations = 5
    with pytest.raises(TrainingStateError, match="iterations \\(state 3, now 5\\)"):
        common.training_state(resumed, "test", None, left_identity=("iterations",))
    again = args(iterations=3)
    again.restart = True  # the older state is unfinished: replaced only when asked
    newer = common.training_state(again, "test", None, left_identity=("iterations",))
    newer.save(None)
    common.training_state(resumed, "test", None, left_identity=("iterations",))  # newer states: any count
