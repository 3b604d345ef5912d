"""Measurements, computed by the zoo's own code and tested against known values."""

from zoo.metrics.frechet import frechet_distance
from zoo.metrics.likelihood import iwae_bound, iwae_nll
from zoo.metrics.modes import (
    channel_labels,
    high_quality_share,
    kl_to_uniform,
    mode_histogram,
    modes_covered,
    nearest_modes,
    ring_modes_covered,
)
from zoo.metrics.precision_recall import precision_recall

__all__ = [
    "channel_labels",
    "frechet_distance",
    "high_quality_share",
    "iwae_bound",
    "iwae_nll",
    "kl_to_uniform",
    "mode_histogram",
    "modes_covered",
    "nearest_modes",
    "precision_recall",
    "ring_modes_covered",
]
