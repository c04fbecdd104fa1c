"""The 256-set reward sweep: one small backbone per simulation config, scored by 5-NN per task."""
