"""Each DVC stage's code dependencies, derived from what its command runs.

A stage's command is `task2sim <command> ...`; the code it may run is the import closure of the
program's entry module and of the function the command calls (`task2sim.pipeline.imports`).
That closure, written as the fewest paths (a folder when every module in it is used, else
files), is what the stage lists under `deps:`. `task2sim pipelines` writes these lists into
dvc.yaml and the per-config pipeline files; `task2sim pipelines --check` and a test fail when a
stage lists less (a change it would not notice) or more (re-runs for nothing).
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from task2sim.errors import Task2SimError
from task2sim.pipeline.imports import ImportGraph

ENTRY_MODULE = "task2sim.entry"
CODE_PREFIX = "src/task2sim"


@cache
def import_graph() -> ImportGraph:
    return ImportGraph()


def command_of(cmd: str) -> str:
    """The task2sim command a stage's `cmd` runs ('task2sim render ${item} --quiet' -> 'render')."""
    words = shlex.split(cmd)
    if len(words) < 2 or words[0] != "task2sim":
        raise Task2SimError(f"stage command {cmd!r} is not `task2sim <command> ...`")
    return next(word for word in words[1:] if not word.startswith("-"))


def handler_of(command: str) -> tuple[str, str]:
    """(module, function name) of the function `task2sim <command>` calls."""
    from task2sim.cli import build_parser

    parser = build_parser(command)
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    func = actions[0].choices[command].get_default("func")
    return func.__module__, func.__qualname__


def command_modules(command: str, graph: ImportGraph | None = None) -> set[str]:
    """Every project module `task2sim <command>` may run."""
    graph = graph or import_graph()
    module, function = handler_of(command)
    return graph.closure({ENTRY_MODULE}) | graph.function_closure(module, function)


def cover(modules: set[str], graph: ImportGraph | None = None) -> list[str]:
    """The fewest project paths that hold exactly the files of `modules`: a folder where every
    module below it is used, else the files (paths relative to the project root)."""
    graph = graph or import_graph()
    used = {graph.path_of(m).relative_to(graph.root) for m in modules}
    every = {graph.path_of(m).relative_to(graph.root) for m in graph.modules}
    paths: list[str] = []

    def walk(folder: Path) -> None:
        below = {f for f in every if folder in f.parents}
        if folder != Path(".") and below <= used:
            paths.append(f"{CODE_PREFIX}/{folder.as_posix()}")
            return
        for child in sorted({f.relative_to(folder).parts[0] for f in below}):
            target = folder / child
            if target in every:
                if target in used:
                    paths.append(f"{CODE_PREFIX}/{target.as_posix()}")
            else:
                walk(target)

    walk(Path("."))
    return sorted(paths)


@cache
def stage_modules(cmd: str) -> frozenset[str]:
    """Every project module a stage running `cmd` may run (computed once per command line)."""
    return frozenset(command_modules(command_of(cmd)))


@cache
def stage_code(cmd: str) -> tuple[str, ...]:
    """What a stage running `cmd` lists as its code dependencies."""
    return tuple(cover(set(stage_modules(cmd))))


def covered(listed: list[str], modules: set[str], graph: ImportGraph | None = None) -> set[str]:
    """The modules among `modules` whose file lies under one of the `listed` dep paths."""
    graph = graph or import_graph()
    found = set()
    for module in modules:
        path = f"{CODE_PREFIX}/{graph.path_of(module).relative_to(graph.root).as_posix()}"
        if any(path == dep or path.startswith(dep.rstrip("/") + "/") for dep in listed):
            found.add(module)
    return found


@dataclass(frozen=True)
class Mismatch:
    """How a stage's listed code deps differ from what its command runs."""

    stage: str
    unlisted: tuple[str, ...]  # modules it runs that no dep covers: changes it would miss
    expected: tuple[str, ...]
    listed: tuple[str, ...]

    def describe(self) -> str:
        if self.unlisted:
            return f"stage {self.stage} runs {', '.join(self.unlisted)}, which its deps do not list"
        extra = sorted(set(self.listed) - set(self.expected))
        missing = sorted(set(self.expected) - set(self.listed))
        return f"stage {self.stage} lists {extra or 'the same files'} for {missing or 'no change'}"


def check_stage(stage: str, cmd: str, deps: list[str]) -> Mismatch | None:
    """None when `deps`' code paths are exactly what `cmd` runs, else what differs."""
    listed = [d for d in deps if d.startswith(CODE_PREFIX)]
    expected = list(stage_code(cmd))
    if listed == expected:
        return None
    modules = set(stage_modules(cmd))
    unlisted = sorted(modules - covered(listed, modules))
    return Mismatch(stage, tuple(unlisted), tuple(expected), tuple(listed))


# -- dvc.yaml: the stages' code deps rewritten in place, comments and layout kept --------------

_STAGE = re.compile(r"^  ([A-Za-z_][\w-]*):\s*$")
_ITEM = re.compile(r"^(\s+)- (\S.*?)\s*$")


def _stage_blocks(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Line ranges [start, end) of each stage under the top-level `stages:` key."""
    blocks: dict[str, tuple[int, int]] = {}
    inside, name, start = False, None, 0
    for i, line in enumerate(lines):
        if re.match(r"^\S", line):  # a top-level key
            if name is not None:
                blocks[name] = (start, i)
                name = None
            inside = line.startswith("stages:")
            continue
        match = _STAGE.match(line) if inside else None
        if match:
            if name is not None:
                blocks[name] = (start, i)
            name, start = match.group(1), i
    if name is not None:
        blocks[name] = (start, len(lines))
    return blocks


def rewrite_code_deps(text: str, code: dict[str, tuple[str, ...]]) -> str:
    """dvc.yaml `text` with the code deps of each stage in `code` replaced by its list."""
    lines = text.splitlines(keepends=True)
    blocks = _stage_blocks(lines)
    for stage in sorted(code, key=lambda s: blocks[s][0], reverse=True):
        start, end = blocks[stage]
        head = next(i for i in range(start, end) if lines[i].strip() == "deps:")
        items = head + 1
        while items < end and _ITEM.match(lines[items]):
            items += 1
        indent = _ITEM.match(lines[head + 1]).group(1)
        kept = [
            ln
            for ln in lines[head + 1 : items]
            if not _ITEM.match(ln).group(2).startswith(CODE_PREFIX)
        ]
        lines[head + 1 : items] = kept + [f"{indent}- {path}\n" for path in code[stage]]
    return "".join(lines)


def dvc_yaml_stages(text: str) -> dict[str, tuple[str, list[str]]]:
    """stage -> (cmd, deps) of dvc.yaml `text` (a foreach stage's `do:` body)."""
    import yaml

    stages = {}
    for name, stage in (yaml.safe_load(text).get("stages") or {}).items():
        body = stage.get("do", stage)
        deps = [next(iter(d)) if isinstance(d, dict) else d for d in body.get("deps", [])]
        stages[name] = (body["cmd"], deps)
    return stages


def expected_dvc_yaml(text: str) -> str:
    """dvc.yaml `text` with every stage's code deps derived from its command."""
    stages = dvc_yaml_stages(text)
    return rewrite_code_deps(text, {name: stage_code(cmd) for name, (cmd, _) in stages.items()})


def check_dvc_yaml(text: str) -> list[Mismatch]:
    """Stages of dvc.yaml `text` whose code deps differ from what their commands run."""
    found = [check_stage(name, cmd, deps) for name, (cmd, deps) in dvc_yaml_stages(text).items()]
    return [m for m in found if m is not None]
