"""Two Keras layers on the torch backend through torch's own kernels: group normalization and the GRU.

Keras runs both as chains of small `keras.ops` calls. On torch each op costs
tens of microseconds of Python, more than the arithmetic at the zoo's sizes:

- `GroupNormalization` (the zoo's instance normalization, Ulyanov et al. 2016)
  is about 15 ops; `torch.nn.functional.group_norm` is one kernel. CycleGAN's
  generators and discriminators call it 66 times a step.
- A `GRU` given a mask (the translation encoder's padding) takes Keras'
  generic loop: the cell's ops at every time step. Keras sends only unmasked
  GRUs to torch's GRU, and on the CPU not even those. Here a right-padded mask
  (Keras' own condition for cuDNN) runs torch's GRU (cuDNN on a GPU) on the
  padded batch, and the padding is put back as Keras' loop would leave it.

Both give Keras' outputs, states and gradients within float rounding (the tests
compare them with Keras' own) and hand anything else to Keras: other
activations, dropout inside the GRU, stateful GRUs, `use_cudnn` other than
"auto", masks that are not right-padded, group normalization over axis 0. Two
cases differ beyond rounding, both in the kernel's favour: group norm's
variance is computed as torch computes it, not as E[x^2] - E[x]^2 (which loses
every digit for a large mean and a small spread), and float64 inputs are
normalized in float64 (Keras computes them in float32).
"""

import torch
import torch.nn.functional as F
from keras import activations, tree
from keras.src.backend.torch.core import convert_to_tensor, to_torch_dtype


def _group_norm_call(self, inputs):
    """Keras' `GroupNormalization.call` as `torch.nn.functional.group_norm` (channels moved to axis 1)."""
    axis = self.axis % inputs.dim() if isinstance(inputs, torch.Tensor) and inputs.dim() >= 2 else 0
    if axis == 0:  # not a tensor, or normalizing across the batch: Keras' own
        return KERAS_GROUP_NORM_CALL(self, inputs)
    compute_dtype = torch.promote_types(inputs.dtype, torch.float32)  # Keras upcasts float16 inputs too
    x = inputs.to(compute_dtype)
    if axis != 1:
        x = torch.movedim(x, axis, 1)
    gamma = convert_to_tensor(self.gamma).to(compute_dtype) if self.scale else None
    beta = convert_to_tensor(self.beta).to(compute_dtype) if self.center else None
    y = F.group_norm(x, self.groups, gamma, beta, self.epsilon)
    if axis != 1:
        y = torch.movedim(y, 1, axis)
    return y.to(inputs.dtype).to(to_torch_dtype(self.compute_dtype))


def _gru_inner_loop(self, sequences, initial_state, mask, training=False):
    """Keras' `GRU.inner_loop`, with torch's GRU kernel for right-padded masks and on the CPU."""
    cell = self.cell
    # `use_cudnn=True` stays with Keras (which refuses it for masks); a stateful GRU too, as its state
    # variable is overwritten after the call while the kernel still holds it for the backward pass
    if (self.use_cudnn == "auto" and not self.stateful and cell.reset_after and cell.use_bias and not self.unroll
            and not cell.recurrent_dropout and not (training and cell.dropout)
            and cell.activation in (activations.tanh, torch.tanh)
            and cell.recurrent_activation in (activations.sigmoid, torch.sigmoid)):
        state = initial_state[0] if tree.is_nested(initial_state) else initial_state
        mask = mask[0] if tree.is_nested(mask) else mask
        result = _gru(sequences, state, mask, cell, self.return_sequences, self.go_backwards,
                      self.zero_output_for_mask)
        if result is not None:
            return result
    return KERAS_GRU_INNER_LOOP(self, sequences, initial_state, mask, training=training)


def _gru(sequences, initial_state, mask, cell, return_sequences, go_backwards, zero_output_for_mask):
    """`(last_output, outputs, [state])` as Keras' RNN loop returns them, or None where it cannot say.

    Keras' loop with a right-padded mask: a row of length n runs its first n
    steps; its state stays at step n; its outputs past n are zeros or (when
    `zero_output_for_mask` is off) the last one again. Going backwards the
    padding comes first (outputs zero) and the row is read from step n - 1 down.
    So the kernel runs each row reversed within its length (as tf's cuDNN path
    does), and the outputs are shifted into Keras' places.
    """
    from keras.src.backend.torch.rnn import _cudnn_gru

    kernel = convert_to_tensor(cell.kernel)
    inputs = convert_to_tensor(sequences).to(kernel.dtype)
    initial_state = convert_to_tensor(initial_state).to(kernel.dtype)
    batch, steps = inputs.shape[0], inputs.shape[1]
    positions = torch.arange(steps, device=inputs.device)
    if mask is not None:
        mask = convert_to_tensor(mask)
        if mask.dtype != torch.bool or mask.shape != (batch, steps):
            return None
        lengths = mask.sum(dim=1)
        valid = positions < lengths[:, None]
        if not torch.equal(valid, mask):  # one read from the device: not right-padded -> Keras' loop
            return None
    if go_backwards and mask is None:
        inputs = inputs.flip(1)
    elif go_backwards:  # each row reversed within its length
        index = torch.where(valid, lengths[:, None] - 1 - positions, positions)
        inputs = torch.gather(inputs, 1, index[..., None].expand_as(inputs))
    _, outputs, (state,) = _cudnn_gru(inputs, initial_state, kernel, convert_to_tensor(cell.recurrent_kernel),
                                      convert_to_tensor(cell.bias), return_sequences=True, device=inputs.device)
    if mask is not None:
        at_end = torch.gather(outputs, 1, (lengths - 1).clamp(min=0)[:, None, None].expand(-1, 1, outputs.shape[2]))
        empty = (lengths == 0)[:, None]
        state = torch.where(empty, initial_state, at_end[:, 0])
        if go_backwards:  # output s is the kernel's s - (steps - n), zero before
            shift = positions - (steps - lengths[:, None])
            shifted = torch.gather(outputs, 1, shift.clamp(min=0)[..., None].expand_as(outputs))
            outputs = torch.where((shift >= 0)[..., None], shifted, 0.0)
        else:
            filler = 0.0 if zero_output_for_mask else torch.where(empty[..., None], 0.0, at_end)
            outputs = torch.where(valid[..., None], outputs, filler)
    last_output = outputs[:, -1]
    return last_output, outputs if return_sequences else last_output[:, None], [state]


KERAS_GROUP_NORM_CALL = None  # Keras' own methods, for the fallbacks and the tests that compare with them
KERAS_GRU_INNER_LOOP = None


def install():
    global KERAS_GROUP_NORM_CALL, KERAS_GRU_INNER_LOOP
    from keras.src.layers.normalization.group_normalization import GroupNormalization
    from keras.src.layers.rnn.gru import GRU

    if KERAS_GROUP_NORM_CALL is None:
        KERAS_GROUP_NORM_CALL = GroupNormalization.call
        KERAS_GRU_INNER_LOOP = GRU.inner_loop
        GroupNormalization.call = _group_norm_call
        GRU.inner_loop = _gru_inner_loop
