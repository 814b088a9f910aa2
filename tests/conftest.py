"""Shared fixtures: the shipped config, a scratch copy an admin can break, a fresh SQLite file."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from scheduler.clock import TZ
from scheduler.config import Config, load_config

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CONFIG = ROOT / "config"

# Named instants, all Asia/Ho_Chi_Minh.
Q2_2026_DEADLINE = datetime(2026, 6, 5, tzinfo=TZ)
Q3_2026_DEADLINE = datetime(2026, 9, 5, tzinfo=TZ)
Q4_2026_DEADLINE = datetime(2026, 12, 5, tzinfo=TZ)


@pytest.fixture(scope="session")
def shipped_config() -> Config:
    return load_config(SHIPPED_CONFIG)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the shipped config the test may edit."""
    target = tmp_path / "config"
    shutil.copytree(SHIPPED_CONFIG, target)
    return target


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'baocao.db'}"


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace text in a config file the way an admin would, failing loudly if `old` is absent."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the nth line containing `needle`."""
    hits = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    return hits[occurrence - 1]
