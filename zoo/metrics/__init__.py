"""Measurements, computed by the zoo's own code and tested against known values."""

from zoo.metrics.likelihood import iwae_bound, iwae_nll

__all__ = ["iwae_bound", "iwae_nll"]
