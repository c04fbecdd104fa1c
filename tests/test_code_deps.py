"""Each stage's code deps are what its command runs; the package has no import circles."""

from __future__ import annotations

import argparse
import ast
import importlib
import re
from pathlib import Path

import yaml

from task2sim.cli import COMMANDS
from task2sim.layout import LAYOUT
from task2sim.pipeline.code_deps import (
    CODE_PREFIX,
    check_dvc_yaml,
    command_modules,
    cover,
    covered,
    dvc_yaml_stages,
    expected_dvc_yaml,
    rewrite_code_deps,
)
from task2sim.pipeline.imports import SOURCE_ROOT, ImportGraph
from task2sim.pipeline.per_config import RENDER_CMD, SWEEP_CMD, render_deps, sweep_deps

ROOT = Path(__file__).resolve().parents[1]
DVC_YAML = (ROOT / "dvc.yaml").read_text(encoding="utf-8")


def _without(text: str, stage: str, dep: str) -> str:
    """dvc.yaml `text` with `dep` taken out of `stage`'s deps."""
    stages = dvc_yaml_stages(text)
    kept = tuple(d for d in stages[stage][1] if d.startswith("src/") and d != dep)
    assert len(kept) == len([d for d in stages[stage][1] if d.startswith("src/")]) - 1, dep
    return rewrite_code_deps(text, {stage: kept})


def test_every_stage_lists_exactly_the_code_its_command_runs():
    assert check_dvc_yaml(DVC_YAML) == [], "run `task2sim pipelines` and commit dvc.yaml"
    assert expected_dvc_yaml(DVC_YAML) == DVC_YAML


def test_a_stage_missing_a_module_it_runs_fails_the_check():
    # cka loads backbones through train/checkpoint.py: take that dep out and the check names it
    broken = _without(DVC_YAML, "cka", "src/task2sim/train/checkpoint.py")
    [mismatch] = check_dvc_yaml(broken)
    assert mismatch.stage == "cka"
    assert mismatch.unlisted == ("task2sim.train.checkpoint",)
    assert "task2sim.train.checkpoint" in mismatch.describe()
    # a folder dep stands for every module under it
    folder = next(d for d in dvc_yaml_stages(DVC_YAML)["cka"][1] if d == "src/task2sim/cka")
    [mismatch] = check_dvc_yaml(_without(DVC_YAML, "cka", folder))
    assert "task2sim.cka.run" in mismatch.unlisted


def test_a_stage_listing_code_it_does_not_run_fails_the_check():
    stages = dvc_yaml_stages(DVC_YAML)
    code = [d for d in stages["task_sheet"][1] if d.startswith("src/")]
    padded = rewrite_code_deps(DVC_YAML, {"task_sheet": (*code, "src/task2sim/train")})
    [mismatch] = check_dvc_yaml(padded)
    assert mismatch.stage == "task_sheet" and not mismatch.unlisted
    assert "src/task2sim/train" in mismatch.describe()


def test_what_the_stages_run_is_plausible():
    render = command_modules("render")
    assert {"task2sim.render.set_writer", "task2sim.assets.mesh", "task2sim.params"} <= render
    assert not any(m.startswith(("task2sim.train", "task2sim.evaluate")) for m in render)
    sweep = command_modules("sweep")
    assert {"task2sim.train.loop", "task2sim.evaluate.knn", "task2sim.sweep.job"} <= sweep
    assert not any(m.startswith(("task2sim.assets", "task2sim.report")) for m in sweep)
    # the params module, with the recipe defaults, is part of every stage that reads params
    stages = yaml.safe_load(DVC_YAML)["stages"]
    for name, (_, deps) in dvc_yaml_stages(DVC_YAML).items():
        if stages[name].get("do", stages[name]).get("params"):
            assert "src/task2sim/params.py" in deps, name


def test_per_config_stages_take_their_code_deps_from_the_same_source():
    assert set(cover(command_modules("render"))) <= set(render_deps())
    assert set(cover(command_modules("sweep"))) <= set(sweep_deps())
    assert RENDER_CMD.startswith("task2sim render ") and SWEEP_CMD.startswith("task2sim sweep ")


