"""One validated settings object, built in main() from BAOCAO_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAOCAO_", extra="ignore")

    database_url: str = "sqlite:///var/baocao.db"
    config_dir: Path = Path("config")
