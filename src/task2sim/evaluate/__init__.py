"""Downstream evaluation (SPEC §5): 5-NN, linear probe and fine-tuning on one feature extractor."""
