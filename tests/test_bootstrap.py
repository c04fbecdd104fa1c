"""scripts/bootstrap.sh: a missing or tampered npm source fails clearly, leaving nothing behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run_with_fake_npm(tmp_path: Path, npm_body: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text("#!/bin/sh\n" + npm_body)
    npm.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "TASK2SIM_DEPS": str(tmp_path / "deps"),
    }
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "bootstrap.sh")], env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("npm_body", "message"),
    [
        ("echo 'npm ERR! network' >&2; exit 1\n", "npm pack emoji-datasource-google@16.0.0 failed"),
        ("echo tampered > emoji-datasource-google-16.0.0.tgz\n", "checksum mismatch"),
    ],
)
def test_npm_source_failures_are_explained(tmp_path, npm_body, message):
    result = _run_with_fake_npm(tmp_path, npm_body)
    assert result.returncode != 0
    assert message in result.stderr
    assert not any((tmp_path / "deps" / "npm").iterdir())  # no partial package left


def test_second_run_is_quick_and_quiet():
    """Everything is installed already (CI ran it before pytest), so nothing is redone."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "bootstrap.sh")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
