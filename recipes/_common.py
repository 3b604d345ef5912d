"""What every recipe does around its method: arguments, provenance, results JSON."""

import argparse
import inspect
import json
import math
import os
import sys
import time

import keras
from pathlib import Path

from zoo.io import git_commit, write_atomic

ROOT = Path(__file__).resolve().parent.parent
RUN = {"started": time.monotonic(), "steps": 0}  # this process: --max-minutes and --max-steps are for all of it


def logs():
    """Where runs write what is not a result (--quick outputs, training states): logs/, or $ZOO_LOGS_DIR (the tests
    set it)."""
    return Path(os.environ.get("ZOO_LOGS_DIR") or ROOT / "logs")


class RecipeParser(argparse.ArgumentParser):
    """The recipes' parser: parsing --devices N starts the backend's data-parallel engine (`zoo.distribute`),
    before the recipe builds a model."""

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        start_devices(parsed)
        return parsed


def start_devices(args):
    """--devices N > 1: `zoo.distribute.data_parallel(N)`. Only process 0 writes the run's files; under torchrun
    the others write theirs under logs/replica_<index>/, so nothing of the chief's is overwritten."""
    if getattr(args, "devices", 1) == 1:
        return
    import zoo.distribute

    parallel = zoo.distribute.data_parallel(args.devices)
    if not parallel.is_chief:
        scratch = logs() / f"replica_{parallel.index}"
        args.out, args.results = scratch / "checkpoint", scratch / "results.json"
        if hasattr(args, "state"):
            args.state = scratch / "training_state.npz"


def base_parser(description, trains=True):
    """The options every recipe has; `trains`: the recipe trains by steps, so it can stop and resume."""
    parser = RecipeParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="tiny settings (< 1 min); writes under logs/ unless --out is given")
    parser.add_argument("--out", type=Path, default=None, help="checkpoint folder to write")
    parser.add_argument("--results", type=Path, default=None, help="results JSON to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", default="auto", help="Keras fit verbosity: auto, 0, 1 or 2")
    if trains:
        parser.add_argument("--devices", type=int, default=1,
                            help="train data-parallel on this many devices, the batch size being the global batch "
                                 "(JAX: keras.distribution; TensorFlow: MirroredStrategy; torch: launch with "
                                 "torchrun --nproc_per_node N); see the README's 'Training on GPUs and several "
                                 "devices'")
        add_resume_arguments(parser)
    return parser


def add_resume_arguments(parser):
    group = parser.add_argument_group(
        "stopping and resuming", "The training state (every variable, optimizers included, the position in the "
        "data and the run's own record) is saved apart from the checkpoint, every --save-minutes and when training "
        "stops. A run stopped by a limit, Ctrl-C or SIGTERM exits with status 75; the same command with --resume "
        "continues it, on any machine with the same backend.")
    group.add_argument("--resume", action="store_true", help="continue the training state of this command")
    group.add_argument("--restart", action="store_true", help="start over, discarding an unfinished training state")
    group.add_argument("--state", type=Path, default=None,
                       help="the training state file (default: logs/<results name>[_quick]/training_state.npz; logs/ is "
                            "$ZOO_LOGS_DIR where set)")
    group.add_argument("--save-minutes", type=float, default=5.0, help="minutes between saves of the state")
    group.add_argument("--max-minutes", type=float, default=None,
                       help="stop training this many minutes after the run started, keeping the state (for the "
                            "whole run, however many trainings it runs in turn)")
    group.add_argument("--max-steps", type=int, default=None,
                       help="stop training after this many steps of this run, keeping the state (all its "
                            "trainings together)")


def outputs(args, name):
    """Checkpoint and results paths: the bundled ones for full runs, logs/ for --quick."""
    if args.quick:
        scratch = logs() / f"{name}_quick"
        return args.out or scratch / name, args.results or scratch / f"{name}.json"
    return args.out or ROOT / "checkpoints" / name, args.results or ROOT / "results" / f"{name}.json"


# The commit of the code this run imported; taken at start-up, since a long run can outlast later commits.
COMMIT = git_commit(ROOT)


def command_line():
    return " ".join(["python", os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])


def jit_compile():
    """The `jit_compile` the recipes use: XLA on JAX only. On TF, XLA made the conv nets slower on
    this CPU (measured); on torch, `jit_compile=True` means torch.compile, which took minutes to
    compile a few steps here, so torch runs eagerly."""
    return keras.backend.backend() == "jax"


