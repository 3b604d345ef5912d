"""What every benchmark worker shares: the models' settings, thread and device set-up, the timing loop.

No framework is imported here: `setup` must run before TensorFlow, JAX or
PyTorch load, so that the thread and device settings reach them.
"""

import json
import os
import platform
import random
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "BENCH_RESULT "

# The networks and hyper-parameters every implementation uses: the zoo's registry entries and the papers' training.
MODELS = {
    "vae": {  # registry vae_mnist: VAE(latent_dim=32), conv nets of zoo/layers/conv.py; recipes/vae_mnist.py's Adam
        "registry": "vae_mnist", "batch_size": 128, "latent_dim": 32, "filters": (32, 64), "hidden": 256,
        "learning_rate": 1e-3,
    },
    "wgan_gp": {  # registry gan_wgan_gp_mnist: DCGAN nets of width 32, no critic norm; PAPER_TRAINING["wgan_gp"]
        "registry": "gan_wgan_gp_mnist", "batch_size": 64, "latent_dim": 64, "width": 32, "n_critic": 5,
        "learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.9, "gp_weight": 10.0,
    },
    "cyclegan": {  # registry cyclegan_mnist_usps: ResNet generators (width 16, 3 blocks), PatchGANs of width 32
        "registry": "cyclegan_mnist_usps", "batch_size": 1, "width": 16, "n_blocks": 3, "discriminator_width": 32,
        "learning_rate": 2e-4, "beta_1": 0.5, "cycle_weight": 10.0, "identity_weight": 0.5, "pool_size": 50,
    },
    "translation": {  # registry unmt_multi30k_en_fr: UNMT on the joint Multi30k vocabulary, recipes/unmt_multi30k.py
        # batch: sentences of each language per step (each with its back-translation), padded to `length` pieces;
        # `lengths`: real pieces per sentence, drawn uniformly (mean 15, as Multi30k's captions: 14 en, 16 fr).
        "registry": "unmt_multi30k_en_fr", "batch_size": 32, "length": 30, "lengths": (6, 24),
        "languages": ("en", "fr"), "vocab_size": 6000, "split_seed": 0, "sentences": None,
        "embedding_dim": 256, "units": 256, "discriminator_units": 256, "discriminator_layers": 2,
        "word_dropout": 0.1, "word_shuffle": 3, "smoothing": 0.1,
        # UNMT.compile's defaults: Adam(3e-4, beta_1 0.5, clipnorm 5 per tensor) and RMSprop(5e-4) for the discriminator
        "learning_rate": 3e-4, "beta_1": 0.5, "beta_2": 0.999, "clipnorm": 5.0,
        "discriminator_learning_rate": 5e-4, "rho": 0.9,
    },
}
# What the issue also names but the zoo does not have yet.
MISSING_MODELS = {}
# Implementations that have no version of a model, and why.
MISSING_PAIRS = {("keras_io", "translation"): "keras-io has no unsupervised translation example, so the zoo's "
                 "translation step on TensorFlow has no keras-io TF reference"}
BUSY_SHARE = 0.1  # other processes' share of the usable cores above which a measurement counts as contended

IMPLEMENTATIONS = ("zoo", "keras_io", "torch", "jax")  # keras_io: the keras-io style TF-only train_step
FRAMEWORK = {"torch": "torch", "jax": "jax", "keras_io": "tensorflow"}  # reference -> the zoo backend it is compared to


def setup(device="cpu", threads=None, keras_backend=None):
    """Pin the process to `threads` cores and set every framework's thread and device knobs; returns them.

    Call before importing any framework. The same settings go to every
    implementation: the cores the process may run on (sched_setaffinity, which
    TF, XLA and OpenMP size their pools by), OMP/MKL threads, TF's intra-op
    threads and `torch.set_num_threads` (see `apply_threads`).
    """
    cpus = sorted(os.sched_getaffinity(0))
    threads = int(threads or len(cpus))
    if threads < len(cpus):
        os.sched_setaffinity(0, cpus[:threads])
    env = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads), "TF_NUM_INTRAOP_THREADS": str(threads),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    if device == "cpu":
        env.update({"CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu"})
    else:  # TF, if loaded beside JAX or torch for tf.data, must not take the whole GPU
        env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    if keras_backend:
        env["KERAS_BACKEND"] = keras_backend
    shared = ROOT.parent / "shared" / "data"  # the translation model's Multi30k, as tools/run_tests.py finds it
    if "ZOO_DATA_DIR" not in os.environ and shared.is_dir():
        env["ZOO_DATA_DIR"] = str(shared)
    os.environ.update(env)
    return {"threads": threads, "cores": sorted(os.sched_getaffinity(0)), "env": env}


