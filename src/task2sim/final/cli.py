"""`task2sim final-sets`, `pretrain-final`, `evaluate-reference`, `evaluate-final`: the final
comparison stages of dvc.yaml, from the controller's predictions to the method tables."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

PREDICTIONS = Path("results/controller/predictions.json")
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
TABLES = Path("results/tables")
FIGURE = Path("results/figures/final_per_task.png")


def _cmd_final_sets(args: argparse.Namespace) -> None:
    from task2sim.final.plan import build_plan, load_predictions, write_plan
    from task2sim.final.sets import render_final_sets
    from task2sim.params import load_params

    params = load_params(args.params)
    split, final = params.controller, params.final
    tasks = [*split.seen, *split.unseen]
    predictions = load_predictions(args.predictions, tasks) if "task2sim" in final.methods else None
    plan = build_plan(final.methods, split.seen, split.unseen, final.random_seed, predictions)
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
    trained = pretrain_final(plan, recipe, args.sets, args.out, args.logs, not args.quiet)
    print(
        f"{len(plan.configs)} backbones ({len(trained)} trained, "
        f"{len(plan.configs) - len(trained)} reused), {recipe.model} x {recipe.epochs} epochs "
        f"-> {args.out} ({time.perf_counter() - start:.1f} s)"
    )


def _cmd_evaluate_reference(args: argparse.Namespace) -> None:
    from task2sim.atomic import atomic_dir, atomic_write_json
    from task2sim.datasets.format import load_task
    from task2sim.final.evaluate import FINETUNED_BACKBONES, evaluate_on_tasks
    from task2sim.final.reference import references, unwrap
    from task2sim.final.store import prune, work_dir
    from task2sim.params import load_params

    params = load_params(args.params)
    start = time.perf_counter()
    tasks = {name: load_task(args.tasks_dir / name) for name in params.tasks}
    rows = references(params.reference, params.pretrain.train, params.pretrain.classes)
    work = work_dir(args.finetuned)
    results = {}
    with atomic_dir(args.finetuned, FINETUNED_BACKBONES) as tmp:
        for ref in rows:
            results[ref.name] = evaluate_on_tasks(
                ref.name,
                ref.build,
                ref.identity,
                ref.meta,
                tasks,
                args.tasks_dir,
                params.evaluate,
                work,
                tmp,
                unwrap=unwrap,
                progress=not args.quiet,
            )
    prune(work, [ref.name for ref in rows])
    atomic_write_json(args.out, results)
    for name, per_task in results.items():
        for task, scores in per_task.items():
            print(f"{name} {task}: " + ", ".join(f"{p} {v:.2f} %" for p, v in scores.items()))
    print(f"{len(rows)} reference(s) -> {args.out} ({time.perf_counter() - start:.1f} s)")


def _cmd_evaluate_final(args: argparse.Namespace) -> None:
    from task2sim.atomic import atomic_write_json
    from task2sim.final.evaluate import evaluate_backbones
    from task2sim.final.figure import draw_per_task
    from task2sim.final.plan import read_plan
    from task2sim.final.summary import pretext_check, read_reference, rows, write_summary
    from task2sim.params import load_params

    params = load_params(args.params)
    plan = read_plan(args.plan)
    reference = read_reference(args.reference, plan.tasks)  # fail before the long part
    start = time.perf_counter()
    evaluation = evaluate_backbones(
        plan, params.evaluate, args.backbones, args.tasks_dir, args.finetuned, not args.quiet
    )
    atomic_write_json(args.out, evaluation)
    table = rows(plan, evaluation, reference)
    pretext = pretext_check(plan, args.backbones, params.pretrain.classes)
    summary = write_summary(plan, table, args.metrics, args.tables, pretext)
    draw_per_task(plan, table, args.figure)
    for row, per_protocol in summary.items():
        means = ", ".join(
            f"{p} " + " / ".join(f"{v:.2f}" for v in roles.values())
            for p, roles in per_protocol.items()
        )
        print(f"{row}: {means} (seen / unseen %)")
    pairs = sum(len(v) for v in evaluation.values())
    print(
        f"{len(evaluation)} backbones, {pairs} (backbone, task) pairs -> {args.out}, "
        f"{args.metrics} ({time.perf_counter() - start:.1f} s)"
    )


def register(sub: argparse._SubParsersAction) -> None:
    sets = sub.add_parser(
        "final-sets", help="the per-method plan and one final pre-training set per unique config"
    )
    sets.add_argument("--params", type=Path, default=Path("params.yaml"))
    sets.add_argument("--predictions", type=Path, default=PREDICTIONS)
    sets.add_argument("--plan", type=Path, default=PLAN, help="plan JSON to write")
    sets.add_argument("--out", type=Path, default=SETS, help="parent of the cNNN sets")
    sets.add_argument("--quiet", action="store_true", help="no progress bars")
    sets.set_defaults(func=_cmd_final_sets)

    pre = sub.add_parser("pretrain-final", help="pre-train one backbone per final set")
    pre.add_argument("--params", type=Path, default=Path("params.yaml"))
    pre.add_argument("--plan", type=Path, default=PLAN)
    pre.add_argument("--sets", type=Path, default=SETS)
    pre.add_argument("--out", type=Path, default=BACKBONES, help="parent of the cNNN backbones")
    pre.add_argument("--logs", type=Path, default=LOGS, help="parent of the dvclive logs")
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
    ev.add_argument("--tables", type=Path, default=TABLES)
    ev.add_argument("--figure", type=Path, default=FIGURE)
    ev.add_argument("--quiet", action="store_true")
    ev.set_defaults(func=_cmd_evaluate_final)
