"""PyTorch: gradients with `torch.autograd.grad`.

`autograd.grad` rather than `.backward()`, so gradients are returned instead of
accumulated in `.grad`: two optimizers (generator, critic) never see each
other's gradients. Steps run eagerly (torch.compile fails on double backward).
"""

import torch
from keras import tree

from zoo.backend.common import split_loss


def _detach(x):
    return x.detach() if isinstance(x, torch.Tensor) else x


def value_and_grad(fn, variables):
    variables = list(variables)

    def wrapped(*args, **kwargs):
        with torch.enable_grad():
            loss, aux = split_loss(fn(*args, **kwargs))
            tensors = [v.value for v in variables]
            if loss.requires_grad:
                grads = torch.autograd.grad(loss, tensors, allow_unused=True)
            else:  # the loss does not depend on any variable (TF and JAX give zeros too)
                grads = [None] * len(tensors)
        grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, tensors)]
        return (_detach(loss), tree.map_structure(_detach, aux)), grads

    return wrapped


def input_gradient(fn, x):
    x = torch.as_tensor(x)
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        total = torch.sum(fn(x))
        (grad,) = torch.autograd.grad(total, x, create_graph=True)
    return grad


def portable_step(step):
    # Keras' trainer on this backend already calls `step(self, data)`.
    step._zoo_portable = True
    return step