def device():
    """What the run trained on: the accelerator's name where Keras' backend sees one, else the CPU."""
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            dev = jax.devices()[0]
            return "cpu" if dev.platform == "cpu" else f"{dev.platform}: {dev.device_kind}"
        if backend == "torch":
            import torch

            return f"cuda: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "cpu"
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            return f"gpu: {tf.config.experimental.get_device_details(gpus[0]).get('device_name', 'GPU')}" if gpus \
                else "cpu"
    except Exception as e:  # never lose a run's results over a device query
        return f"unknown ({type(e).__name__})"
    return "unknown"


# Options that say how a run goes or what it measures, not what it trains: a state is resumed whatever their
# values (recipes name their own evaluation options too).
NOT_IDENTITY = ("resume", "restart", "state", "save_minutes", "max_minutes", "max_steps", "verbose", "out",
                "results", "weights", "standing_batches", "standing_only", "devices")
STOPPED = 75  # exit status of a run stopped early with its state kept (sysexits' EX_TEMPFAIL: try again)


def state_path(args, name):
    """`--state`, else logs/<results name>[_quick]/training_state.npz (apart from the checkpoint and results)."""
    if args.state:
        return Path(args.state)
    stem = Path(args.results).stem if args.results else name
    return logs() / (stem + ("_quick" if args.quick and not stem.endswith("_quick") else "")) \
        / "training_state.npz"


def check_state(args, name, path=None, resume=None):
    """What --resume and --restart ask of the state file, checked before any data is read or model built: a
    state to resume exists and can be read; an unfinished one is not started over without --restart. Returns
    the path."""
    from zoo.resume import TrainingState, TrainingStateError

    resume = args.resume if resume is None else resume
    path = Path(path or state_path(args, name))
    if args.resume and args.restart:
        raise TrainingStateError("--resume continues the training state and --restart discards it; pass one")
    state = TrainingState(path, {})
    if resume:
        state.peek()  # it exists and reads whole
    elif state.exists() and not args.restart:
        try:
            manifest = state.peek()
        except TrainingStateError as e:
            raise TrainingStateError(f"{e} It is not overwritten without --restart.") from None
        if not (manifest["position"] or {}).get("finished"):
            raise TrainingStateError(
                f"{path} holds an unfinished training ({state.describe()}; `{manifest['record'].get('command')}`)"
                ": pass --resume to continue it, or --restart to discard it")
    return path


def check_states(args, name, paths):
    """`check_state` for a run of several trainings in turn, a state file each: with --resume the first must have
    one, and each of the others resumes where it has one (a run stopped in one never began those after it).
    Returns whether each resumes, for `training_state(..., resume=)`."""
    flags = [bool(args.resume) and (i == 0 or Path(path).is_file()) for i, path in enumerate(paths)]
    for path, flag in zip(paths, flags):
        check_state(args, name, path, resume=flag)
    return flags


def training_state(args, name, model, exclude=(), path=None, resume=None, left_identity=()):
    """The run's `TrainingState` (at `path`, default `state_path`), restored into the compiled `model` with
    --resume (or as `resume` says, for a recipe that trains several models; `model=None`: a training whose
    whole state is the state's record and arrays).

    The state's identity is the recipe's name, the backend and every option
    but those in `NOT_IDENTITY` and `exclude`. `left_identity`: options that
    have left the identity (so that, say, a finished run can be extended with
    more iterations); a state saved while one was in it still holds it, and
    resumes only with its own value. Without --resume, an unfinished
    state of the same path is never overwritten unless --restart says so; a
    finished one (its checkpoint was written) is replaced, with a line saying so.
    """
    from zoo.resume import TrainingState

    resume = args.resume if resume is None else resume
    path = check_state(args, name, path, resume)
    if left_identity:
        saved = TrainingState(path, {}).peek()["identity"]["config"] if resume else {}
        exclude = (*exclude, *(key for key in left_identity if key not in saved))
    config = {key: (str(value) if isinstance(value, Path) else value) for key, value in sorted(vars(args).items())
              if key not in NOT_IDENTITY and key not in exclude}
    state = TrainingState(path, identity={"recipe": name, "backend": keras.backend.backend(), "config": config})
    if resume:
        state.restore(model)
        print(f"resuming {state.path}: {state.describe()}", flush=True)
    elif state.exists() and not args.restart:
        print(f"replacing the finished training state {state.path} ({state.describe()})", flush=True)
    state.record.setdefault("runs", []).append({"command": command_line(), "git_commit": COMMIT, "device": device(),
                                                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "step": state.step})
    state.record["command"] = state.record["runs"][0]["command"]
    return state


