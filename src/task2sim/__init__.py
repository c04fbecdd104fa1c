"""task2sim-bench: a reproducible DVC re-implementation of Task2Sim (Mishra et al., CVPR 2022)."""

__version__ = "0.1.0"
