#!/usr/bin/env bash
# Queue the DVC experiments behind the scale figures: accuracy against pre-training images,
# object classes and objects per class (supp. Figs 5-7, 9-11) and against the backbone
# (supp. Figs 2-3), each varying one pretrain param from params.yaml. Then run the queue and
# draw the curves:
#
#   scripts/run.sh scripts/scale_experiments.sh      # queue (instant)
#   scripts/run.sh dvc queue start -j 1              # run them (one at a time: 2 cores)
#   scripts/run.sh dvc queue status                  # until every one says Success
#   scripts/run.sh task2sim report --from-exps       # results/figures/scale_*.png
#
# Each experiment re-runs final_sets -> pretrain -> evaluate (and cka, figures, plot_data), so
# at the embedded default it costs about as long as those stages in a full run (README: Time);
# the model experiments also re-run evaluate_reference (its scratch row uses the architecture).
set -euo pipefail
queue() { dvc exp run --queue --name "$1" -S "$2"; }
for n in 1000 4000 8000; do queue "images-$n" "pretrain.images=$n"; done
for n in 5 20; do queue "classes-$n" "pretrain.classes=$n"; done
for n in 2 4 16; do queue "objects-$n" "pretrain.objects_per_class=$n"; done
for m in resnet18 resnet26 resnet50; do queue "model-$m" "pretrain.train.model=$m"; done
echo "queued $(dvc queue status | grep -c Queued) experiments: start them with 'dvc queue start -j 1'"
