"""`task2sim dag`: the pipeline as a person reads it, each fan-out collapsed into one node.

`dvc dag` draws all 537 stages (256 render@cNNN, 256 sweep@cNNN, a prepare and a task2vec per
task) and takes half a minute. Here each `foreach` stage is one node ("sweep@cNNN (256)") and an
edge joins two nodes when a stage reads a path another writes (or a folder around it), as DVC
itself links them. The text drawing is DVC's own; `--format mermaid` is what the README shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from task2sim.errors import Task2SimError

TEMPLATE = re.compile(r"\$\{[^}]*\}")
CODE_PREFIX = "src/"


@dataclass
class Node:
    """One stage, or one `foreach` family of stages, with the paths it reads and writes."""

    name: str
    count: int = 1
    deps: set[str] = field(default_factory=set)
    outs: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.count})" if self.count > 1 else self.name


def _paths(entries: list) -> set[str]:
    """Stage paths with any ${...} cut off: 'data/tasks/${key}' -> 'data/tasks/'."""
    paths = set()
    for entry in entries or []:
        path = next(iter(entry)) if isinstance(entry, dict) else str(entry)
        cut = TEMPLATE.search(path)
        paths.add(path[: cut.start()] if cut else path)
    return paths


def _reads(dep: str, out: str) -> bool:
    """Does a stage reading `dep` read what a stage writing `out` writes?"""
    dep, out = dep.rstrip("/"), out.rstrip("/")
    return dep == out or dep.startswith(out + "/") or out.startswith(dep + "/")


def _node(name: str, stage: dict, count: int) -> Node:
    body = stage.get("do", stage)
    outs = [*body.get("outs", []), *body.get("metrics", []), *body.get("plots", [])]
    deps = {d for d in _paths(body.get("deps")) if not d.startswith(CODE_PREFIX)}
    return Node(name, count, deps, _paths(outs))


def _foreach_count(stage: dict, params: dict) -> int:
    items = stage["foreach"]
    if isinstance(items, str):  # ${tasks}: a params section
        key = items.strip("${} ")
        items = params
        for part in key.split("."):
            items = items[part]
    return len(items)


def pipeline_nodes(root: Path) -> list[Node]:
    """Every stage of dvc.yaml and pipelines/*/dvc.yaml, each foreach family as one node."""
    root = Path(root)
    try:
        top = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
        params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    except OSError as exc:
        raise Task2SimError(
            f"cannot read the pipeline ({exc})", "run it in the project root"
        ) from None
    nodes: dict[str, Node] = {}
    for name, stage in top["stages"].items():
        count = _foreach_count(stage, params) if "foreach" in stage else 1
        nodes[name] = _node(f"{name}@TASK" if count > 1 else name, stage, count)
    for path in sorted(root.glob("pipelines/*/dvc.yaml")):
        for name, stage in yaml.safe_load(path.read_text(encoding="utf-8"))["stages"].items():
            family = f"{name}@cNNN"
            node = nodes.get(family) or _node(family, stage, 0)
            node.count += len(stage["foreach"])
            nodes[family] = node
    # the per-config families first: they are where the data comes from
    return sorted(nodes.values(), key=lambda n: "@cNNN" not in n.name)


def pipeline_edges(nodes: list[Node]) -> list[tuple[Node, Node]]:
    """(writer, reader) pairs: reader has a dep inside (or around) one of writer's outs."""
    return [
        (writer, reader)
        for reader in nodes
        for writer in nodes
        if writer is not reader and any(_reads(d, o) for d in reader.deps for o in writer.outs)
    ]


def reduced(edges: list[tuple[Node, Node]]) -> list[tuple[Node, Node]]:
    """Drop an edge a -> c when a longer path a -> ... -> c exists (the transitive reduction):
    the order of the stages stays, the drawing loses the crossings."""
    after: dict[int, set[int]] = {}
    for a, b in edges:
        after.setdefault(id(a), set()).add(id(b))

    def reachable(start: int, skip: int) -> set[int]:
        seen, todo = set(), [n for n in after.get(start, ()) if n != skip]
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(after.get(node, ()))
        return seen

    return [(a, b) for a, b in edges if id(b) not in reachable(id(a), id(b))]


def mermaid(nodes: list[Node], edges: list[tuple[Node, Node]]) -> str:
    """A flowchart GitHub renders: one line per stage that feeds others (`a --> b & c`)."""
    ids = {id(n): f"s{i}" for i, n in enumerate(nodes)}
    declared: set[int] = set()

    def ref(node: Node) -> str:
        if id(node) in declared:
            return ids[id(node)]
        declared.add(id(node))
        return f'{ids[id(node)]}["{node.label}"]'

    lines = ["flowchart TD"]
    for node in nodes:
        readers = [b for a, b in edges if a is node]
        if readers:
            lines.append(f"    {ref(node)} --> " + " & ".join(ref(b) for b in readers))
    lines += [f"    {ref(n)}" for n in nodes if id(n) not in declared]
    return "\n".join(lines)


def ascii_drawing(nodes: list[Node], edges: list[tuple[Node, Node]]) -> str:
    from dvc.dagascii import draw

    linked = {id(n) for edge in edges for n in edge}
    alone = [n.label for n in nodes if id(n) not in linked]
    drawing = draw(
        [n.label for n in nodes if id(n) in linked], [(b.label, a.label) for a, b in edges]
    )
    return drawing + (
        f"\n\nstages that read no other stage's output: {', '.join(alone)}" if alone else ""
    )


def print_dag(root: Path, form: str = "text", all_edges: bool = False) -> None:
    """Print the collapsed DAG of the project at `root` as text or a mermaid flowchart."""
    nodes = pipeline_nodes(root)
    edges = pipeline_edges(nodes)
    if not all_edges:
        edges = reduced(edges)
    print(mermaid(nodes, edges) if form == "mermaid" else ascii_drawing(nodes, edges))
