"""The project's import graph, read from the source text (nothing is imported).

Every `import` counts, at module level or inside a function: a function-level import runs when
the function does, so the code it brings in is part of what a command may execute. `from a
import b` is an edge to the module `a.b` when that module exists, else to `a`; importing a
module also runs its parent packages' `__init__.py`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import networkx as nx

import task2sim

PACKAGE = "task2sim"
SOURCE_ROOT = Path(task2sim.__file__).resolve().parent


def module_name(path: Path, root: Path = SOURCE_ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def is_command_module(name: str) -> bool:
    """A module that registers `task2sim` sub-commands (`task2sim.final.cli`, ...)."""
    from task2sim.cli import COMMANDS

    return name in COMMANDS.values() or (name.endswith(".cli") and name != f"{PACKAGE}.cli")


def _top(name: str) -> str:
    """The top-level sub-package or module of `name` ('task2sim.cka.run' -> 'task2sim.cka')."""
    return ".".join(name.split(".")[:2])


@dataclass
class ModuleSource:
    """One module's syntax tree and where it lives."""

    name: str
    path: Path
    tree: ast.Module = field(repr=False)

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    def function(self, qualname: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
        node: ast.AST = self.tree
        for part in qualname.split("."):
            node = next(
                child
                for child in ast.iter_child_nodes(node)
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and child.name == part
            )
        assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef), qualname
        return node


class ImportGraph:
    """Modules of the task2sim package and the project modules each one imports."""

    def __init__(self, root: Path = SOURCE_ROOT) -> None:
        self.root = Path(root)
        self.modules: dict[str, ModuleSource] = {}
        for path in sorted(self.root.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            name = module_name(path, self.root)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            self.modules[name] = ModuleSource(name, path, tree)

    def _resolve(self, source: ModuleSource, node: ast.Import | ast.ImportFrom) -> set[str]:
        """Project modules one import statement loads (parent packages included)."""
        targets: set[str] = set()
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            if node.level:
                package = source.name if source.is_package else source.name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{node.module}" if node.module else package
            else:
                base = node.module or ""
            names = [base]
            names += [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            if name in self.modules:
                targets.add(name)
                targets.update(p for p in _parents(name) if p in self.modules)
        return targets

    def imports_in(self, source: ModuleSource, node: ast.AST) -> set[str]:
        """Project modules imported anywhere inside `node` (nested functions included)."""
        found: set[str] = set()
        for child in ast.walk(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found |= self._resolve(source, child)
        return found - {source.name}

    def top_level_imports(self, name: str) -> set[str]:
        """What importing `name` runs: the imports outside its functions (and its parents)."""
        source = self.modules[name]
        found = {p for p in _parents(name) if p in self.modules}
        for child in source.tree.body:
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):  # class bodies run
                found |= self.imports_in(source, child)
        return found - {name}

    @cached_property
    def graph(self) -> nx.DiGraph:
        """Edge a -> b when module a imports b anywhere in its text."""
        graph = nx.DiGraph()
        graph.add_nodes_from(self.modules)
        for name, source in self.modules.items():
            for target in self.imports_in(source, source.tree):
                graph.add_edge(name, target)
            for parent in _parents(name):
                if parent in self.modules:
                    graph.add_edge(name, parent)
        return graph

    def closure(self, start: set[str]) -> set[str]:
        """`start` and every module reachable from it."""
        reached = set(start)
        for name in start:
            reached |= nx.descendants(self.graph, name)
        return reached

    def function_closure(self, module: str, qualname: str) -> set[str]:
        """What running `module.qualname` may execute: the module as imported, the function's
        own imports and those of the same module's functions it names, and their closures."""
        source = self.modules[module]
        local = {
            node.name: node
            for node in source.tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        start = {module} | self.top_level_imports(module)
        pending, seen = [source.function(qualname)], set()
        while pending:
            function = pending.pop()
            if function.name in seen:
                continue
            seen.add(function.name)
            start |= self.imports_in(source, function)
            for node in ast.walk(function):
                if isinstance(node, ast.Name) and node.id in local:
                    pending.append(local[node.id])
        # the module itself is imported, but only its top level runs, not its other functions
        return {module} | self.closure(start - {module})

    def cycles(self) -> list[list[str]]:
        """Every group of modules that import each other (strongly connected, size > 1),
        parent-package edges left out: a package importing its own submodules is no circle."""
        graph = nx.DiGraph()
        graph.add_nodes_from(self.modules)
        for name, source in self.modules.items():
            for target in self.imports_in(source, source.tree):
                if not name.startswith(target + "."):
                    graph.add_edge(name, target)
        return sorted(
            sorted(group) for group in nx.strongly_connected_components(graph) if len(group) > 1
        )

    def package_cycles(self) -> list[list[str]]:
        """Circles between the top-level sub-packages and modules of task2sim (`task2sim.cka`
        imports `task2sim.report` and back): each layer should only read the ones below it.
        Command modules (`*.cli`) are entry points above every layer, so their edges don't count
        (`command_importers` checks that nothing imports them)."""
        graph = nx.DiGraph()
        for name, source in self.modules.items():
            if is_command_module(name):
                continue
            for target in self.imports_in(source, source.tree):
                here, there = _top(name), _top(target)
                if here != there and there != PACKAGE:
                    graph.add_edge(here, there)
        return sorted(
            sorted(group) for group in nx.strongly_connected_components(graph) if len(group) > 1
        )

    def command_importers(self) -> list[tuple[str, str]]:
        """(importer, command module) pairs: only the dispatcher may import a command module."""
        return sorted(
            (name, target)
            for name, source in self.modules.items()
            for target in self.imports_in(source, source.tree)
            if is_command_module(target) and name != f"{PACKAGE}.cli"
        )

    def path_of(self, name: str) -> Path:
        return self.modules[name].path
