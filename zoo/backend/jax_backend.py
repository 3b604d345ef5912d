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