def resume_options(args, run_args, name):
    """The stopping and resuming options of a recipe that runs another (`run_args`, the other's parsed options):
    --resume where that run has a state to resume (the others start fresh), and the rest as given."""
    options = ["--save-minutes", str(args.save_minutes)]
    if getattr(args, "devices", 1) != 1:
        options += ["--devices", str(args.devices)]
    if args.resume and state_path(run_args, name).is_file():
        options.append("--resume")
    if args.restart:
        options.append("--restart")
    for flag, value in (("--max-minutes", args.max_minutes), ("--max-steps", args.max_steps)):
        if value is not None:
            options += [flag, str(value)]
    return options


def resumed_config(args, name):
    """With --resume, the configuration the run's state was started with (e.g. steps a time budget gave); else
    None."""
    from zoo.resume import TrainingState

    if not args.resume:
        return None
    return TrainingState(state_path(args, name), {}).peek()["identity"]["config"]


def steps_for_budget(model, batch, minutes, multiple=1, probe_steps=5, share=0.97):
    """How many training steps of the compiled `model` on `batch` (train_on_batch's arguments, a tuple) fit in
    `minutes`, rounded down to a multiple of `multiple` (at least one multiple). A few steps are timed after two
    that trace or compile; `share` of the time is for the steps, the rest for fit's own work (logging, saving
    the state). Everything those steps changed (weights, optimizer, seeds, metrics) is put back."""
    from zoo.resume import state_variables

    before = [keras.ops.convert_to_numpy(v) for v in state_variables(model)]
    for _ in range(2):
        model.train_on_batch(*batch)
    start = time.perf_counter()
    for _ in range(probe_steps):
        model.train_on_batch(*batch)
    seconds = (time.perf_counter() - start) / probe_steps
    for variable, value in zip(state_variables(model), before):
        variable.assign(value)
    steps = int(share * minutes * 60 / seconds)
    steps = max(multiple, steps - steps % multiple)
    print(f"{seconds:.3f} s per step here: {steps} steps fit in {minutes:g} minutes", flush=True)
    return steps


def remaining_seconds(args):
    """What is left of --max-minutes (None without a limit): the limit counts from the run's start, so a recipe
    that trains several models or phases in turn (unmt_multi30k's iterations, completion's phases) stops in time."""
    if args.max_minutes is None:
        return None
    return 60 * args.max_minutes - (time.monotonic() - RUN["started"])


def remaining_steps(args):
    """What is left of --max-steps (None without a limit), counted over every `fit` of the run."""
    return None if args.max_steps is None else args.max_steps - RUN["steps"]


def limits_left(args, state):
    """`(remaining_seconds, remaining_steps)` for the next training (None where there is no limit); raises
    `TrainingStopped` where the run's earlier trainings used a limit up, unless `state` is finished already."""
    from zoo.resume import TrainingStopped

    seconds, steps = remaining_seconds(args), remaining_steps(args)
    unfinished = state is None or not (state.position or {}).get("finished")
    if unfinished and ((seconds is not None and seconds <= 0) or (steps is not None and steps <= 0)):
        limit = f"the time limit ({60 * args.max_minutes:g} s)" if seconds is not None and seconds <= 0 else \
            f"the step limit ({args.max_steps} steps)"
        where = "" if state is None else f"; the state is saved in {state.path}" if state.exists() else \
            f"; this training's state will be {state.path}"
        raise TrainingStopped(f"training stopped by {limit}, used up by the run's earlier trainings{where}",
                              state.step if state is not None else 0, state and state.path)
    return seconds, steps


def fit(model, data, epochs, args, state, **fit_kwargs):
    """`zoo.resume.fit` with what is left of the run's limits and its saving interval; returns the history of every
    epoch. A limit already used up by the run's earlier trainings stops it before its first step (every recipe
    saves its state as each training ends, so nothing is lost)."""
    from zoo import resume

    seconds, steps = limits_left(args, state)
    before = state.step if state is not None else 0
    try:
        return resume.fit(model, data, epochs, state=state, save_every=60 * args.save_minutes, max_steps=steps,
                          max_seconds=seconds, verbose=verbosity(args.verbose), **fit_kwargs)
    finally:
        if state is not None:
            RUN["steps"] += max(state.step - before, 0)


