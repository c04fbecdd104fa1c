"""`task2sim controller` (any reward table) and `task2sim paper-controller` (supp. Table 1)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

DEFAULT_PAPER_OUT = Path("results/paper")


def _cmd_controller(args: argparse.Namespace) -> None:
    """Train on params.yaml's seen tasks with a reward table and Task2Vec vectors; predict all."""
    from task2sim.controller.rewards import load_reward_table
    from task2sim.controller.run import run_controller, write_run
    from task2sim.params import load_params
    from task2sim.task2vec.embed import load_vectors

    params = load_params(args.params)
    split = params.controller
    cfg = (
        split.training
        if args.loss is None
        else split.training.model_copy(update={"loss": args.loss})
    )
    table = load_reward_table(args.rewards)
    vectors = load_vectors(args.vectors, [*split.seen, *split.unseen])
    seed = params.seed if args.seed is None else args.seed
    run = run_controller(table, vectors, split.seen, split.unseen, cfg, seed, progress=True)
    write_run(run, args.out)
    for role, score in run.scores.items():
        print(
            f"{role}: reward {score['reward']:.2f} % (oracle {score['oracle']:.2f} %), "
            f"head agreement {100 * score['head_agreement']:.0f} %"
        )
    print(f"{cfg.loss} loss, seed {seed}: trained in {run.seconds:.1f} s -> {args.out}")


def _cmd_paper_controller(args: argparse.Namespace) -> None:
    """Supp. Table 1 from the released reward table and Task2Vec vectors."""
    from task2sim.controller.paper_table import paper_table, write_table
    from task2sim.params import load_params

    params = load_params(args.params)
    start = time.perf_counter()
    content, seconds = paper_table(
        params.controller.training, params.paper_controller, allow_download=not args.offline
    )
    write_table(content, args.out)
    for loss, summary in content["task2sim"].items():
        seen, unseen = summary["seen"], summary["unseen"]
        print(
            f"Task2Sim ({loss}): seen {seen['mean']:.2f} ± {seen['std']:.2f}, "
            f"unseen {unseen['mean']:.2f} ± {unseen['std']:.2f}"
        )
    paper = content["paper_task2sim"]
    print(f"paper: seen {paper['seen']:.2f}, unseen {paper['unseen']:.2f}")
    print(
        f"{len(seconds)} runs, {sum(seconds) / len(seconds):.1f} s each on average, "
        f"{time.perf_counter() - start:.0f} s in all -> {args.out}/table1.md"
    )


def _cmd_fraction_table(args: argparse.Namespace) -> None:
    """Supp. Table 1 on our pipeline: Task2Vec data fraction -> controller -> reward."""
    from task2sim.controller.fraction_table import fraction_table, write_fraction_table
    from task2sim.params import load_params

    start = time.perf_counter()
    params = load_params(args.params)
    content = fraction_table(params, args.tasks_dir, args.vectors, args.rewards, args.work_dir)
    write_fraction_table(content, args.out, args.json)
    print(f"{len(content['rows'])} rows in {time.perf_counter() - start:.0f} s -> {args.out}")


