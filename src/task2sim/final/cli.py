"""`task2sim final-sets`, `pretrain-final`, `evaluate-reference`, `evaluate-final`: the final
comparison stages of dvc.yaml, from the controller's predictions to the method tables."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

PREDICTIONS = Path("results/controller/predictions.json")
REWARDS = Path("results/rewards.json")
VECTORS = Path("data/task2vec")
PLAN = Path("results/final/plan.json")
SETS = Path("data/final/sets")
BACKBONES = Path("data/final/backbones")
LOGS = Path("results/final/logs")
TASKS = Path("data/tasks")
REFERENCE = Path("results/final/reference.json")
REFERENCE_FINETUNED = Path("data/final/reference_finetuned")
EVALUATION = Path("results/final/evaluation.json")
FINETUNED = Path("data/final/finetuned")
METRICS = Path("results/metrics.json")
MEANS = Path("results/final/means.json")
TABLES = Path("results/tables")
FIGURE = Path("results/figures/final_per_task.png")
SUMMARY_FIGURE = Path("results/figures/final_summary.png")
STATS = Path("results/final/stats.json")
VERDICTS = Path("results/final/verdicts.md")


def _cmd_final_sets(args: argparse.Namespace) -> None:
    from task2sim.controller.baselines import TABLE_METHODS
    from task2sim.controller.rewards import load_reward_table
    from task2sim.final.plan import build_plan, load_predictions, write_plan
    from task2sim.final.sets import render_final_sets
    from task2sim.params import load_params
    from task2sim.task2vec.embed import load_vectors

    params = load_params(args.params)
    split, final = params.controller, params.final
    tasks = [*split.seen, *split.unseen]
    predictions = load_predictions(args.predictions, tasks) if "task2sim" in final.methods else None
    table = vectors = None
    if set(final.methods) & set(TABLE_METHODS):
        table = load_reward_table(args.rewards)
    if "nearest_task" in final.methods:
        vectors = load_vectors(args.vectors, tasks)
    plan = build_plan(
        final.methods,
        split.seen,
        split.unseen,
        final.random_seed,
        predictions,
        final.seeds,
        table,
        vectors,
    )
    start = time.perf_counter()
    rendered = render_final_sets(params, plan, args.out, progress=not args.quiet)
    write_plan(plan, args.plan)
    for method, per_task in plan.methods.items():
        print(f"{method}: " + ", ".join(f"{t} c{c:03d}" for t, c in per_task.items()))
    print(
        f"{len(plan.configs)} unique configs ({len(rendered)} rendered, "
        f"{len(plan.configs) - len(rendered)} reused), {params.pretrain.images} images at "
        f"{params.pretrain.size} px each -> {args.out} ({time.perf_counter() - start:.1f} s)"
    )


def _cmd_pretrain_final(args: argparse.Namespace) -> None:
    from task2sim.final.plan import read_plan
    from task2sim.final.pretrain import pretrain_final
    from task2sim.params import load_params

    params = load_params(args.params)
    plan = read_plan(args.plan)
    start = time.perf_counter()
    recipe = params.pretrain.train
    trained = pretrain_final(
        plan, recipe, args.sets, args.out, args.logs, not args.quiet, params.final.workers
    )
    total = len(plan.backbones)
    print(
        f"{total} backbones ({len(plan.configs)} sets x {len(plan.seeds)} seeds; "
        f"{len(trained)} trained, {total - len(trained)} reused), {recipe.model} x "
        f"{recipe.epochs} epochs -> {args.out} ({time.perf_counter() - start:.1f} s)"
    )


def _cmd_evaluate_reference(args: argparse.Namespace) -> None:
    from task2sim.atomic import atomic_write_json
    from task2sim.final.evaluate import evaluate_pairs
    from task2sim.final.reference import reference_backbones
    from task2sim.final.summary import records_of
    from task2sim.params import load_params

    params = load_params(args.params)
    start = time.perf_counter()
    rows = reference_backbones(params)
    pairs = [(backbone, task) for backbone, _ in rows for task in params.tasks]
    scores = evaluate_pairs(
        pairs, args.tasks_dir, params.evaluate, args.finetuned, params.final.workers, not args.quiet
    )
    records = records_of(scores, {b.name: (row, seed) for b, (row, seed) in rows})
    atomic_write_json(args.out, records)
    for backbone, _ in rows:
        means = {
            p: sum(scores[backbone.name][t][p] for t in params.tasks) / len(params.tasks)
            for p in ("knn", "linear", "finetune")
        }
        print(f"{backbone.name}: " + ", ".join(f"{p} {v:.2f} %" for p, v in means.items()))
    print(f"{len(rows)} reference network(s) -> {args.out} ({time.perf_counter() - start:.1f} s)")


def _cmd_evaluate_final(args: argparse.Namespace) -> None:
    import pandas as pd

    from task2sim.atomic import atomic_write_json
    from task2sim.final.evaluate import evaluate_backbones
    from task2sim.final.figure import draw_per_task, draw_summary
    from task2sim.final.plan import read_plan
    from task2sim.final.stats import final_stats, gate_text, write_stats
    from task2sim.final.summary import (
        backbone_records,
        pretext_check,
        read_reference,
        scores_frame,
        write_summary,
    )
    from task2sim.params import load_params

    params = load_params(args.params)
    plan = read_plan(args.plan)
    reference = read_reference(args.reference, plan.tasks)  # fail before the long part
    start = time.perf_counter()
    evaluation = evaluate_backbones(
        plan,
        params.evaluate,
        args.backbones,
        args.tasks_dir,
        args.finetuned,
        params.final.workers,
        not args.quiet,
    )
    records = backbone_records(plan, evaluation)
    atomic_write_json(args.out, records)
    data = scores_frame(plan, records, reference)
    stats = final_stats(plan, data, pd.DataFrame.from_records(records))
    write_stats(stats, args.stats, args.tables, args.verdicts)
    pretext = pretext_check(plan, args.backbones, params.pretrain.classes)
    summary = write_summary(plan, data, stats, args.metrics, args.means, args.tables, pretext)
    draw_per_task(plan, data, args.figure)
    draw_summary(stats, args.summary_figure)
    for row, per_protocol in summary.items():
        means = ", ".join(
            f"{p} " + " / ".join(f"{v:.2f}" for v in roles.values())
            for p, roles in per_protocol.items()
        )
        print(f"{row}: {means} (seen / unseen %)")
    print("sanity gate: " + gate_text(stats["sanity_gate"]))
    print(
        f"{len(evaluation)} backbones ({len(plan.configs)} configs x {len(plan.seeds)} seeds), "
        f"{len(records)} scores -> {args.out}, {args.stats}, {args.means}, {args.metrics} "
        f"({time.perf_counter() - start:.1f} s)"
    )


def _cmd_readme_verdicts(args: argparse.Namespace) -> None:
    """Copy the generated verdict blocks into the README (each between its marker lines)."""
    from task2sim.atomic import atomic_write_bytes
    from task2sim.errors import Task2SimError
    from task2sim.final.stats import embed_block

    text = args.readme.read_text(encoding="utf-8")
    for block in (args.verdicts, args.loto):
        if not block.is_file():
            raise Task2SimError(f"{block} not found", "run `dvc repro evaluate loto` first")
        try:
            text = embed_block(text, block.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise Task2SimError(f"{args.readme}: {exc}", "add the two marker lines") from None
    atomic_write_bytes(args.readme, text.encode("utf-8"))
    print(f"{args.verdicts}, {args.loto} -> {args.readme}")


def register(sub: argparse._SubParsersAction) -> None:
    sets = sub.add_parser(
        "final-sets", help="the per-method plan and one final pre-training set per unique config"
    )
    sets.add_argument("--params", type=Path, default=Path("params.yaml"))
    sets.add_argument("--predictions", type=Path, default=PREDICTIONS)
    sets.add_argument(
        "--rewards", type=Path, default=REWARDS, help="reward table of the table-read methods"
    )
    sets.add_argument(
        "--vectors", type=Path, default=VECTORS, help="Task2Vec vectors (nearest_task)"
    )
    sets.add_argument("--plan", type=Path, default=PLAN, help="plan JSON to write")
    sets.add_argument("--out", type=Path, default=SETS, help="parent of the cNNN sets")
    sets.add_argument("--quiet", action="store_true", help="no progress bars")
    sets.set_defaults(func=_cmd_final_sets)

    pre = sub.add_parser("pretrain-final", help="pre-train one backbone per final set")
    pre.add_argument("--params", type=Path, default=Path("params.yaml"))
    pre.add_argument("--plan", type=Path, default=PLAN)
    pre.add_argument("--sets", type=Path, default=SETS)
    pre.add_argument("--out", type=Path, default=BACKBONES, help="parent of the cNNN backbones")
    pre.add_argument("--logs", type=Path, default=LOGS)
    pre.add_argument("--quiet", action="store_true")
    pre.set_defaults(func=_cmd_pretrain_final)

    ref = sub.add_parser(
        "evaluate-reference", help="5-NN / linear / fine-tune of the ImageNet reference networks"
    )
    ref.add_argument("--params", type=Path, default=Path("params.yaml"))
    ref.add_argument("--tasks-dir", type=Path, default=TASKS)
    ref.add_argument("--out", type=Path, default=REFERENCE)
    ref.add_argument("--finetuned", type=Path, default=REFERENCE_FINETUNED)
    ref.add_argument("--quiet", action="store_true")
    ref.set_defaults(func=_cmd_evaluate_reference)

    ev = sub.add_parser(
        "evaluate-final", help="evaluate every final backbone; metrics, tables and the figure"
    )
    ev.add_argument("--params", type=Path, default=Path("params.yaml"))
    ev.add_argument("--plan", type=Path, default=PLAN)
    ev.add_argument("--backbones", type=Path, default=BACKBONES)
    ev.add_argument("--tasks-dir", type=Path, default=TASKS)
    ev.add_argument("--reference", type=Path, default=REFERENCE)
    ev.add_argument("--out", type=Path, default=EVALUATION)
    ev.add_argument("--finetuned", type=Path, default=FINETUNED)
    ev.add_argument("--metrics", type=Path, default=METRICS)
    ev.add_argument("--means", type=Path, default=MEANS, help="every row's means (JSON)")
    ev.add_argument("--tables", type=Path, default=TABLES)
    ev.add_argument("--figure", type=Path, default=FIGURE)
    ev.add_argument("--summary-figure", type=Path, default=SUMMARY_FIGURE)
    ev.add_argument("--stats", type=Path, default=STATS)
    ev.add_argument("--verdicts", type=Path, default=VERDICTS, help="the README's verdict block")
    ev.add_argument("--quiet", action="store_true")
    ev.set_defaults(func=_cmd_evaluate_final)

    readme = sub.add_parser(
        "readme-verdicts",
        help="copy the generated verdicts (final comparison, leave-one-task-out) into the README",
    )
    readme.add_argument("--verdicts", type=Path, default=VERDICTS)
    readme.add_argument("--loto", type=Path, default=Path("results/loto_verdicts.md"))
    readme.add_argument("--readme", type=Path, default=Path("README.md"))
    readme.set_defaults(func=_cmd_readme_verdicts)
