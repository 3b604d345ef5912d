"""The reusable training machinery: one objective, or several adversarial players."""

from zoo.trainers.adversarial import AdversarialModel, OptimizerGroup
from zoo.trainers.base import NaNGuard, ZooModel
from zoo.trainers.single import SingleLossModel

__all__ = ["AdversarialModel", "NaNGuard", "OptimizerGroup", "SingleLossModel", "ZooModel"]
