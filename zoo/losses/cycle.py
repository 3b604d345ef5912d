"""CycleGAN's cycle-consistency and identity losses.

Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV 2017 (arXiv:1703.10593).
The paper writes ||.||_1; its code (and this module) takes the mean absolute
error per value (`nn.L1Loss`), the scale at which lambda = 10 was tuned.
Both are computed in float32, whatever precision the generators compute in.
"""

from keras import ops


def cycle_consistency_loss(real, reconstructed):
    """Eq. 2, one direction: E[||F(G(x)) - x||_1], the mean absolute error of the round trip."""
    return ops.mean(ops.abs(ops.cast(reconstructed, "float32") - ops.cast(real, "float32")))


def identity_loss(real, mapped):
    """Section 5.2 (from Taigman et al. 2017): E[||G(y) - y||_1], a target image should pass unchanged."""
    return ops.mean(ops.abs(ops.cast(mapped, "float32") - ops.cast(real, "float32")))