def test_lazy_imports_count(tmp_path):
    package = tmp_path / "task2sim"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "heavy.py").write_text("X = 1\n")
    (package / "sub" / "other.py").write_text("Y = 2\n")
    (package / "cli.py").write_text(
        "import argparse\n\n"
        "def _cmd_a(args):\n    from task2sim.sub.heavy import X\n    return helper(X)\n\n"
        "def helper(x):\n    from .sub import other\n    return x\n\n"
        "def _cmd_b(args):\n    import task2sim.sub.other\n"
    )
    graph = ImportGraph(package)
    assert graph.function_closure("task2sim.cli", "_cmd_a") == {
        "task2sim",
        "task2sim.cli",
        "task2sim.sub",
        "task2sim.sub.heavy",
        "task2sim.sub.other",
    }
    assert "task2sim.sub.heavy" not in graph.function_closure("task2sim.cli", "_cmd_b")
    assert cover({"task2sim.sub", "task2sim.sub.heavy", "task2sim.sub.other"}, graph) == [
        "src/task2sim/sub"
    ]


def test_the_package_has_no_import_circles():
    graph = ImportGraph()
    assert graph.cycles() == [], "modules importing each other (at any level)"
    assert graph.package_cycles() == [], "sub-packages importing each other"
    assert graph.command_importers() == [], "command modules are entry points, never imported"


def test_a_circle_is_found(tmp_path):
    package = tmp_path / "task2sim"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from task2sim import b\n")
    (package / "b.py").write_text("from task2sim.a import f\n")
    assert ImportGraph(package).cycles() == [["task2sim.a", "task2sim.b"]]


def test_each_command_is_registered_by_the_module_the_table_names():
    for module in set(COMMANDS.values()):
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(module).register(sub)
        assert set(sub.choices) == {c for c, m in COMMANDS.items() if m == module}, module


def _string_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]


def test_project_paths_come_from_the_layout():
    pattern = re.compile(r"^(data|results)/")
    for path in sorted(SOURCE_ROOT.rglob("*.py")):
        if path.name == "layout.py":
            continue
        found = [s for s in _string_literals(path) if pattern.match(s)]
        assert not found, f"{path.relative_to(SOURCE_ROOT)}: {found} (use task2sim.layout)"


def test_dvc_yaml_paths_are_layout_paths():
    known = {p.as_posix() for p in LAYOUT.paths().values()}
    stages = yaml.safe_load(DVC_YAML)["stages"]
    for name, stage in stages.items():
        body = stage.get("do", stage)
        for entry in (*body.get("deps", []), *body.get("outs", []), *body.get("metrics", [])):
            path = next(iter(entry)) if isinstance(entry, dict) else entry
            if path.startswith(("data/", "results/")):
                path = Path(path.split("/${")[0])
                near = {path, path.parent, path.with_suffix(".md")}  # a file's folder, a twin
                assert {p.as_posix() for p in near} & known, (name, path)


# Modules a stored build's key already accounts for: the params' values, the plan and the task
# or set digests are in the key; the rest moves files, reports errors or schedules work.
KEYED_ELSEWHERE = {
    "task2sim", "task2sim.atomic", "task2sim.errors", "task2sim.outputs", "task2sim.paths",
    "task2sim.scratch", "task2sim.params", "task2sim.final.plan", "task2sim.final.store",
    "task2sim.sweep.executors", "task2sim.controller.baselines", "task2sim.reward_table",
    "task2sim.stats.factorial", "task2sim.task2vec.distance", "task2sim.sim.config",
}  # fmt: skip


def _outside(modules: set[str], packages: tuple[str, ...], graph: ImportGraph) -> set[str]:
    """The modules of `modules` whose file is in none of `packages` ('train', 'final/plan'),
    read as `code_digest` reads them: a folder, else one module."""
    listed = [
        f"{CODE_PREFIX}/{p}" if (graph.root / p).is_dir() else f"{CODE_PREFIX}/{p}.py"
        for p in packages
    ]
    return modules - covered(listed, modules, graph)


def test_stored_builds_key_on_the_code_their_bytes_come_from():
    from task2sim.final.evaluate import EVALUATE_CODE
    from task2sim.final.pretrain import TRAIN_CODE
    from task2sim.final.sets import RENDER_CODE

    graph = ImportGraph()
    builders = {
        "task2sim.render.set_writer": RENDER_CODE,
        "task2sim.train.loop": TRAIN_CODE,
        "task2sim.final.evaluate": EVALUATE_CODE,
    }
    for builder, packages in builders.items():
        closure = graph.closure({builder})
        packages_inits = {m for m in closure if graph.modules[m].is_package}
        missed = _outside(closure, packages, graph) - KEYED_ELSEWHERE - packages_inits
        assert not missed, f"{builder}: its stored builds' key misses {sorted(missed)}"
    # the check sees a gap: without datasets/image_set a backbone's key misses the set reader
    missed = _outside(graph.closure({"task2sim.train.loop"}), ("train",), graph)
    assert "task2sim.datasets.image_set" in missed
