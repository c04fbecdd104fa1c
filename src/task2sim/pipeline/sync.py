"""Keep the generated parts of the pipeline current: the per-config pipeline files and the code
deps of every dvc.yaml stage, both derived from code (`task2sim pipelines`)."""

from __future__ import annotations

from pathlib import Path

from task2sim.atomic import atomic_write_bytes
from task2sim.errors import Task2SimError
from task2sim.pipeline.code_deps import check_dvc_yaml, expected_dvc_yaml
from task2sim.pipeline.per_config import stale_pipeline_files, write_pipeline_files

DVC_YAML = Path("dvc.yaml")


def write_pipeline(root: Path) -> list[Path]:
    """Rewrite what is out of date; returns the files that changed (relative to `root`)."""
    changed = write_pipeline_files(root)
    path = Path(root) / DVC_YAML
    text = path.read_text(encoding="utf-8")
    expected = expected_dvc_yaml(text)
    if expected != text:
        atomic_write_bytes(path, expected.encode("utf-8"))
        changed.append(DVC_YAML)
    return changed


def check_pipeline(root: Path) -> None:
    """Raise, naming the first difference, when a generated part is out of date."""
    stale = stale_pipeline_files(root)
    if stale:
        raise Task2SimError(
            f"{len(stale)} pipeline files are out of date (e.g. {stale[0]})",
            "regenerate them: `task2sim pipelines`",
        )
    mismatches = check_dvc_yaml((Path(root) / DVC_YAML).read_text(encoding="utf-8"))
    if mismatches:
        raise Task2SimError(
            f"dvc.yaml: {mismatches[0].describe()} ({len(mismatches)} stage(s) out of date)",
            "regenerate the code deps: `task2sim pipelines`",
        )