def apply_threads(framework, threads):
    """The per-framework thread calls that environment variables do not cover."""
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
    elif framework == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        except RuntimeError:  # the runtime is already up; TF_NUM_INTRAOP_THREADS applied
            pass


def synthetic(model_name, n, channels_first=False, seed=0, cfg=None):
    """Random batches of the model's shape: for the image models, images in [0, 1], float32: `(x,)`, or `(a, b)`
    for CycleGAN's two domains; for translation, a dict like `UNMTBatches`' (see `synthetic_sentences`)."""
    rng = np.random.default_rng(seed)
    if model_name == "translation":
        return synthetic_sentences(cfg or MODELS[model_name], n, rng)
    shape = (n, 1, 28, 28) if channels_first else (n, 28, 28, 1)
    return tuple(rng.random(shape, dtype=np.float32) for _ in range(2 if model_name == "cyclegan" else 1))


def synthetic_sentences(cfg, n, rng):
    """`{l: ids, l + "_translated": ids}` per language: int32 `(n, length)` id matrices padded with 0 on the
    right, as `zoo.models.unmt.UNMTBatches` gives. Each sentence has `lengths` pieces (uniform), drawn from the
    ordinary pieces: no padding, unknown, end-of-sentence or language ids (the tokenizer puts none in a
    sentence), so the step adds end-of-sentence and language tokens itself, as in training."""
    low, high = cfg["lengths"]
    first_ordinary = 3 + len(cfg["languages"])  # after PAD_ID, UNK_ID, EOS_ID and one control id per language
    positions = np.arange(cfg["length"])[None, :]
    batch = {}
    for lang in cfg["languages"]:
        for key in (lang, f"{lang}_translated"):
            ids = rng.integers(first_ordinary, cfg["vocab_size"], (n, cfg["length"]), dtype=np.int32)
            size = rng.integers(low, high + 1, (n, 1))
            batch[key] = np.where(positions < size, ids, 0).astype(np.int32)
    return batch


def translation_vocabulary(cfg):
    """The translation model's joint SentencePiece vocabulary: `zoo.data.multi30k.multi30k_tokenizer` (Keras-free;
    the Multi30k monolingual training halves under `$ZOO_DATA_DIR`; a few seconds).

    Every implementation builds it: the zoo's model needs it, the references
    take the word-start table of the noise model from it. `cfg["sentences"]`
    limits the sentences per language (the tests' small vocabularies).
    """
    from zoo.data.multi30k import multi30k_tokenizer

    languages = tuple(cfg["languages"])
    tokenizer = multi30k_tokenizer(languages, cfg["vocab_size"], split_seed=cfg["split_seed"],
                                   max_sentences=cfg.get("sentences"))
    if tokenizer.vocab_size != cfg["vocab_size"] or tokenizer.language_ids != {
            lang: 3 + i for i, lang in enumerate(languages)}:
        raise SystemExit(f"the learned vocabulary has {tokenizer.vocab_size} pieces and language ids "
                         f"{tokenizer.language_ids}; the benchmark's settings expect {cfg['vocab_size']} pieces "
                         f"and ids from 3 (set MODELS['translation']['vocab_size'] to the vocabulary's size)")
    return tokenizer


