"""JAX: Keras calls `train_step(state, data)` statelessly; we run the generic step in a scope.

The adapter maps every variable of the model (trainable, non-trainable,
optimizer, metrics) to its value in the state with a `keras.StatelessScope`,
runs the backend-free step there, and reads each variable's new value back.

`value_and_grad` builds a pure function of the trainable values: it runs the
loss in a nested scope whose mapping is the outer scope's current values with
those arguments substituted. Other variables updated inside (BatchNorm
statistics, seed-generator state) come out as aux and are assigned in the
outer scope, so they land in the new state.
"""

import functools

import jax
import jax.numpy as jnp
from keras import StatelessScope
from keras.src.backend.common.stateless_scope import get_stateless_scope

from zoo.backend.common import split_loss

# Every variable the running step may touch; set by `portable_step`.
_step_variables = []


def _current_value(scope, variable):
    value = scope.get_current_value(variable) if scope is not None else None
    return variable.value if value is None else value


def value_and_grad(fn, variables):
    variables = list(variables)
    differentiated = {id(v) for v in variables}

    def wrapped(*args, **kwargs):
        outer = get_stateless_scope()
        known = _step_variables[-1] if _step_variables else variables
        others = [v for v in known if id(v) not in differentiated]
        other_values = [_current_value(outer, v) for v in others]
        values = [_current_value(outer, v) for v in variables]

        def pure(values):
            mapping = list(zip(others, other_values)) + list(zip(variables, values))
            with StatelessScope(state_mapping=mapping) as scope:
                loss, aux = split_loss(fn(*args, **kwargs))
            updates = [scope.get_current_value(v) for v in others]
            return loss, (aux, updates)

        (loss, (aux, updates)), grads = jax.value_and_grad(pure, has_aux=True)(values)
        for variable, new_value in zip(others, updates):
            if new_value is not None:
                variable.assign(new_value)
        return (loss, aux), grads

    return wrapped


def replica():
    # Under keras.distribution a step is one program over the global batch; XLA splits it across devices.
    return 0, 1


def broadcast(variables):
    pass  # DataParallel lays every variable out replicated: one value for all devices


CPU_COLLECTIVE_TIMEOUTS = ("--xla_cpu_collective_call_warn_stuck_timeout_seconds=120 "
                           "--xla_cpu_collective_call_terminate_timeout_seconds=600")


def data_parallel(count):
    """`keras.distribution.DataParallel` on the first `count` devices (of every host, after
    `keras.distribution.initialize()`), set for the process. Returns (replicas, index, engine)."""
    import os

    import keras
    from jax._src import xla_bridge

    if not xla_bridge.backends_are_initialized() and "xla_force_host_platform_device_count" not in os.environ.get(
            "XLA_FLAGS", ""):
        # The host platform as `count` virtual devices (for trying the path on a CPU; GPUs are not affected). Their
        # all-reduce waits for every device's thread, 40 s at most by default: on a loaded CPU (two test runs on
        # two cores) one arrived later and XLA aborted the process; ten minutes is ample.
        os.environ["XLA_FLAGS"] = (f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={count}"
                                   f" {CPU_COLLECTIVE_TIMEOUTS}")
    devices = keras.distribution.list_devices()
    if count > len(devices):
        raise ValueError(
            f"{count} devices were asked for; JAX sees {len(devices)}: {devices}. On a CPU, split it into "
            f"virtual devices with XLA_FLAGS=--xla_force_host_platform_device_count={count} before JAX starts; "
            "on several hosts, call keras.distribution.initialize() first.")
    if devices[0].startswith("cpu"):
        print(f"data parallel on {count} virtual CPU devices: the path runs, no faster than one", flush=True)
    distribution = keras.distribution.DataParallel(devices=devices[:count])
    keras.distribution.set_distribution(distribution)
    return count, jax.process_index(), distribution


def input_gradient(fn, x):
    # `fn` must not update state (no BatchNorm in penalised critics, per the papers).
    return jax.grad(lambda x: jnp.sum(fn(x)))(jnp.asarray(x))


def _updated(scope, variable, old_value):
    value = scope.get_current_value(variable)
    return old_value if value is None else value


def portable_step(step):
    is_train = step.__name__ == "train_step"

    @functools.wraps(step)
    def adapted(self, *args):
        if len(args) == 1:  # `super().train_step(data)` from inside a running step
            return step(self, *args)
        state, data = args
        groups = [self.trainable_variables, self.non_trainable_variables]
        if is_train:
            groups.append(self.optimizer.variables)
        groups.append(self.metrics_variables)
        variables = [v for group in groups for v in group]
        values = [value for group in state for value in group]
        with StatelessScope(state_mapping=list(zip(variables, values))) as scope:
            _step_variables.append(variables)
            try:
                logs = step(self, data)
            finally:
                _step_variables.pop()
        new_state = tuple(
            [_updated(scope, v, old) for v, old in zip(group, group_values)]
            for group, group_values in zip(groups, state)
        )
        return logs, new_state

    adapted._zoo_portable = True
    return adapted
