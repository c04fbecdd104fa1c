"""Task2Vec (SPEC §6): a task's vector from the Fisher information of a probe network.

`probes` builds the probe, `fisher` computes the vector, `embed` runs it on a prepared task and
writes it, `distance` compares vectors and `halves` checks that a task's two halves agree. Import
the submodule you need: the package itself loads nothing (torch and timm are slow to import).
"""
