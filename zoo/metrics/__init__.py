"""Measurements, computed by the zoo's own code and tested against known values."""

from zoo.metrics.checkerboard import grid_component, grid_power_ratio
from zoo.metrics.codes import (
    balanced_subset,
    cluster_accuracy,
    few_label_accuracy,
    kmeans,
    linear_probe,
    nearest_neighbours,
    normalized_mutual_info,
    retrieval_precision,
)
from zoo.metrics.frechet import frechet_distance
from zoo.metrics.hole import hole_scores, mean_hole_scores
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
from zoo.metrics.psnr import psnr, rgb_to_y, sr_scores
from zoo.metrics.ssim import ssim
from zoo.metrics.swd import sliced_wasserstein

__all__ = [
    "balanced_subset",
    "channel_labels",
    "cluster_accuracy",
    "few_label_accuracy",
    "frechet_distance",
    "grid_component",
    "grid_power_ratio",
    "high_quality_share",
    "hole_scores",
    "iwae_bound",
    "iwae_nll",
    "kl_to_uniform",
    "kmeans",
    "linear_probe",
    "mean_hole_scores",
    "mode_histogram",
    "modes_covered",
    "nearest_modes",
    "nearest_neighbours",
    "normalized_mutual_info",
    "precision_recall",
    "psnr",
    "rgb_to_y",
    "sr_scores",
    "sliced_wasserstein",
    "ssim",
    "retrieval_precision",
    "ring_modes_covered",
]
