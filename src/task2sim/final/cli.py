"""`task2sim final-sets`, `pretrain-final`, `evaluate-reference`, `evaluate-final`: the final
comparison stages of dvc.yaml, from the controller's predictions to the method tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from task2sim.cli_help import add_path_options
from task2sim.layout import LAYOUT


def _cmd_final_sets(args: argparse.Namespace) -> None:
    from task2sim.final.sets_stage import final_sets_stage

    final_sets_stage(
        args.params, args.predictions, args.rewards, args.vectors, args.plan, args.out,
        progress=not args.quiet,
    )  # fmt: skip


def _cmd_pretrain_final(args: argparse.Namespace) -> None:
    from task2sim.final.pretrain_stage import pretrain_stage

    pretrain_stage(args.params, args.plan, args.sets, args.out, args.logs, not args.quiet)


def _cmd_evaluate_reference(args: argparse.Namespace) -> None:
    from task2sim.final.reference_stage import evaluate_reference_stage

    evaluate_reference_stage(args.params, args.tasks_dir, args.out, args.finetuned, not args.quiet)


def _cmd_evaluate_final(args: argparse.Namespace) -> None:
    from task2sim.report.final_comparison import FinalOutputs, evaluate_final_stage

    outputs = FinalOutputs(
        args.out, args.finetuned, args.metrics, args.means, args.tables, args.figure,
        args.summary_figure, args.stats, args.verdicts,
    )  # fmt: skip
    evaluate_final_stage(
        args.params, args.plan, args.backbones, args.tasks_dir, args.reference, outputs,
        progress=not args.quiet,
    )  # fmt: skip


def _cmd_readme_verdicts(args: argparse.Namespace) -> None:
    from task2sim.final.readme import embed_verdicts

    embed_verdicts(args.readme, [args.verdicts, args.loto])


def register(sub: argparse._SubParsersAction) -> None:
    sets = sub.add_parser(
        "final-sets", help="the per-method plan and one final pre-training set per unique config"
    )
    add_path_options(sets, "--params", "--predictions", "--rewards", "--vectors", "--plan")
    sets.add_argument("--out", type=Path, default=LAYOUT.final_sets, help="parent of the sets")
    sets.add_argument("--quiet", action="store_true", help="no progress bars")
    sets.set_defaults(func=_cmd_final_sets)

    pre = sub.add_parser("pretrain-final", help="pre-train one backbone per final set")
    add_path_options(pre, "--params", "--plan")
    pre.add_argument("--sets", type=Path, default=LAYOUT.final_sets)
    pre.add_argument("--out", type=Path, default=LAYOUT.backbones, help="parent of the backbones")
    add_path_options(pre, "--logs")
    pre.add_argument("--quiet", action="store_true")
    pre.set_defaults(func=_cmd_pretrain_final)

    ref = sub.add_parser(
        "evaluate-reference", help="5-NN / linear / fine-tune of the ImageNet reference networks"
    )
    add_path_options(ref, "--params", "--tasks-dir")
    ref.add_argument("--out", type=Path, default=LAYOUT.reference)
    ref.add_argument("--finetuned", type=Path, default=LAYOUT.reference_finetuned)
    ref.add_argument("--quiet", action="store_true")
    ref.set_defaults(func=_cmd_evaluate_reference)

    ev = sub.add_parser(
        "evaluate-final", help="evaluate every final backbone; metrics, tables and the figure"
    )
    add_path_options(
        ev, "--params", "--plan", "--backbones", "--tasks-dir", "--reference", "--finetuned",
        "--stats",
    )  # fmt: skip
    ev.add_argument("--out", type=Path, default=LAYOUT.evaluation)
    ev.add_argument("--metrics", type=Path, default=LAYOUT.metrics)
    ev.add_argument("--means", type=Path, default=LAYOUT.means, help="every row's means (JSON)")
    ev.add_argument("--tables", type=Path, default=LAYOUT.tables)
    ev.add_argument("--figure", type=Path, default=LAYOUT.final_figure)
    ev.add_argument("--summary-figure", type=Path, default=LAYOUT.final_summary_figure)
    ev.add_argument(
        "--verdicts", type=Path, default=LAYOUT.verdicts, help="the README's verdict block"
    )
    ev.add_argument("--quiet", action="store_true")
    ev.set_defaults(func=_cmd_evaluate_final)

    readme = sub.add_parser(
        "readme-verdicts",
        help="copy the generated verdicts (final comparison, leave-one-task-out) into the README",
    )
    readme.add_argument("--verdicts", type=Path, default=LAYOUT.verdicts)
    readme.add_argument("--loto", type=Path, default=LAYOUT.loto_verdicts)
    readme.add_argument("--readme", type=Path, default=LAYOUT.readme)
    readme.set_defaults(func=_cmd_readme_verdicts)