class LoopBench:
    """A hand-written training loop: `step(*batch)` (or `step(batch)` for a dict of arrays) on framework tensors
    that `to_device(numpy array)` makes.

    `run_steps` cycles through a few batches staged on the device; `fit_times`
    runs the loop a user writes: each epoch a fresh permutation, each step a
    slice of the numpy arrays sent to the device, no per-step logging.
    """

    def __init__(self, step, to_device, sync, make_data, batch_size, wait=None, staged=4, seed=0):
        self.step, self.to_device, self.sync, self.make_data = step, to_device, sync, make_data
        self.wait = wait or (lambda batch: sync())  # block until a staged batch is on the device
        self.batch_size = int(batch_size)
        arrays = make_data(staged * self.batch_size)
        self.batches = [self._slice(arrays, np.arange(i * self.batch_size, (i + 1) * self.batch_size))
                        for i in range(staged)]
        self.step_count = 0
        self.rng = np.random.default_rng(seed)
        self.last = None

    def _slice(self, arrays, index):
        if isinstance(arrays, dict):
            return {key: self.to_device(a[index]) for key, a in arrays.items()}
        return tuple(self.to_device(a[index]) for a in arrays)

    def _train(self, batch):
        return self.step(batch) if isinstance(batch, dict) else self.step(*batch)

    def run_steps(self, n):
        for _ in range(n):
            self._train(self.batches[self.step_count % len(self.batches)])
            self.step_count += 1

    def finish_steps(self):
        pass

    def _epoch(self, arrays, steps, train):
        order = self.rng.permutation(len(next(iter(arrays.values())) if isinstance(arrays, dict) else arrays[0]))
        for i in range(steps):
            batch = self._slice(arrays, order[i * self.batch_size:(i + 1) * self.batch_size])
            if train:
                self._train(batch)
            self.last = batch

    def fit_times(self, steps, reps, warmup):
        arrays = self.make_data(steps * self.batch_size)
        self._epoch(arrays, min(warmup, steps), train=True)
        return timed_reps(lambda n: self._epoch(arrays, n, train=True), self.sync, steps, reps)

    def pipeline_times(self, steps, reps):
        arrays = self.make_data(steps * self.batch_size)
        return timed_reps(lambda n: self._epoch(arrays, n, train=False), lambda: self.wait(self.last), steps, reps)


def timed_reps(run, sync, steps, reps):
    """Seconds of each of `reps` repetitions of `run(steps)`, synchronised with the device at both ends."""
    times = []
    for _ in range(reps):
        sync()
        start = time.perf_counter()
        run(steps)
        sync()
        times.append(time.perf_counter() - start)
    return times


def steps_for(seconds_per_step, rep_seconds, min_steps=2, max_steps=500):
    """Steps per repetition so that one repetition lasts about `rep_seconds`."""
    return int(min(max_steps, max(min_steps, round(rep_seconds / max(seconds_per_step, 1e-6)))))


def rates(times, steps, batch_size):
    """Median and spread of steps/s over the repetitions."""
    values = sorted(steps / t for t in times)
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (values[0],) * 3
    median = statistics.median(values)
    return {"steps_per_s": median, "q1": q1, "q3": q3, "min": values[0], "max": values[-1],
            "images_per_s": median * batch_size, "steps_per_rep": steps, "reps": len(values),
            "seconds": [round(t, 4) for t in times]}


def rss_mb():
    """Current resident memory of this process, MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb():
    """Peak resident memory of this process so far, MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warm_up(bench, min_steps=3, max_seconds=60.0, window=3, tolerance=0.25):
    """Run single steps until the last `window` agree within `tolerance` (or `max_seconds` pass); their times.

    Compilation is the first step, but not the only slow one: the zoo on
    torch takes about ten steps on this CPU to reach its steady speed.
    """
    times = []
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        bench.run_steps(1)
        bench.sync()
        times.append(time.perf_counter() - t)
        last = times[-window:]
        if len(times) >= max(min_steps, window) and max(last) <= (1 + tolerance) * min(last):
            return times, True
        if time.perf_counter() - start > max_seconds:
            return times, False


