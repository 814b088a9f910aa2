"""One validated settings object, built in main() from BAOCAO_* environment variables.

Secrets (the SMTP password) come from the environment or a file named by
BAOCAO_SMTP_PASSWORD_FILE (systemd's LoadCredential), never from the YAML in the repo.

Every value is checked when the object is built, not when it is first used: a bad value
found while mail is being composed would fail every send of the round for good (issue 9),
whereas found at start-up it stops the command before anything is claimed. `load_settings`
turns pydantic's errors into Vietnamese lines that name the environment variable.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import ssl
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from scheduler.settings_checks import (MIN_SECRET_LENGTH, creatable, host_problem, key_file_problem, key_too_short, 
                                       read_text, readable_file)
from scheduler.settings_text import setting_issues

ENV_PREFIX = "BAOCAO_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DATABASE_BACKENDS = ("sqlite", "postgresql")
# Values never repeated in a message: they end up in journald and in terminals over shoulders.
SECRET_FIELDS = {"secret_key", "smtp_password", "office_password_hash"}



class SettingsError(ValueError):
    """Settings that cannot be used; each issue names its variable and says what is expected.

    A ValueError so that callers that caught the old key-length error still catch it."""

    def __init__(self, issues: list[str]):
        super().__init__("\n".join(issues))
        self.issues = issues


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def _other(field: str, message: str) -> PydanticCustomError:
    """An error found while checking one field but about another variable (kept in ctx)."""
    return PydanticCustomError("baocao_other", "{message}", {"field": field, "message": message})


class Settings(BaseSettings):
    # An empty variable (BAOCAO_SMTP_HOST= in an env file) means "not set", as systemd admins expect.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True)

    database_url: str = "sqlite:///var/baocao.db"
    config_dir: Path = Path("config")
    templates_dir: Path = Path("templates")
    outbox_dir: Path = Path("var/outbox")

    # No host: dry run, mail is written to outbox_dir as .eml files.
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)  # default by security: 25 / 587 / 465
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_password_file: Path | None = Field(default=None, validate_default=True)
    smtp_ca_file: Path | None = None  # trust an internal CA (or a self-signed server certificate)
    smtp_timeout: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    smtp_connections: int = Field(default=2, ge=1, le=10)  # parallel connections per batch
    smtp_attempts: int = Field(default=3, ge=1, le=10)  # tries within one batch
    smtp_retry_base: float = Field(default=2.0, ge=0, allow_inf_nan=False)  # seconds; doubles each try, with jitter
    mail_from: str = "baocao@example.org"

    retry_minutes: int = Field(default=5, ge=1)  # how often the full tick re-runs (retries, catch-up)
    # How long the web process may leave the parent's pings unanswered before it is restarted
    # (service/webproc): systemd's watchdog sees only the parent's loop.
    web_hang_seconds: float = Field(default=120.0, gt=0, allow_inf_nan=False)
    log_level: str = "INFO"

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port (tests)
    # How units reach the form; goes into every link. Unset: this machine's HTTP_HOST and
    # HTTP_PORT, so a service moved to another port does not mail links to the old one.
    public_url: str | None = None
    # Behind a reverse proxy (nginx doing TLS), its address: then the client's own address is
    # read from X-Forwarded-For, so throttling one guesser does not throttle everyone.
    forwarded_allow_ips: str | None = None
    # Signs links, CSRF tokens and the office's session. Without one, a random key is kept in
    # secret_key_file (created 0600 on first start), so links survive restarts.
    secret_key: SecretStr | None = None
    secret_key_file: Path = Field(default=Path("var/secret_key"), validate_default=True)
    office_user: str = "vanphong"
    office_password_hash: SecretStr | None = None  # argon2 hash, from `baocao hash-password`

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if (plain := PLAIN_SQLITE.fullmatch(value)) is not None:
            # The shape nearly every install has, read as SQLAlchemy's make_url reads it, without
            # importing SQLAlchemy: every command checks its settings, most never open the store.
            _sqlite_file_check(unquote(plain.group(1)))
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            # Not repeated: a URL can carry a password.
            raise ValueError("không đọc được URL cơ sở dữ liệu; ví dụ sqlite:///var/baocao.db hoặc "
                             "postgresql+psycopg://user@host/baocao") from None
        shown = url.render_as_string(hide_password=True)
        if url.get_backend_name() not in DATABASE_BACKENDS:
            raise ValueError(f"'{shown}': chỉ hỗ trợ sqlite hoặc postgresql (sqlite:///… hoặc postgresql+psycopg://…)")
        try:
            url.get_dialect().import_dbapi()
        except ArgumentError:
            raise ValueError(f"'{shown}': không có trình điều khiển '{url.get_driver_name()}' cho "
                             f"{url.get_backend_name()}; với PostgreSQL dùng postgresql+psycopg://…") from None
        except ImportError:
            raise ValueError(f"'{shown}': chưa cài trình điều khiển '{url.get_driver_name()}'; với PostgreSQL "
                             "dùng postgresql+psycopg://… (pip install -e '.[postgres]')") from None
        if url.get_backend_name() == "sqlite":
            _sqlite_file_check(url.database)
        return value

    @field_validator("smtp_security", mode="before")
    @classmethod
    def _smtp_security_case(cls, value):
        return value.strip().lower() if isinstance(value, str) else value  # TLS and tls are the same choice

    @field_validator("outbox_dir")
    @classmethod
    def _outbox_dir(cls, value: Path) -> Path:
        # Checked now, not when the first mail is written: a dry run whose outbox cannot exist
        # would otherwise take every send and leave it waiting.
        if value.exists():
            if not value.is_dir():
                raise ValueError(f"{value} không phải thư mục")
            if not os.access(value, os.W_OK | os.X_OK):
                raise ValueError(f"không có quyền ghi vào thư mục {value}")
        elif problem := creatable(value):
            raise ValueError(problem)
        return value

    @field_validator("smtp_host")
    @classmethod
    def _smtp_host(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if problem := host_problem(value, "mail.example.org"):
            if "://" in value:
                problem += " (cổng đặt ở BAOCAO_SMTP_PORT, mã hoá ở BAOCAO_SMTP_SECURITY)"
            raise ValueError(problem)
        return value

    @field_validator("http_host")
    @classmethod
    def _http_host(cls, value: str) -> str:
        value = value.strip()
        if problem := host_problem(value, "127.0.0.1"):
            raise ValueError(problem + " (cổng đặt ở BAOCAO_HTTP_PORT)" if "://" in value else problem)
        return value

    @field_validator("smtp_ca_file")
    @classmethod
    def _smtp_ca_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        readable_file(value)
        try:
            ssl.create_default_context(cafile=value)  # what the mailer does with it
        except (ssl.SSLError, ValueError):
            raise ValueError(f"tệp {value} không chứa chứng thư CA dạng PEM mà ssl đọc được") from None
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        from email_validator import EmailNotValidError, validate_email

        value = value.strip()
        if "<" in value:
            raise ValueError(f"'{value}': chỉ ghi địa chỉ email, không kèm tên hiển thị; ví dụ baocao@example.org")
        try:
            # The same rule as the units' addresses in units.yaml (scheduler/config/model.py).
            valid = validate_email(value, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError:
            raise ValueError(f"'{value}' không phải địa chỉ email hợp lệ; ví dụ baocao@example.org") from None
        return valid.ascii_email or valid.normalized

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"'{value}' không hợp lệ; chọn một trong: {', '.join(LOG_LEVELS)}")
        return value.strip().upper()

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        example = "ví dụ https://baocao.example.gov.vn"
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"'{value}' phải bắt đầu bằng http:// hoặc https:// và có tên máy chủ; {example}")
        try:
            parts.port
        except ValueError:
            raise ValueError(f"'{value}' có cổng không hợp lệ; {example}:8443") from None
        if parts.query or parts.fragment:
            # Links are built as PUBLIC_URL + /f/<token>: a ?… or #… would swallow the token.
            raise ValueError(f"'{value}' không được có phần ?… hay #…; {example}")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _forwarded_allow_ips(cls, value: str | None) -> str | None:
        # uvicorn quietly treats a mistyped address as a literal that never matches; say so here.
        if value is None or value.strip() == "*":
            return value
        items = [item.strip() for item in value.split(",")]
        bad = []
        for item in items:
            try:
                ipaddress.ip_network(item) if "/" in item else ipaddress.ip_address(item)
            except ValueError:
                bad.append(item)
        if bad:
            raise ValueError(f"{', '.join(repr(b) for b in bad)} không phải địa chỉ IP hay dải mạng hợp lệ; "
                             "ghi các địa chỉ cách nhau bằng dấu phẩy, ví dụ 127.0.0.1 hoặc 10.0.0.0/24, hoặc *")
        return ",".join(items)

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(key_too_short(len(value.get_secret_value())))
        return value

    @field_validator("office_user")
    @classmethod
    def _office_user(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("không được để trống")
        return value.strip()

    @field_validator("office_password_hash")
    @classmethod
    def _office_password_hash(cls, value: SecretStr | None) -> SecretStr | None:
        from argon2 import extract_parameters
        from argon2.exceptions import InvalidHashError

        if value is None:
            return None
        try:
            extract_parameters(value.get_secret_value().strip())
        except (InvalidHashError, ValueError):
            raise ValueError("không phải mã băm argon2 (dạng $argon2id$v=19$…); tạo bằng lệnh baocao hash-password "
                             "và đặt trong dấu nháy đơn") from None
        return SecretStr(value.get_secret_value().strip())

    @field_validator("secret_key_file", mode="after")
    @classmethod
    def _secret_key_file(cls, value: Path, info: ValidationInfo) -> Path:
        # The file is used only when no key is configured (a configured key that failed its own
        # check is absent from info.data: then the file does not matter either).
        if info.data.get("secret_key", "failed") is None and (problem := key_file_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("smtp_password_file", mode="after")
    @classmethod
    def _smtp_login(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is not None and not read_text(readable_file(value)):
            raise ValueError(f"tệp {value} rỗng; cần chứa mật khẩu SMTP")
        if "smtp_username" not in info.data or "smtp_password" not in info.data:
            return value  # already reported
        # aiosmtplib logs in with an empty password when there is none, and skips a password
        # with no user name: either way every mail would be refused by an authenticating server.
        has_password = info.data["smtp_password"] is not None or value is not None
        if info.data["smtp_username"] and not has_password:
            raise _other("smtp_username", "đã đặt tên đăng nhập nhưng thiếu mật khẩu; đặt "
                                          f"{env_name('smtp_password')} hoặc {env_name('smtp_password_file')}")
        if has_password and not info.data["smtp_username"]:
            raise _other("smtp_password" if info.data["smtp_password"] is not None else "smtp_password_file",
                         f"đã có mật khẩu SMTP nhưng thiếu tên đăng nhập {env_name('smtp_username')}")
        return value

    @model_validator(mode="after")
    def _default_public_url(self) -> "Settings":
        if self.public_url is None:
            host = self.http_host if self.http_host not in ("", "0.0.0.0", "::") else "127.0.0.1"
            host = f"[{host}]" if ":" in host else host
            self.public_url = f"http://{host}:{self.http_port}"
        return self

    @model_validator(mode="after")
    def _password_from_file(self) -> "Settings":
        if self.smtp_password is None and self.smtp_password_file is not None:
            self.smtp_password = SecretStr(read_text(self.smtp_password_file))
        return self

    def secret(self, create: bool = False) -> bytes:
        """The signing key. Only `run` creates it (create=True) when none is configured: a
        command run with another working folder would otherwise mail links signed with a new
        key that the service refuses.

        Raises SettingsError if the key file is missing (and not to be created) or unusable."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < MIN_SECRET_LENGTH:  # only reachable through model_copy, which skips validation
                raise SettingsError([f"{env_name('secret_key')}: {key_too_short(len(value))}"])
            return value.encode()
        path = self.secret_key_file
        if not path.exists() and not create:
            raise SettingsError([
                f"{env_name('secret_key_file')}: chưa có khoá ký đường dẫn tại {path.resolve()} (thư mục hiện tại "
                f"{Path.cwd()}). Chạy lệnh với cùng thiết lập như dịch vụ (trong thư mục của dịch vụ, hoặc đặt "
                f"{env_name('secret_key_file')} hay {env_name('secret_key')} như dịch vụ dùng); nếu mới cài đặt, khởi "
                "động dịch vụ (baocao run) một lần để tạo khoá."])
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Written in full to a private temporary file, then linked into place: a reader in
            # another thread or process never sees the file empty, and of two creators the first
            # link wins and the other's key is dropped (link refuses to replace).
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_urlsafe(48))
                    fh.flush()
                    os.fsync(fh.fileno())
                try:
                    os.link(tmp, path)
                except FileExistsError:  # another thread or process made it first: use theirs
                    pass
            finally:
                tmp.unlink(missing_ok=True)
        if problem := key_file_problem(path):
            raise SettingsError([f"{env_name('secret_key_file')}: {problem}"])
        return path.read_text(encoding="utf-8").strip().encode()

    def link_warning(self) -> str | None:
        """Mail goes out for real but its links lead to this machine only: said at `run` and at
        every `remind`, since each step is mailed once and a dead link is never repaired."""
        host = urlsplit(self.public_url).hostname or ""
        if self.dry_run or not (host == "localhost" or host.startswith("127.") or host == "::1"):
            return None
        return (f"Đường dẫn trong thư dẫn tới {self.public_url}: chỉ mở được trên chính máy này, đơn vị sẽ không mở "
                "được. Đặt BAOCAO_PUBLIC_URL là địa chỉ đơn vị truy cập được, ví dụ https://baocao.example.gov.vn")

    @property
    def dry_run(self) -> bool:
        return not self.smtp_host

    @property
    def port(self) -> int:
        return self.smtp_port or {"none": 25, "starttls": 587, "tls": 465}[self.smtp_security]


# sqlite:///<file> with the default driver (the standard library's sqlite3) and no query: what
# make_url parses into backend sqlite, database <file> (percent-escapes decoded).
PLAIN_SQLITE = re.compile(r"sqlite:///([^?]*)")


def _sqlite_file_check(database: str | None) -> None:
    if database and database != ":memory:":
        # The store creates the file (and its folder) on first open: say now if it cannot.
        path = Path(database)
        problem = creatable(path) if not path.exists() else (
            None if os.access(path, os.R_OK | os.W_OK) else f"không có quyền đọc và ghi tệp {path}")
        if problem:
            raise ValueError(problem)


def load_settings(**overrides) -> Settings:
    """Settings from BAOCAO_* variables (and `overrides`, which win), all checked at once.

    Raises SettingsError listing every bad value, each as 'BAOCAO_X: what is wrong'."""
    from pydantic_settings import SettingsError as EnvParsingError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(setting_issues(exc, Settings, SECRET_FIELDS, env_name)) from None
    except EnvParsingError as exc:  # pragma: no cover - only complex (JSON) fields, none today
        raise SettingsError([f"không đọc được biến môi trường: {exc}"]) from None
