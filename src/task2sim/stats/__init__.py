"""Statistics: confidence intervals and verdicts (the final comparison, leave-one-task-out) and
the reward table as a 2^8 factorial (the sweep's fitted table, the table-read baselines)."""
