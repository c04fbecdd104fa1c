"""Supp. Table 1 on our own pipeline: how much data does Task2Vec need for Task2Sim's picks?

For each fraction f (SPEC, supp. A): every task's Task2Vec from f of each class's training images
(the Fisher pass still draws `task2vec.fisher_samples`, so only the pool it draws from shrinks),
the controller retrained on the seen tasks of our reward table, and its predicted configs scored
by that table: the 5-NN top-1 of the sweep backbone pre-trained on each predicted set. Where f is
`task2vec.fraction` the task2vec stage's vectors are reused, so that row is the controller stage.
"""

from __future__ import annotations

import time
from pathlib import Path

from task2sim.atomic import atomic_write_bytes, atomic_write_json
from task2sim.controller.baselines import baselines
from task2sim.controller.paper_table import baseline_rows
from task2sim.controller.run import run_controller
from task2sim.params import Params, load_params
from task2sim.reward_table import load_reward_table


def _fraction_vectors(
    params: Params, fraction: float, names: list[str], tasks_dir: Path, out_dir: Path
) -> dict:
    """Embed every task from `fraction` of its training data into `out_dir`, then read them back
    as the controller stage reads its vectors (float32 on disk)."""
    from task2sim.datasets.format import load_task
    from task2sim.task2vec.embed import embed_task, load_vectors, write_embedding

    settings = params.task2vec.model_copy(update={"fraction": fraction})
    for name in names:
        embedding, meta = embed_task(load_task(Path(tasks_dir) / name), settings, params.seed)
        write_embedding(embedding, meta, out_dir, name)
        print(f"  {name}: {meta['pool_images']} images in the pool ({100 * fraction:g} %)")
    return load_vectors(out_dir, names)


def fraction_table(
    params: Params, tasks_dir: Path, vectors_dir: Path, rewards_path: Path, work_dir: Path
) -> dict:
    """One controller run per fraction; the table's content (rows, baselines, settings)."""
    from task2sim.task2vec.embed import load_vectors

    split = params.controller
    names = [*split.seen, *split.unseen]
    table = load_reward_table(rewards_path)
    Path(work_dir).mkdir(parents=True, exist_ok=True)  # a stage output, even with no extra row
    rows = []
    for fraction in params.fraction_table.fractions:
        if fraction == params.task2vec.fraction:
            vectors, source = load_vectors(vectors_dir, names), str(vectors_dir)
        else:
            out = Path(work_dir) / f"fraction-{fraction:g}"
            vectors, source = _fraction_vectors(params, fraction, names, tasks_dir, out), str(out)
        run = run_controller(table, vectors, split.seen, split.unseen, split.training, params.seed)
        rows.append(
            {
                "fraction": fraction,
                "vectors": source,
                **{role: round(run.scores[role]["reward"], 4) for role in run.scores},
                "predictions": {t: p["key"] for t, p in run.predictions.items()},
                "configs": {t: p["config"] for t, p in run.predictions.items()},
            }
        )
        print(f"{100 * fraction:g} % of the data: " + ", ".join(
            f"{role} {run.scores[role]['reward']:.2f}" for role in run.scores
        ))  # fmt: skip
    return {
        "setting": "5-NN top-1 % of the sweep backbone pre-trained on each task's predicted set "
        "(results/rewards.json), mean over the seen / unseen tasks; the controller retrained "
        "for each Task2Vec data fraction",
        "seen_tasks": list(split.seen),
        "unseen_tasks": list(split.unseen),
        "seed": params.seed,
        "loss": split.training.loss,
        "rows": rows,
        "baselines": baselines(table, list(split.seen), list(split.unseen)),
    }


def render_markdown(content: dict) -> str:
    seen, unseen = len(content["seen_tasks"]), len(content["unseen_tasks"])
    lines = [
        "# Supp. Table 1 on this pipeline: Task2Vec from a fraction of the data",
        "",
        f"{content['setting']} ({seen} seen / {unseen} unseen tasks; controller seed "
        f"{content['seed']}, {content['loss']} loss).",
        "",
        "| Task2Vec from | seen | unseen | predicted sets (unseen tasks) |",
        "|---|---|---|---|",
    ]
    for row in content["rows"]:
        picks = ", ".join(f"{t} c{row['configs'][t]:03d}" for t in content["unseen_tasks"])
        lines.append(
            f"| {100 * row['fraction']:g} % of each class | {row.get('seen', float('nan')):.2f} | "
            f"{row.get('unseen', float('nan')):.2f} | {picks} |"
        )
    lines += ["", "Reference rows from the same reward table:", "", "| | seen | unseen |"]
    lines += ["|---|---|---|", *baseline_rows(content["baselines"])]
    return "\n".join(lines) + "\n"


def write_fraction_table(content: dict, markdown_path: Path, json_path: Path) -> None:
    atomic_write_bytes(markdown_path, render_markdown(content).encode("utf-8"))
    atomic_write_json(json_path, content)


def fraction_table_stage(
    params_path: Path, tasks_dir: Path, vectors: Path, rewards: Path, work_dir: Path,
    out: Path, json_out: Path,
) -> dict:  # fmt: skip
    """The `fraction_table` stage: the table computed and written (Markdown and JSON)."""
    start = time.perf_counter()
    content = fraction_table(load_params(params_path), tasks_dir, vectors, rewards, work_dir)
    write_fraction_table(content, out, json_out)
    print(f"{len(content['rows'])} rows in {time.perf_counter() - start:.0f} s -> {out}")
    return content