def _cmd_loto(args: argparse.Namespace) -> None:
    """Leave-one-task-out on our reward table and on the paper's released one."""
    from task2sim.atomic import atomic_write_json
    from task2sim.controller.loto import leave_one_task_out, write_markdown
    from task2sim.controller.paper import (
        PAPER_SEEN,
        PAPER_UNSEEN,
        load_paper_rewards,
        load_paper_vectors,
    )
    from task2sim.controller.rewards import load_reward_table
    from task2sim.params import load_params
    from task2sim.task2vec.embed import load_vectors

    params = load_params(args.params)
    cfg, settings = params.controller.training, params.loto
    start = time.perf_counter()
    tasks = [*params.controller.seen, *params.controller.unseen]
    pools = {
        f"our pool ({len(tasks)} tasks, our reward table)": (
            load_reward_table(args.rewards),
            load_vectors(args.vectors, tasks),
            tasks,
        ),
    }
    if not args.no_paper:
        paper_tasks = [*PAPER_SEEN, *PAPER_UNSEEN]
        pools[f"the paper's released artifacts ({len(paper_tasks)} tasks)"] = (
            load_paper_rewards(allow_download=not args.offline),
            load_paper_vectors(allow_download=not args.offline),
            paper_tasks,
        )
    results = {}
    for pool, (table, vectors, names) in pools.items():
        results[pool] = leave_one_task_out(
            table, vectors, names, cfg, settings.seeds, settings.workers, not args.quiet
        )
        summary = results[pool]["summary"]
        ours = summary["task2sim"]["reward"]
        line = ", ".join(
            f"{m} {summary[m]['reward']['mean']:.2f} ({summary[m]['verdict']})"
            for m in summary
            if m != "task2sim"
        )
        print(
            f"{pool}: Task2Sim {ours['mean']:.2f} [{ours['low']:.2f}, {ours['high']:.2f}]; {line}"
        )
    atomic_write_json(args.json, results)
    write_markdown(results, args.out, args.verdicts)
    print(f"-> {args.out}, {args.json}, {args.verdicts} ({time.perf_counter() - start:.0f} s)")


def register(sub: argparse._SubParsersAction) -> None:
    controller = sub.add_parser(
        "controller", help="train the Task2Sim controller on a reward table and predict configs"
    )
    controller.add_argument(
        "--rewards", type=Path, required=True, help="reward table JSON {task: {key: %%}}"
    )
    controller.add_argument("--vectors", type=Path, default=Path("data/task2vec"))
    controller.add_argument("--out", type=Path, default=Path("results/controller"))
    controller.add_argument("--params", type=Path, default=Path("params.yaml"))
    controller.add_argument("--seed", type=int, help="default: params.yaml seed")
    controller.add_argument(
        "--loss", choices=("per_task", "official"), help="override controller.training.loss"
    )
    controller.set_defaults(func=_cmd_controller)

    paper = sub.add_parser(
        "paper-controller",
        help="supp. Table 1 from the paper's released reward table and Task2Vec vectors",
    )
    paper.add_argument("--out", type=Path, default=DEFAULT_PAPER_OUT)
    paper.add_argument("--params", type=Path, default=Path("params.yaml"))
    paper.add_argument("--offline", action="store_true", help="never download the released files")
    paper.set_defaults(func=_cmd_paper_controller)

    loto = sub.add_parser(
        "loto",
        help="leave-one-task-out: the controller retrained without each task, against baselines",
    )
    loto.add_argument("--params", type=Path, default=Path("params.yaml"))
    loto.add_argument("--rewards", type=Path, default=Path("results/rewards.json"))
    loto.add_argument("--vectors", type=Path, default=Path("data/task2vec"))
    loto.add_argument("--out", type=Path, default=Path("results/tables/loto.md"))
    loto.add_argument("--json", type=Path, default=Path("results/loto.json"))
    loto.add_argument(
        "--verdicts",
        type=Path,
        default=Path("results/loto_verdicts.md"),
        help="the README's generated summary block",
    )
    loto.add_argument(
        "--no-paper", action="store_true", help="our pool only (no released paper artifacts)"
    )
    loto.add_argument("--offline", action="store_true", help="never download the released files")
    loto.add_argument("--quiet", action="store_true", help="no progress bar")
    loto.set_defaults(func=_cmd_loto)

    fractions = sub.add_parser(
        "fraction-table",
        help="supp. Table 1 on our pipeline: Task2Vec from fractions of each task's data",
    )
    fractions.add_argument("--params", type=Path, default=Path("params.yaml"))
    fractions.add_argument("--rewards", type=Path, default=Path("results/rewards.json"))
    fractions.add_argument("--vectors", type=Path, default=Path("data/task2vec"))
    fractions.add_argument("--tasks-dir", type=Path, default=Path("data/tasks"))
    fractions.add_argument("--work-dir", type=Path, default=Path("data/task2vec_fractions"))
    fractions.add_argument("--out", type=Path, default=Path("results/tables/table1.md"))
    fractions.add_argument("--json", type=Path, default=Path("results/table1.json"))
    fractions.set_defaults(func=_cmd_fraction_table)
