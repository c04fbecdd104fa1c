"""`task2sim pipelines` (the generated parts of the pipeline files) and `task2sim dag`."""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_pipelines(args: argparse.Namespace) -> None:
    from task2sim.pipeline.sync import check_pipeline, write_pipeline

    if args.check:
        check_pipeline(args.root)
        print("pipeline files are up to date")
        return
    changed = write_pipeline(args.root)
    print(f"wrote {len(changed)} pipeline file(s)" if changed else "pipeline files are up to date")


def _cmd_dag(args: argparse.Namespace) -> None:
    from task2sim.pipeline.dag import print_dag

    print_dag(args.root, args.format, args.all_edges)


def register(sub: argparse._SubParsersAction) -> None:
    pipelines = sub.add_parser(
        "pipelines",
        help="write the generated parts of the pipeline: pipelines/cNNN/dvc.yaml (the "
        "render@cNNN and sweep@cNNN stages) and every stage's code deps in dvc.yaml",
    )
    pipelines.add_argument("--root", type=Path, default=Path("."), help="project root")
    pipelines.add_argument("--check", action="store_true", help="only check they are current")
    pipelines.set_defaults(func=_cmd_pipelines)

    dag = sub.add_parser(
        "dag", help="the pipeline DAG with each per-config / per-task fan-out as one node"
    )
    dag.add_argument("--root", type=Path, default=Path("."), help="project root")
    dag.add_argument(
        "--format", choices=["text", "mermaid"], default="text",
        help="text: DVC's drawing; mermaid: a flowchart GitHub renders",
    )  # fmt: skip
    dag.add_argument(
        "--all-edges", action="store_true",
        help="every stage-to-stage edge, not only those no longer path implies",
    )  # fmt: skip
    dag.set_defaults(func=_cmd_dag)
