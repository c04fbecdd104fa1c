"""`task2sim tasks`: the registry as a plain text table, with what each task needs here."""

from __future__ import annotations

from task2sim.datasets.registry import all_tasks

_SHORT_STATUS = {"offline": "missing", "download": "to download", "manual": "manual"}


def left_aligned(rows: list[dict[str, object]]) -> str:
    """A plain text table, every column left-aligned to its widest cell."""
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def registry_listing() -> str:
    """Every registry task with its source and size, then why those not ready here are not."""
    rows, notes = [], []
    for info in all_tasks().values():
        reason = info.missing()
        if reason is not None:
            notes.append(f"  {info.name}: {reason}")
        rows.append(
            {
                "task": info.name,
                "domain": info.domain,
                "source": info.availability,
                "here": "ready" if reason is None else _SHORT_STATUS[info.availability],
                "classes": info.classes or "-",
                "train": info.train or "-",
                "test": info.test or "-",
                "paper": info.paper_role or "-",
            }
        )
    text = left_aligned(rows)
    if notes:
        text += "\n\nnot ready here:\n" + "\n".join(notes)
    return text
