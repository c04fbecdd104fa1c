"""params.yaml validation: unknown or mistyped keys and bad values fail naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from task2sim.errors import Task2SimError
from task2sim.params import Params, load_params, parse_params

PROJECT_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def _base() -> dict:
    return yaml.safe_load(PROJECT_PARAMS.read_text())


def test_project_params_are_valid():
    """The default pool: 12+ offline tasks of the registry, 8+ seen and 4+ unseen."""
    from task2sim.datasets.registry import OFFLINE_TASKS

    params = load_params(PROJECT_PARAMS)
    assert len(params.tasks) >= 12
    assert {e.source for e in params.tasks.values()} <= {info.name for info in OFFLINE_TASKS}
    assert len(params.controller.seen) >= 8 and len(params.controller.unseen) >= 4
    assert set(params.controller.seen) | set(params.controller.unseen) == set(params.tasks)


def test_mistyped_section_key_suggests_the_right_one():
    raw = _base()
    raw["prepare"]["split_sed"] = 3
    with pytest.raises(
        Task2SimError, match=r"unknown key 'prepare.split_sed' \(did you mean 'split_seed'"
    ):
        parse_params(raw)


def test_mistyped_task_key_suggests_the_right_one():
    raw = _base()
    raw["tasks"]["digits"]["szie"] = 32
    with pytest.raises(
        Task2SimError, match=r"unknown key 'tasks.digits.szie' \(did you mean 'size'"
    ):
        parse_params(raw)


def test_unknown_top_level_section():
    raw = _base()
    raw["contoller"] = {}
    with pytest.raises(Task2SimError, match=r"unknown key 'contoller' \(did you mean 'controller'"):
        parse_params(raw)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("prepare", "test_fraction", 1.5, "prepare.test_fraction"),
        ("prepare", "split_seed", "zero", "prepare.split_seed"),
    ],
)
def test_out_of_range_or_wrong_type(section, key, value, message):
    raw = _base()
    raw[section][key] = value
    with pytest.raises(Task2SimError, match=message):
        parse_params(raw)


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"design": "quarter", "replicates": 1}, "quarter needs replicates >= 2"),
        ({"design": "half", "table": "cell_mean"}, "cell_mean needs design full"),
        ({"design": "eighth"}, "sweep.design"),
    ],
)
def test_sweep_design_must_support_its_table_and_halves(update, message):
    raw = _base()
    raw["sweep"].update(update)
    with pytest.raises(Task2SimError, match=message):
        parse_params(raw)


def test_bad_task_entries():
    raw = _base()
    raw["tasks"]["mine"] = {"source": "imagefolder"}
    with pytest.raises(Task2SimError, match="needs a 'path'"):
        parse_params(raw)
    raw["tasks"]["mine"] = {"source": "digits", "size": 4}
    with pytest.raises(Task2SimError, match=r"tasks\.mine\.size"):
        parse_params(raw)


def test_controller_must_name_known_tasks():
    raw = _base()
    raw["controller"]["unseen"].append("animal")
    with pytest.raises(Task2SimError, match=r"'animal', not in tasks \(did you mean 'animals'"):
        parse_params(raw)


def test_hparams_of_other_tasks_are_presets_but_typos_are_refused():
    raw = _base()
    raw["evaluate"]["finetune"]["hparams"] = {"eurosat": {"lr": 0.001}}  # a task not in the pool
    assert parse_params(raw).evaluate.finetune.hparams["eurosat"].lr == 0.001
    raw["evaluate"]["finetune"]["hparams"] = {"animal": {"lr": 0.001}}
    with pytest.raises(Task2SimError, match=r"'animal', not in tasks \(did you mean 'animals'"):
        parse_params(raw)


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(Task2SimError, match="not found"):
        load_params(tmp_path / "params.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("tasks: [unclosed\n")
    with pytest.raises(Task2SimError, match="not valid YAML"):
        load_params(broken)


def _unwritten(model: type[BaseModel], data: object, prefix: str = "") -> list[str]:
    """Fields of `model` (nested sections included) that `data` leaves to the code's default."""
    missing = []
    for name, field in model.model_fields.items():
        if not isinstance(data, dict) or name not in data:
            missing.append(prefix + name)
        elif isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            missing += _unwritten(field.annotation, data[name], f"{prefix}{name}.")
    return missing


def test_every_value_a_result_depends_on_is_written_in_params_yaml():
    # a default that lived only in code would change results without DVC re-running anything
    raw = yaml.safe_load(PROJECT_PARAMS.read_text())
    assert _unwritten(Params, raw) == []
    assert _unwritten(Params, {"seed": 0}) != []  # the check sees a section left out
