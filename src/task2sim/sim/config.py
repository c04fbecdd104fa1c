"""Config index ↔ parameter bits ↔ the paper's string key (SPEC §1).

Set i in [0, 255] switches parameter k on when bit k of i (MSB first, in `PARAM_NAMES` order) is 1.
The paper's released reward table names sets by a string key instead: the code values of its nine
generator keys in alphabetical order, joined by "_" (materials stores bit b as 2b+1; `pose_cam` is
always 0). Both forms are needed wherever our tables meet the paper's data.
"""

from __future__ import annotations

from task2sim.errors import Task2SimError

PARAM_NAMES: tuple[str, ...] = (
    "pose_rot",
    "pose_scale",
    "lighting_intensity",
    "lighting_color",
    "lighting_dir",
    "blur",
    "backgr",
    "materials",
)
"""The 8 parameters, MSB first: index 128 is `pose_rot` alone, index 1 is `materials` alone."""

PARAM_LABELS: dict[str, str] = {
    "pose_rot": "object rotation",
    "pose_scale": "camera distance",
    "lighting_intensity": "light intensity",
    "lighting_color": "light colour",
    "lighting_dir": "light direction",
    "blur": "focus blur",
    "backgr": "background",
    "materials": "materials",
}

NUM_CONFIGS = 2 ** len(PARAM_NAMES)

# The generator's nine keys in alphabetical order: the layout of the paper's string key.
_KEY_ORDER: tuple[str, ...] = tuple(sorted((*PARAM_NAMES, "pose_cam")))


def _check_index(index: int) -> int:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < NUM_CONFIGS:
        raise Task2SimError(
            f"config index {index!r} is out of range", f"use an integer in 0..{NUM_CONFIGS - 1}"
        )
    return index


def index_to_bits(index: int) -> tuple[int, ...]:
    """The 8 on/off bits of set `index`, in `PARAM_NAMES` order."""
    _check_index(index)
    width = len(PARAM_NAMES)
    return tuple((index >> (width - 1 - k)) & 1 for k in range(width))


def bits_to_index(bits: tuple[int, ...] | list[int]) -> int:
    """Inverse of `index_to_bits`."""
    if len(bits) != len(PARAM_NAMES) or any(b not in (0, 1) for b in bits):
        raise Task2SimError(
            f"config bits {tuple(bits)} are not 8 values of 0 or 1",
            f"give one bit per parameter in the order {', '.join(PARAM_NAMES)}",
        )
    index = 0
    for bit in bits:
        index = (index << 1) | int(bit)
    return index


def index_to_flags(index: int) -> dict[str, bool]:
    """Parameter name → switched on, for set `index`."""
    return {name: bool(bit) for name, bit in zip(PARAM_NAMES, index_to_bits(index), strict=True)}


def index_to_key(index: int) -> str:
    """The paper's string key of set `index`, e.g. 255 → '1_1_1_1_1_3_0_1_1'."""
    values = dict(zip(PARAM_NAMES, index_to_bits(index), strict=True))
    values["materials"] = 2 * values["materials"] + 1
    values["pose_cam"] = 0
    return "_".join(str(values[name]) for name in _KEY_ORDER)


def key_to_index(key: str) -> int:
    """Inverse of `index_to_key`; refuses keys that no Task2Sim set uses."""
    parts = key.split("_")
    if len(parts) != len(_KEY_ORDER) or not all(p.isdigit() for p in parts):
        raise Task2SimError(
            f"'{key}' is not a paper config key",
            f"a key is 9 integers joined by '_' in the order {', '.join(_KEY_ORDER)}",
        )
    values = dict(zip(_KEY_ORDER, (int(p) for p in parts), strict=True))
    if values["pose_cam"] != 0 or values["materials"] not in (1, 3):
        raise Task2SimError(
            f"'{key}' uses generator options outside the 256 Task2Sim sets",
            "pose_cam must be 0 and materials 1 (own) or 3 (random per image)",
        )
    values["materials"] = (values["materials"] - 1) // 2
    bits = [values[name] for name in PARAM_NAMES]
    return bits_to_index(bits)


def stage_name(index: int) -> str:
    """`cNNN`, the name of set `index` in paths and stage names."""
    return f"c{_check_index(index):03d}"


def parse_config(text: str) -> int:
    """A config given by a user: `cNNN`, a plain index, or a paper key."""
    text = text.strip()
    if "_" in text:
        return key_to_index(text)
    digits = text[1:] if text[:1] in ("c", "C") else text
    if not digits.isdigit():
        raise Task2SimError(
            f"'{text}' is not a config",
            "give an index 0..255, cNNN, or a paper key like 1_1_1_1_1_3_0_1_1",
        )
    return _check_index(int(digits))
