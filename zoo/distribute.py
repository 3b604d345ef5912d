"""Data-parallel training on several devices, through each backend's own engine.

    import zoo
    zoo.distribute.data_parallel(4)     # first, before a model is built or loaded
    model = zoo.load("vae_mnist")
    model.compile_for_finetuning()
    model.fit(x, batch_size=256)        # the global batch: 64 on each device

One call sets the engine up for the process:

- JAX: `keras.distribution.DataParallel`. Variables are replicated, the global
  batch is sharded, and XLA all-reduces the gradients. On several hosts, call
  `keras.distribution.initialize()` on each first.
- TensorFlow: `tf.distribute.MirroredStrategy`, set for the process. Keras'
  optimizer sums the replicas' gradients; the zoo's `value_and_grad` divides
  each replica's by the count, so a step follows the global batch's mean loss.
- PyTorch: one process per device, launched by `torchrun --nproc_per_node N`,
  on NCCL (gloo on CPUs). DDP's gradient hooks fire only on `.backward()`, and
  the zoo's steps take `torch.autograd.grad`, so `zoo.backend` all-reduces
  the gradients itself. `fit` gives each process its slice of every global
  batch and starts from process 0's weights; validation data is evaluated
  whole by every process.

A step on N devices computes what one device computes on the same global
batch: the noise a step draws (`zoo.random`) is the global batch's, each
replica keeping its slice. Two exceptions are documented rather than hidden:
BatchNorm normalizes each replica's slice on TensorFlow and PyTorch (per
replica, as both engines do by default; on JAX the statistics are the global
batch's), and the noise of UNMT's word dropout and CycleGAN's image pool is
drawn per replica.

Only process 0 (`is_chief()`) should write files: checkpoints, results.
"""

import keras

from zoo import backend

_CURRENT = None


class DataParallel:
    """The running data-parallel setup: `replicas` devices, this process's `index`, the backend's `engine`."""

    def __init__(self, replicas, index, engine):
        self.replicas = replicas
        self.index = index
        self.engine = engine

    @property
    def is_chief(self):
        return self.index == 0

    @property
    def splits_batches(self):
        """Whether the engine splits each global batch itself (JAX, TensorFlow); torch's processes don't."""
        return backend.name() != "torch"

    def check_batch_size(self, batch_size):
        if batch_size is not None and batch_size % self.replicas:
            raise ValueError(f"The global batch ({batch_size}) must divide among the {self.replicas} devices; "
                             f"use a multiple of {self.replicas}.")

    def shard(self, x, batch_size):
        """This process's part of `x` and its batch size: each global batch's contiguous slice (torch). The
        last, partial global batch is left out, so that every process takes the same number of steps."""
        if self.splits_batches or x is None:
            return x, batch_size
        if hasattr(x, "__array__") or (isinstance(x, (tuple, list)) and all(hasattr(a, "__array__") for a in x)):
            local = batch_size // self.replicas

            def part(a):
                steps = len(a) // batch_size
                if steps == 0:
                    raise ValueError(f"{len(a)} examples make no global batch of {batch_size}")
                a = a[:steps * batch_size].reshape((steps, self.replicas, local) + a.shape[1:])
                return a[:, self.index].reshape((steps * local,) + a.shape[3:])
            return (part(x) if hasattr(x, "__array__") else type(x)(part(a) for a in x)), local
        if isinstance(x, keras.utils.PyDataset):
            return ReplicaBatches(x, self.index, self.replicas), None
        raise TypeError(f"Data-parallel fit on torch takes numpy arrays or a keras.utils.PyDataset; got "
                        f"{type(x).__name__}")

    def prepare(self, model):
        """Start every process from process 0's values (torch; the other engines keep replicas equal)."""
        variables = list(model.variables)
        if getattr(model, "optimizer", None) is not None:
            variables += list(model.optimizer.variables)
        backend.broadcast(variables)


class ReplicaBatches(keras.utils.PyDataset):
    """Process `index`'s contiguous slice of each batch of a `PyDataset` (one of `count` equal slices)."""

    def __init__(self, batches, index, count):
        super().__init__()
        self.batches, self.index, self.count = batches, index, count

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return keras.tree.map_structure(self._slice, self.batches[i])

    def on_epoch_end(self):
        self.batches.on_epoch_end()

    def _slice(self, a):
        if a is None or not hasattr(a, "shape") or not a.shape:
            return a
        if a.shape[0] % self.count:
            raise ValueError(f"A batch of {a.shape[0]} must divide among the {self.count} devices")
        local = a.shape[0] // self.count
        return a[self.index * local:(self.index + 1) * local]


def data_parallel(devices):
    """Train every model built after this on `devices` devices (an int >= 1), data-parallel; returns the
    `DataParallel`. Call it once per process, before any model is built or loaded."""
    global _CURRENT
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise ValueError(f"devices must be a positive integer; got {devices!r}")
    if _CURRENT is not None:
        if _CURRENT.replicas == devices:
            return _CURRENT
        raise ValueError(f"This process already trains on {_CURRENT.replicas} devices; the engine is set up once "
                         "per process")
    if devices == 1:
        return None
    _CURRENT = DataParallel(*backend.data_parallel(devices))
    return _CURRENT


def current():
    """The process's `DataParallel`, or None on one device."""
    return _CURRENT


def is_chief():
    """Whether this process writes the files (process 0, or the only one)."""
    return _CURRENT is None or _CURRENT.is_chief


def check_keras_distribution():
    """A `keras.distribution` set by the user trains the zoo's models on JAX only: say so on other backends."""
    if backend.name() != "jax" and keras.distribution.distribution() is not None:
        raise ValueError(
            f"keras.distribution.set_distribution(...) trains the zoo's models on JAX only; on {backend.name()} "
            "use zoo.distribute.data_parallel(devices), which uses "
            + ("tf.distribute.MirroredStrategy." if backend.name() == "tensorflow" else "torch.distributed."))
