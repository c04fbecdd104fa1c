"""Typed, validated view of params.yaml: unknown keys and bad values fail early, naming the key."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from task2sim.errors import Task2SimError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskEntry(_Section):
    """One downstream task: where its images come from and how they are normalised."""

    source: str = Field(description="a registry task name (see `task2sim tasks`) or 'imagefolder'")
    path: str | None = Field(None, description="ImageFolder root, for source 'imagefolder'")
    size: int | None = Field(
        None, ge=8, le=1024, description="resize images to size x size (default: the source's own)"
    )
    resize: Literal["crop", "pad"] | None = Field(
        None, description="crop: centre-crop to square; pad: fit inside, plain borders"
    )
    skip_non_images: bool = Field(
        False, description="ImageFolder: ignore non-image files instead of failing on them"
    )

    @model_validator(mode="after")
    def _path_matches_source(self) -> TaskEntry:
        if self.source == "imagefolder" and not self.path:
            raise ValueError("source 'imagefolder' needs a 'path' to the folder")
        if self.source != "imagefolder" and self.path:
            raise ValueError(f"'path' is only used with source 'imagefolder', not '{self.source}'")
        return self


class PrepareParams(_Section):
    """How tasks without an official split are split (the paper: 70/30 per class, seed 0)."""

    split_seed: int = 0
    test_fraction: float = Field(0.3, gt=0.0, lt=1.0)


class ControllerSplit(_Section):
    """Which tasks train the Task2Sim controller (seen) and which only test it (unseen)."""

    seen: list[str]
    unseen: list[str]


class Params(_Section):
    seed: int = 0
    tasks: dict[str, TaskEntry]
    prepare: PrepareParams = PrepareParams()
    controller: ControllerSplit

    @model_validator(mode="after")
    def _controller_tasks_exist(self) -> Params:
        for role in ("seen", "unseen"):
            for name in getattr(self.controller, role):
                if name not in self.tasks:
                    hint = _closest(name, list(self.tasks))
                    raise ValueError(f"controller.{role} names task '{name}', not in tasks{hint}")
        overlap = set(self.controller.seen) & set(self.controller.unseen)
        if overlap:
            raise ValueError(f"tasks both seen and unseen: {sorted(overlap)}")
        return self


def _closest(word: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _owner_of(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model holding the key at `loc`, so a mistyped key can be matched to its real fields."""
    model: type[BaseModel] = Params
    parts = list(loc[:-1])
    while parts:
        part = str(parts.pop(0))
        field = model.model_fields.get(part)
        if field is None:
            return None
        if model is Params and part == "tasks":
            model = TaskEntry
            parts = parts[1:]  # skip the task's name
            continue
        annotation = field.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _describe(error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        owner = _owner_of(loc)
        hint = _closest(str(loc[-1]), list(owner.model_fields)) if owner else ""
        return f"unknown key '{key}'{hint}"
    return f"'{key}': {error['msg']}"


def parse_params(raw: dict[str, Any], origin: str = "params.yaml") -> Params:
    """Validate a params mapping; errors name each bad key and suggest the one probably meant."""
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = "\n  ".join(_describe(e) for e in exc.errors())
        raise Task2SimError(
            f"{origin} is invalid:\n  {problems}", f"edit {origin}; see README.md for every key"
        ) from None


def load_params(path: Path | str = "params.yaml") -> Params:
    path = Path(path)
    if not path.is_file():
        raise Task2SimError(f"{path} not found", "run from the project root, or pass --params PATH")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise Task2SimError(
            f"{path} is not valid YAML: {exc}", f"fix the syntax of {path}"
        ) from None
    if not isinstance(raw, dict):
        raise Task2SimError(f"{path} must be a mapping of sections, got {type(raw).__name__}")
    return parse_params(raw, str(path))