def run(main):
    """Run a recipe's `main`: a stopped training exits with status 75 and says how to continue; a state that
    cannot be resumed exits with status 2 and says why."""
    from zoo.resume import TrainingStateError, TrainingStopped

    try:
        main()
    except TrainingStopped as e:
        again = " ".join(a for a in command_line().split(" ") if a not in ("--resume", "--restart"))
        print(f"{e}\ncontinue with: {again} --resume", file=sys.stderr)
        sys.exit(STOPPED)
    except TrainingStateError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def verbosity(value):
    return value if value == "auto" else int(value)


class Stopwatch:
    def __init__(self):
        self.start = time.time()

    @property
    def seconds(self):
        return round(time.time() - self.start, 1)


def results_record(name, args, metrics, train_seconds, history, **extra):
    """The results JSON of a run: what it measured, on what, from which code and command.

    `train_seconds` may be the run's `TrainingState`: its seconds of training over every run that resumed it,
    and those runs (command, commit, device, step at start) under "training_runs".
    """
    if hasattr(train_seconds, "record"):
        extra["training_runs"] = train_seconds.record["runs"]
        train_seconds = round(train_seconds.seconds, 1)
    return {
        "name": name,
        "metrics": _metric_values(metrics),
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "device": device(),
        "devices": getattr(args, "devices", 1),
        "train_seconds": train_seconds,
        "seed": args.seed,
        "git_commit": COMMIT,
        "command": command_line(),
        "quick": args.quick,
        "history": None if history is None else {k: [round(float(v), 4) for v in vs] for k, vs in history.items()},
        **extra,
    }


def _metric_values(metrics):
    return {m["key"]: m["value"] for m in metrics}


def provenance(results, recipe):
    """The checkpoint metadata that names the run which produced it."""
    return {
        "recipe": recipe,
        "command": results["command"],
        "results_file": f"results/{results['name']}.json",
        "seed": results["seed"],
        "seconds": results["train_seconds"],
        "git_commit": results["git_commit"],
        "device": results.get("device"),  # runs before the device was recorded have none
        "parent": None,
    }


def add_standing_statistics_arguments(parser):
    """The GAN recipes' options for `GAN.set_standing_statistics` (BigGAN's standing statistics)."""
    parser.add_argument("--standing-batches", type=int, default=500,
                        help="after training, set the generator's BatchNorm statistics to their averages over "
                             "this many batches of --batch-size codes (GAN.set_standing_statistics; at most 20 "
                             "with --quick); 0 keeps the moving averages")
    parser.add_argument("--standing-only", action="store_true",
                        help="train nothing: load the checkpoint this command writes (--out) and its results "
                             "JSON, set standing statistics, measure again and rewrite both, keeping the "
                             "training's settings and provenance")


def check_standing_statistics_arguments(parser, args):
    if args.standing_batches < 0:
        parser.error(f"--standing-batches must be >= 0; got {args.standing_batches}")
    if args.standing_only and args.standing_batches == 0:
        parser.error("--standing-only sets standing statistics, so it needs --standing-batches > 0")
    if args.quick:
        args.standing_batches = min(args.standing_batches, 20)


def load_trained(out, results_path, name, args, settings):
    """`--standing-only`: the trained checkpoint and its results JSON, which must both exist and be one run's.

    The training's `settings` (keys of the results JSON, e.g. "seed", "samples") replace those of `args`,
    so the run is measured as its training run measured it.
    """
    import zoo

    missing = [str(p) for p in (out, results_path) if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"--standing-only rewrites a trained run, but {' and '.join(missing)} "
                                f"{'do' if len(missing) > 1 else 'does'} not exist; train it first (the same "
                                "command without --standing-only)")
    results = json.loads(Path(results_path).read_text())
    model = zoo.load(str(out), compile=False)
    metadata = model.zoo_metadata
    if results.get("name") != name or metadata.get("command") != results.get("command"):
        raise ValueError(f"{out} and {results_path} are not one run of {name}: the checkpoint was written by "
                         f"`{metadata.get('command')}` ({metadata.get('name')}), the results by "
                         f"`{results.get('command')}` ({results.get('name')})")
    done = results.get("standing_statistics") or metadata.get("standing_statistics")
    if done:
        raise ValueError(f"{out} already has standing statistics (`{done.get('command')}`); setting them again "
                         "would measure their averages, not the training's moving averages")
    if not model.generator_batchnorms:
        raise ValueError(f"{out}'s generator has no BatchNorm, so it has no statistics to set")
    for key in settings:
        if key in results:  # runs recorded before a setting was have the command's (default) value
            setattr(args, key, results[key])
    return model, results


