"""The final comparison (SPEC §4): per-method pre-training sets, backbones and their evaluation."""
