"""One validated settings object, built in main() from BAOCAO_* environment variables.

Secrets (the SMTP password) come from the environment or a file named by
BAOCAO_SMTP_PASSWORD_FILE (systemd's LoadCredential), never from the YAML in the repo.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAOCAO_", extra="ignore")

    database_url: str = "sqlite:///var/baocao.db"
    config_dir: Path = Path("config")
    templates_dir: Path = Path("templates")
    outbox_dir: Path = Path("var/outbox")

    # No host: dry run, mail is written to outbox_dir as .eml files.
    smtp_host: str | None = None
    smtp_port: int | None = None  # default by security: 25 / 587 / 465
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_password_file: Path | None = None
    smtp_ca_file: Path | None = None  # trust an internal CA (or a self-signed server certificate)
    smtp_timeout: float = Field(default=30.0, gt=0)
    smtp_connections: int = Field(default=2, ge=1, le=10)  # parallel connections per batch
    smtp_attempts: int = Field(default=3, ge=1, le=10)  # tries within one batch
    smtp_retry_base: float = Field(default=2.0, ge=0)  # seconds; doubles each try, with jitter
    mail_from: str = "baocao@example.org"

    retry_minutes: int = Field(default=5, ge=1)  # how often the full tick re-runs (retries, catch-up)
    log_level: str = "INFO"

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8080"  # how units reach the form; goes into every link
    # Behind a reverse proxy (nginx doing TLS), its address: then the client's own address is
    # read from X-Forwarded-For, so throttling one guesser does not throttle everyone.
    forwarded_allow_ips: str | None = None
    # Signs links, CSRF tokens and the office's session. Without one, a random key is kept in
    # secret_key_file (created 0600 on first start), so links survive restarts.
    secret_key: SecretStr | None = None
    secret_key_file: Path = Path("var/secret_key")
    office_user: str = "vanphong"
    office_password_hash: SecretStr | None = None  # argon2 hash, from `baocao hash-password`

    @model_validator(mode="after")
    def _password_from_file(self) -> "Settings":
        if self.smtp_password is None and self.smtp_password_file is not None:
            self.smtp_password = SecretStr(self.smtp_password_file.read_text(encoding="utf-8").strip())
        return self

    def secret(self) -> bytes:
        """The signing key; created on first use when none is configured."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < 32:
                raise ValueError("BAOCAO_SECRET_KEY phải dài ít nhất 32 ký tự")
            return value.encode()
        path = self.secret_key_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text(encoding="utf-8").strip().encode()

    @property
    def dry_run(self) -> bool:
        return not self.smtp_host

    @property
    def port(self) -> int:
        return self.smtp_port or {"none": 25, "starttls": 587, "tls": 465}[self.smtp_security]
