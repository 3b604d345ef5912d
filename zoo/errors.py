"""Errors the zoo raises. Each message says what was wrong and what was expected."""


class ZooError(Exception):
    """Base class of every error raised on purpose by the zoo."""


class InputError(ZooError, ValueError):
    """User data of the wrong shape, channel count, dtype or range, or with NaNs."""


class DataNotFoundError(ZooError, FileNotFoundError):
    """A dataset or folder of images is missing, empty or unreadable."""


class UnknownModelError(ZooError, KeyError):
    """A model name that is not in the registry (the message lists close matches)."""

    def __str__(self):  # KeyError would otherwise print the message quoted
        return str(self.args[0]) if self.args else ""


class CheckpointError(ZooError):
    """A checkpoint folder that is missing files, fails its checksum, or is too new."""


class TrainingDiverged(ZooError, FloatingPointError):
    """A loss became NaN or infinite; the message names the step."""