def measure(bench, batch_size, warmup=3, warmup_seconds=60.0, reps=5, rep_seconds=3.0, steps=None, max_steps=500,
            modes=("step", "fit")):
    """Time `bench` (see worker.py for its interface): compiled steps on staged tensors, then the user's loop.

    Warm-up steps (compilation included) are excluded: at least `warmup`,
    more until the step time is steady. The steady step time sizes the
    repetitions to about `rep_seconds` unless `steps` is given.
    """
    times, stable = warm_up(bench, warmup, warmup_seconds)
    out = {"warmup_steps": len(times), "warmup_seconds": round(sum(times), 2), "warmup_stable": stable,
           "first_step_seconds": round(times[0], 3)}
    if steps is None:
        steps = steps_for(statistics.median(times[-3:]), rep_seconds, max_steps=max_steps)
    if "step" in modes:
        out["step"] = rates(timed_reps(bench.run_steps, bench.sync, steps, reps), steps, batch_size)
    bench.finish_steps()
    if "fit" in modes:
        out["fit"] = rates(bench.fit_times(steps, reps, warmup), steps, batch_size)
        pipeline = bench.pipeline_times(steps, reps)
        if pipeline is not None:
            out["pipeline_seconds"] = [round(t, 4) for t in pipeline]
            out["input_share"] = statistics.median(pipeline) / statistics.median(out["fit"]["seconds"])
    return out


def git_commit():
    """The commit of the code being measured (`zoo.io.git_commit`, which imports no framework)."""
    from zoo.io import git_commit as commit

    return commit(ROOT)


def cpu_times():
    """A snapshot for `others_busy`: busy and total seconds of the cores this process may use (from /proc/stat;
    all cores if their lines are missing) and this process's own CPU seconds. None without /proc/stat."""
    cores = {f"cpu{c}" for c in os.sched_getaffinity(0)}
    try:
        with open("/proc/stat") as f:
            rows = {parts[0]: [int(v) for v in parts[1:9]] for parts in map(str.split, f)
                    if parts and parts[0].startswith("cpu")}
    except (OSError, ValueError):
        return None
    chosen = [rows[c] for c in sorted(cores) if c in rows]
    if len(chosen) != len(cores):
        chosen = [rows["cpu"]] if "cpu" in rows else []
    if not chosen:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal (guest time is inside user and nice)
    total = sum(sum(row) for row in chosen) / tick
    idle = sum(row[3] + row[4] for row in chosen) / tick
    return {"busy": total - idle, "total": total, "own": time.process_time()}


def others_busy(before, after):
    """Share of the cores' time between two `cpu_times` snapshots that other processes kept busy (0 to 1)."""
    total = after["total"] - before["total"]
    busy = (after["busy"] - before["busy"]) - (after["own"] - before["own"])
    return min(1.0, max(0.0, busy / total)) if total > 0 else 0.0


def cpu_busy(seconds=1.5):
    """How busy other processes keep this process's cores now: their share of the cores' time over the next
    `seconds`, measured from /proc/stat, as `{"share", "seconds", "source"}`.

    Unlike the load average, which decays over minutes and so still counts a
    benchmark that ended a minute ago, this sees only the present. Without
    /proc/stat it falls back to the 1-minute load average per usable core.
    """
    before = cpu_times()
    if before is None:
        share = os.getloadavg()[0] / len(os.sched_getaffinity(0))
        return {"share": round(min(1.0, share), 3), "seconds": None, "source": "1-minute load average per core"}
    time.sleep(seconds)
    share = others_busy(before, cpu_times())
    return {"share": round(share, 3), "seconds": seconds, "source": "/proc/stat"}


def machine():
    """The machine in words and numbers: CPU model, cores, memory, OS, Python, and how busy other processes
    keep it (`cpu_busy`, measured over 1.5 s; the load average is kept for reference)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return {"cpu": cpu, "cores_online": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)),
            "memory_gb": round(memory_gb, 1), "os": platform.platform(), "python": sys.version.split()[0],
            "load_average": [round(x, 2) for x in os.getloadavg()], "cpu_busy": cpu_busy()}


def emit(record):
    """The one line run.py reads from a worker's stdout."""
    print(RESULT_PREFIX + json.dumps(record, sort_keys=True), flush=True)


class ImagePool:
    """The 50-image pool of the CycleGAN authors' code (util/image_pool.py), for any framework's arrays.

    `query` takes single images and returns as many, each either the new one
    or (with probability 1/2, once full) a stored one that the new one replaces;
    the caller stacks them. `copy` is applied to a stored image handed back.
    """

    def __init__(self, size=50, copy=lambda image: image):
        self.size = size
        self.copy = copy
        self.images = []

    def query(self, images):
        out = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.random() > 0.5:
                i = random.randint(0, self.size - 1)
                out.append(self.copy(self.images[i]))
                self.images[i] = image
            else:
                out.append(image)
        return out