def set_standing_statistics(model, args, measure):
    """Measure with the moving averages, then set standing statistics; the record for results and metadata.

    `measure()` returns `{metric key: value}`; None when nothing was set (--standing-batches 0, or no
    BatchNorm). The codes are drawn with seed `args.seed + 1`, apart from those `sample(n, seed=args.seed)`
    is measured on.
    """
    if args.standing_batches <= 0 or not model.generator_batchnorms:
        return None
    before = measure()
    seed = args.seed + 1
    set_layers = model.set_standing_statistics(batches=args.standing_batches, batch_size=args.batch_size, seed=seed)
    return {"batches": args.standing_batches, "batch_size": args.batch_size, "seed": seed,
            "batchnorm_layers": set_layers, "command": command_line(), "git_commit": COMMIT,
            "backend": keras.backend.backend(), "device": device(),
            "moving_average_metrics": {k: v if isinstance(v, int) else round(float(v), 4) for k, v in before.items()}}


def rewritten_record(trained, metrics, **measured):
    """`--standing-only`: the training run's results record, with this run's metrics and `measured`."""
    return dict(trained, metrics=_metric_values(metrics), **measured)


def trained_metadata(results):
    """Checkpoint metadata that a --standing-only rewrite keeps from the training run (save_checkpoint would
    stamp the measuring run's)."""
    return {"backend": results["backend"], "keras_version": results["keras_version"]}


def write_json(path, data):
    return write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


# CycleGAN recipes (cyclegan_mnist_usps, cyclegan_mnist_outline) -----------------------------------

CYCLEGAN_STEPS_PER_EPOCH = 500  # how often fit logs; the learning-rate schedule runs over all steps


def cyclegan_args(description, steps, argv=None):
    """Arguments of a 28x28 CycleGAN recipe: `base_parser` plus training and architecture options.

    `steps` is the default number of updates of each network; `--quick` trains
    10 steps of 8 images a domain.
    """
    from zoo.models.cyclegan import cyclegan_mnist_usps

    architecture = {k: v.default for k, v in inspect.signature(cyclegan_mnist_usps).parameters.items()}
    parser = base_parser(description)
    parser.add_argument("--steps", type=int, default=steps, help="updates of each network")
    parser.add_argument("--batch-size", type=int, default=32, help="images of each domain per step")
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--identity-weight", type=float, default=architecture["identity_weight"],
                        help="times the cycle weight; 0 drops the identity loss")
    parser.add_argument("--width", type=int, default=architecture["width"], help="generator width")
    parser.add_argument("--blocks", type=int, default=architecture["n_blocks"], help="residual blocks")
    parser.add_argument("--discriminator-width", type=int, default=architecture["discriminator_width"])
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.batch_size = 10, 8
    return args


def train_cyclegan(args, name, x_a, x_b):
    """Builds the 28x28 CycleGAN of `args` and trains it unpaired on `x_a` (domain A) and `x_b` (B), resumably.

    Returns `(model, history, state, training)`, `training` being what the
    results JSON records about the run (steps, epochs, batch size, ...).
    """
    from zoo.models.cyclegan import cyclegan_mnist_usps, unpaired

    model = cyclegan_mnist_usps(width=args.width, n_blocks=args.blocks, discriminator_width=args.discriminator_width,
                                identity_weight=args.identity_weight, seed=args.seed)
    steps_per_epoch = min(args.steps, CYCLEGAN_STEPS_PER_EPOCH)
    epochs = math.ceil(args.steps / steps_per_epoch)
    model.compile(total_steps=epochs * steps_per_epoch, learning_rate=args.learning_rate, jit_compile=jit_compile())
    data = unpaired(x_a, x_b, batch_size=args.batch_size, steps=steps_per_epoch, seed=args.seed)
    state = training_state(args, name, model)
    history = fit(model, data, epochs, args, state)
    training = {
        "steps": int(model.optimizer["generator_ab"].iterations.numpy()),
        "epochs": epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "identity_weight": args.identity_weight,
        "architecture": {"width": args.width, "n_blocks": args.blocks, "discriminator_width": args.discriminator_width},
    }
    return model, history, state, training
