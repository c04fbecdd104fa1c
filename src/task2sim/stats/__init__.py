"""Confidence intervals and verdicts shared by the final comparison and leave-one-task-out."""
