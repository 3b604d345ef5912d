"""TensorFlow: gradients with `tf.GradientTape`; Keras' own trainer calls steps as-is."""

import tensorflow as tf

from zoo.backend.common import split_loss


def value_and_grad(fn, variables):
    variables = list(variables)

    def wrapped(*args, **kwargs):
        with tf.GradientTape() as tape:
            loss, aux = split_loss(fn(*args, **kwargs))
        grads = tape.gradient(loss, variables)
        grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
        _, count = replica()
        if count > 1:  # Keras' optimizer sums the replicas' gradients (a mean of their mean losses wanted)
            grads = [g / count for g in grads]
        return (loss, aux), grads

    return wrapped


def replica():
    """(index, count) inside `tf.distribute.Strategy.run`; (0, 1) outside it. The index may be a tensor."""
    context = tf.distribute.get_replica_context()
    if context is None:  # the cross-replica context: not inside a step
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def broadcast(variables):
    pass  # MirroredStrategy creates every variable with the same value on each device


def data_parallel(count):
    """`tf.distribute.MirroredStrategy` on the first `count` GPUs (else CPUs), set for the process
    (`tf.distribute.experimental_set_strategy`: models built after it are mirrored). Returns
    (replicas, index, engine)."""
    cpus = tf.config.list_physical_devices("CPU")
    if count > 1 and not tf.config.list_physical_devices("GPU") and len(cpus) == 1:
        try:  # the CPU as `count` logical devices (for trying the path; no faster than one)
            tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)
            print(f"data parallel on {count} logical CPU devices: the path runs, no faster than one", flush=True)
        except RuntimeError:
            pass  # TensorFlow has started: its devices are fixed (refused below if too few)
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    if count > len(devices):
        raise ValueError(
            f"{count} devices were asked for; TensorFlow sees {len(devices)}: {[d.name for d in devices]}. On a "
            f"CPU, split it into {count} logical devices with tf.config.set_logical_device_configuration before "
            "TensorFlow starts.")
    strategy = tf.distribute.MirroredStrategy([d.name for d in devices[:count]])
    tf.distribute.experimental_set_strategy(strategy)
    return count, 0, strategy


def input_gradient(fn, x):
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:  # nested in the caller's tape: differentiable
        tape.watch(x)
        total = tf.reduce_sum(fn(x))
    return tape.gradient(total, x)


def portable_step(step):
    # Keras' trainer on this backend already calls `step(self, data)`.
    step._zoo_portable = True
    return step
