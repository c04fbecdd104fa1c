"""`task2sim readme-verdicts`: the generated verdict blocks copied into the README."""

from __future__ import annotations

from pathlib import Path

from task2sim.atomic import atomic_write_bytes
from task2sim.errors import Task2SimError
from task2sim.final.stats import embed_block


def embed_verdicts(readme: Path, blocks: list[Path]) -> None:
    """Replace each block's text between its marker lines in `readme`."""
    text = readme.read_text(encoding="utf-8")
    for block in blocks:
        if not block.is_file():
            raise Task2SimError(f"{block} not found", "run `dvc repro evaluate loto` first")
        try:
            text = embed_block(text, block.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise Task2SimError(f"{readme}: {exc}", "add the two marker lines") from None
    atomic_write_bytes(readme, text.encode("utf-8"))
    print(f"{', '.join(map(str, blocks))} -> {readme}")
