"""EoRaS model components, one module per part of the paper's architecture."""
from .eoras import EoRaS

__all__ = ["EoRaS"]
