"""NeckCoach: a guided neck-exercise coach with live pose feedback."""

__version__ = "0.1.0"
