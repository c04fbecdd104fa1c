"""`task2sim sim-figures`: the figures that show what the simulator renders."""

from __future__ import annotations

import argparse
from pathlib import Path

FIGURES_DIR = Path("results/figures")


def _cmd_sim_figures(args: argparse.Namespace) -> None:
    from task2sim.params import load_params
    from task2sim.render.world import build_world
    from task2sim.report.sim_figures import object_classes_figure, sim_parameters_figure

    sim = load_params(args.params).sim
    world = build_world(sim)
    sim_parameters_figure(world, sim.seed, args.out / "sim_parameters.png")
    object_classes_figure(world, args.out / "object_classes.png")
    print(f"wrote {args.out / 'sim_parameters.png'} and {args.out / 'object_classes.png'}")


def register(sub: argparse._SubParsersAction) -> None:
    figures = sub.add_parser(
        "sim-figures", help="render the parameter strip (supp. Fig. 8) and the class contact sheet"
    )
    figures.add_argument("--params", type=Path, default=Path("params.yaml"))
    figures.add_argument("--out", type=Path, default=FIGURES_DIR, help="output folder")
    figures.set_defaults(func=_cmd_sim_figures)
