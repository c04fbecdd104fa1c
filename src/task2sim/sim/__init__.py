"""The 8 binary simulation parameters of Task2Sim and the per-image scene sampler."""
