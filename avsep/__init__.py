"""avsep: reproducible self-supervised audiovisual learning from raw videos."""

__version__ = "0.1.0"
