"""Helpers shared by the per-backend modules (no backend imports here)."""


def split_loss(out):
    """`fn` may return `loss` or `(loss, aux)`; always give back `(loss, aux)`."""
    if isinstance(out, (tuple, list)) and len(out) == 2:
        return out[0], out[1]
    return out, None
