"""What `task2sim <command> --help` says: one meaning per option name, every default shown.

Options that several commands share (`--params`, `--plan`, `--rewards`, ...) are documented here,
once, so the same name means the same thing everywhere; a command module documents only what is
its own. `document` fills in whatever a module left blank and is run on the finished parser.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from task2sim.layout import LAYOUT

# The shared options: a name here has this meaning in every command that takes it.
SHARED_OPTION_HELP: dict[str, str] = {
    "--params": "the params file every value is read from",
    "--tasks-dir": "parent folder of the prepared tasks (one folder per task)",
    "--quiet": "no progress bars",
    "--rewards": "the reward table (JSON, the schema of the paper's reward_db.json)",
    "--runs": "every raw sweep run (CSV)",
    "--scratch": "the scratch row: random-init networks scored like a sweep run (JSON)",
    "--vectors": "folder of Task2Vec embeddings (<task>.npy + <task>.json)",
    "--predictions": "the controller's predicted config per task (JSON)",
    "--plan": "the final plan: every method's config per task (JSON)",
    "--sets": "parent folder of the image sets (one cNNN folder each)",
    "--backbones": "parent folder of the final pre-trained backbones",
    "--logs": "parent folder of the backbones' dvclive training logs (one folder each)",
    "--stats": "the final comparison's intervals and paired differences (JSON)",
    "--finetuned": "parent folder of the fine-tuned networks (kept for CKA)",
    "--reference-finetuned": "parent folder of the fine-tuned ImageNet and scratch networks",
    "--reference": "the reference rows' scores (ImageNet network and scratch, JSON)",
    "--cka": "the CKA results (JSON)",
    "--policy": "the trained controller (policy.pt)",
    "--sweep-dir": "parent folder of the per-config sweep results",
    "--work-dir": "folder for intermediate Task2Vec embeddings",
    "--index": "the sweep-set index to write (JSON)",
    "--metrics": "the headline metrics DVC reads (JSON)",
    "--tables": "folder of the Markdown / CSV tables",
    "--figure": "figure to write (PNG)",
    "--summary-figure": "the paired-difference figure to write (PNG)",
    "--json": "the same results as JSON",
    "--out": "where the results go",
    "--verdicts": "the generated verdict block (Markdown)",
    "--loto": "the generated leave-one-task-out verdict block (Markdown)",
    "--readme": "the README whose generated blocks are replaced",
}

# The project's file behind a shared path option: its default wherever a command reads that file.
PATH_DEFAULTS: dict[str, Path] = {
    "--params": LAYOUT.params,
    "--tasks-dir": LAYOUT.tasks,
    "--rewards": LAYOUT.rewards,
    "--runs": LAYOUT.reward_runs,
    "--scratch": LAYOUT.scratch,
    "--vectors": LAYOUT.task2vec,
    "--plan": LAYOUT.plan,
    "--backbones": LAYOUT.backbones,
    "--logs": LAYOUT.logs,
    "--stats": LAYOUT.stats,
    "--finetuned": LAYOUT.finetuned,
    "--reference-finetuned": LAYOUT.reference_finetuned,
    "--cka": LAYOUT.cka,
    "--predictions": LAYOUT.predictions,
    "--reference": LAYOUT.reference,
}


def add_path_options(parser: argparse.ArgumentParser, *options: str) -> None:
    """Add shared path options with their `PATH_DEFAULTS` (their help comes from `document`), so
    commands reading the same files declare them alike."""
    for option in options:
        parser.add_argument(option, type=Path, default=PATH_DEFAULTS[option])


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show a default only when there is one worth reading (not None / False / already said)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action)


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every sub-command's parser, by name."""
    action = _subparsers(parser)
    return dict(action.choices) if action else {}


def document(parser: argparse.ArgumentParser) -> None:
    """Give every sub-command a description and every shared option its one help text."""
    action = _subparsers(parser)
    summaries = {c.dest: c.help for c in action._choices_actions} if action else {}
    for name, command in subcommands(parser).items():
        command.formatter_class = DefaultsHelpFormatter
        if not command.description and summaries.get(name):
            summary = summaries[name]
            command.description = summary[0].upper() + summary[1:] + "."
        for action in command._actions:
            if action.help is None:
                action.help = next(
                    (
                        SHARED_OPTION_HELP[o]
                        for o in action.option_strings
                        if o in SHARED_OPTION_HELP
                    ),
                    None,
                )
