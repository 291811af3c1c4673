"""fannctl: FANN-compatible neural networks, from the shell and from Python."""

__version__ = "0.1.0"
