"""Input normalization: :class:`InputNormalizer`, a drop-in ``StandardScaler``."""

from ._normalizer import InputNormalizer

__all__ = ["InputNormalizer"]
