"""`baocao backup` and `baocao restore`: a copy of the store taken while the service runs, and
putting one back in place of the service's database (issue 15)."""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path

from typing import TYPE_CHECKING

import click

from scheduler.clock import TZ
from scheduler.text import number, os_error

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

# SQLAlchemy and the store load in the functions that use them (every command imports this module
# to register backup and restore): `baocao check-config` does not pay for them.

STOP_FIRST = "dừng dịch vụ trước (systemctl stop baocao, hoặc Ctrl+C ở cửa sổ đang chạy baocao run) rồi chạy lại lệnh"
KEY_APART = ("Khoá ký đường dẫn ({key}) không nằm trong bản sao lưu: sao lưu riêng tệp đó (hoặc biến BAOCAO_SECRET_KEY); "
             "khôi phục mà thiếu khoá cũ thì mọi đường dẫn đã gửi cho đơn vị hết hiệu lực.")


def register(cli: click.Group) -> None:
    @cli.command("backup")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="Tệp sao lưu sẽ ghi.")
    @click.option("--force", is_flag=True, default=False, help="Ghi đè nếu tệp đã có.")
    @click.pass_obj
    def backup_cmd(app, output: Path, force: bool) -> None:
        """Sao lưu cơ sở dữ liệu, kể cả khi dịch vụ đang chạy (PostgreSQL: bằng pg_dump)."""
        from sqlalchemy.engine import make_url

        url = make_url(app.settings.database_url)
        _check_output(output, force)
        if url.get_backend_name() == "sqlite":
            source = _sqlite_store(url)
            written = _sqlite_copy(source, output, force)
            click.echo(f"Đã sao lưu {source} vào {output.resolve()} ({_size(output)}; {_counts(written.counts)}).")
        else:
            _pg_dump(url, output, force)
        click.echo(KEY_APART.format(key=_key_place(app.settings)))

    @cli.command("restore")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.pass_obj
    def restore_cmd(app, file: Path) -> None:
        """Khôi phục cơ sở dữ liệu của dịch vụ từ tệp sao lưu (dịch vụ phải đang dừng)."""
        from sqlalchemy.engine import make_url

        from scheduler.store import db

        url = make_url(app.settings.database_url)
        if url.get_backend_name() != "sqlite":
            raise click.ClickException(
                "cơ sở dữ liệu là PostgreSQL: khôi phục bằng pg_restore. Dừng mọi dịch vụ baocao dùng cơ sở dữ liệu "
                f"này rồi chạy: pg_restore --clean --if-exists --no-owner --dbname={shlex.quote(_libpq(url))} "
                f"{shlex.quote(str(file))} (bản sao lưu dạng SQL thuần: psql --dbname=… -f TỆP, vào một cơ sở dữ "
                "liệu trống); khởi động lại dịch vụ để nó nâng cấp cơ sở dữ liệu nếu cần.")
        target = _target(url)
        revision, counts = _check_backup(file)
        if target.exists() and target.resolve() == file.resolve():
            raise click.ClickException(f"{file} chính là cơ sở dữ liệu của dịch vụ; chọn một tệp sao lưu khác")
        # The copy is made first, beside the database: should it fail, the database stays as it was.
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fresh = _sqlite_copy(file, target.with_name(target.name + ".dang-khoi-phuc"), force=True, rename=False)
        try:
            kept = _set_aside(target) if target.exists() else None
            os.replace(fresh.path, target)
        except BaseException:
            fresh.path.unlink(missing_ok=True)
            raise
        click.echo(f"Đã khôi phục {target} từ {file.resolve()} ({_counts(counts)}).")
        if kept is not None:
            click.echo(f"Cơ sở dữ liệu trước khi khôi phục được giữ tại {kept}.")
        later = "" if revision == db.SCHEMA_HEAD else (
            f" Bản sao lưu ở phiên bản {revision}; dịch vụ nâng cấp lên {db.SCHEMA_HEAD} khi khởi động.")
        click.echo(f"Khởi động lại dịch vụ (systemctl start baocao, hoặc baocao run).{later}")


class _Copy:
    def __init__(self, path: Path, counts: dict[str, int]):
        self.path, self.counts = path, counts


def _check_output(output: Path, force: bool) -> None:
    if output.is_dir():
        raise click.ClickException(f"{output} là một thư mục; ghi rõ tên tệp sau -o")
    if not output.parent.is_dir():
        raise click.ClickException(f"không có thư mục {output.parent.resolve()} để ghi {output.name}; tạo thư mục "
                                   "trước hoặc chọn đường dẫn khác cho -o")
    if output.exists() and not force:
        raise click.ClickException(f"đã có tệp {output.resolve()}; chọn tên khác, hoặc thêm --force để ghi đè")


def _target(url: URL) -> Path:
    from scheduler.store import db

    if not url.database or url.database == ":memory:":
        raise click.ClickException(f"BAOCAO_DATABASE_URL={url} không trỏ tới tệp cơ sở dữ liệu nào. {db.POINT_AT_IT}")
    return Path(url.database).resolve()


def _sqlite_store(url: URL) -> Path:
    """The service's database file, which must hold a store (any version: an old one is worth a copy too)."""
    from scheduler.store import db

    path = _target(url)
    if not path.is_file() or path.stat().st_size == 0:
        raise click.ClickException(f"chưa có cơ sở dữ liệu tại {path} (BAOCAO_DATABASE_URL={url}). {db.POINT_AT_IT}")
    if _revision(path) is None:
        raise click.ClickException(f"{path} không phải cơ sở dữ liệu của baocao. {db.POINT_AT_IT}")
    return path


def _read_only(path: Path) -> sqlite3.Connection:
    # Read-only: never creates an empty database where a mistyped path points.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def _revision(path: Path) -> str | None:
    """The store's schema revision; None for a file that is no baocao store (or no SQLite at all)."""
    try:
        conn = _read_only(path)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:  # no such table, or "file is not a database"
        return None
    finally:
        conn.close()
    return row[0] if row else None


def _count(conn: sqlite3.Connection) -> dict[str, int]:
    return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
            for table in ("submission", "send", "report")}


def _counts(counts: dict[str, int]) -> str:
    return (f"{number(counts['submission'])} bản báo cáo của đơn vị (mọi lần gửi), {number(counts['send'])} thư "
            f"trong sổ gửi thư, {number(counts['report'])} bản báo cáo tổng hợp")


def _size(path: Path) -> str:
    size = path.stat().st_size
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}".replace(".", ",")
    return f"{size} byte"


def _sqlite_copy(source: Path, output: Path, force: bool, rename: bool = True) -> _Copy:
    """A consistent copy of `source` written to a private temporary file beside `output`, then
    renamed into place (or, rename=False, left at `output`'s name for the caller to move).

    sqlite3's backup API copies in one step under one read transaction: in WAL mode it neither
    waits for nor blocks the service's writes, and sees only committed ones."""
    from sqlalchemy.exc import OperationalError

    from scheduler.store import db

    try:
        fd, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")  # mode 0600
    except OSError as exc:
        raise click.ClickException(f"không ghi được vào thư mục {output.parent.resolve()}: {os_error(exc)}")
    os.close(fd)
    temp = Path(name)
    try:
        src = _read_only(source)
        dst = sqlite3.connect(temp, isolation_level=None)
        try:
            src.backup(dst)
            # One self-contained file: no -wal beside it to lose when it is copied elsewhere.
            dst.execute("PRAGMA journal_mode=DELETE")
            if (check := dst.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
                raise click.ClickException(f"bản sao của {source} không toàn vẹn ({check}); kiểm tra ổ đĩa rồi thử lại")
            counts = _count(dst)
        finally:
            dst.close()
            src.close()
        with open(temp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(temp, 0o600)
        if not rename:
            return _Copy(temp, counts)
        _place(temp, output, force)
        return _Copy(output, counts)
    except sqlite3.Error as exc:
        temp.unlink(missing_ok=True)
        if message := db.database_problem(OperationalError(None, None, exc)):
            raise click.ClickException(message)
        raise click.ClickException(f"không sao lưu được {source}: {exc}")
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _place(temp: Path, output: Path, force: bool) -> None:
    if force:
        os.replace(temp, output)
        return
    try:
        os.link(temp, output)  # never replaces a file that appeared since the check
    except FileExistsError:
        raise click.ClickException(f"đã có tệp {output.resolve()}; chọn tên khác, hoặc thêm --force để ghi đè")
    finally:
        temp.unlink(missing_ok=True)


def _check_backup(file: Path) -> tuple[str, dict[str, int]]:
    from scheduler.store import db

    revision = _revision(file)
    if revision is None:
        raise click.ClickException(f"{file.resolve()} không phải bản sao lưu của baocao (không có bảng alembic_version); "
                                   "chọn tệp do baocao backup ghi")
    if revision > db.SCHEMA_HEAD:  # revisions are zero-padded numbers
        raise click.ClickException(
            f"bản sao lưu {file.resolve()} ở phiên bản {revision}, mới hơn mã nguồn này ({db.SCHEMA_HEAD}): cài bản baocao "
            "đã ghi bản sao lưu này (hoặc mới hơn) rồi khôi phục")
    conn = _read_only(file)
    try:
        return revision, _count(conn)
    except sqlite3.Error as exc:
        raise click.ClickException(f"không đọc được bản sao lưu {file.resolve()}: {exc}")
    finally:
        conn.close()


def _set_aside(target: Path) -> Path:
    """Moves the current database out of the way, refusing while anything has it open."""
    try:
        conn = sqlite3.connect(target, timeout=0.5, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # a tick or a unit's form writing now
            conn.execute("ROLLBACK")
            # Leaving WAL needs the database to itself: any other open connection (the service,
            # even idle, keeps its own) refuses it. It also folds the -wal into the file kept.
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            mode = None
        else:
            raise click.ClickException(f"không mở được cơ sở dữ liệu hiện tại {target}: {exc}")
    except sqlite3.DatabaseError:
        # A damaged file ("not a database", "malformed") is what a restore is most often for:
        # it is kept aside as it is, with its -wal, for whoever wants to look into it.
        mode = "delete"
    if mode != "delete":
        raise click.ClickException(f"cơ sở dữ liệu {target} đang được một tiến trình khác mở (dịch vụ baocao đang "
                                   f"chạy?); chưa khôi phục gì: {STOP_FIRST}")
    kept = target.with_name(f"{target.name}.truoc-khoi-phuc-{datetime.now(TZ):%Y%m%d-%H%M%S}")
    os.replace(target, kept)
    for suffix in ("-wal", "-shm", "-journal"):  # stale ones would be read as the restored file's
        if (extra := target.with_name(target.name + suffix)).exists():
            os.replace(extra, kept.with_name(kept.name + suffix))
    return kept


def _libpq(url: URL) -> str:
    """The URL as pg_dump reads it: libpq's scheme, no password (that goes in PGPASSWORD or ~/.pgpass)."""
    from sqlalchemy.engine import URL

    bare = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                      query=url.query)  # url.set(password=None) would keep the password: None means "unchanged"
    return bare.render_as_string(hide_password=False)


def _pg_dump(url: URL, output: Path, force: bool) -> None:
    command = ["pg_dump", "--format=custom", "--no-owner", f"--dbname={_libpq(url)}"]
    shown = " ".join(shlex.quote(part) for part in command + [f"--file={output}"])
    if shutil.which("pg_dump") is None:
        password = " (mật khẩu: đặt biến PGPASSWORD hoặc ghi vào ~/.pgpass)" if url.password else ""
        raise click.ClickException(f"cơ sở dữ liệu là PostgreSQL và máy này không có pg_dump (cài gói "
                                   f"postgresql-client); sao lưu bằng lệnh{password}:\n  {shown}")
    fd, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    os.close(fd)
    temp = Path(name)
    env = os.environ | ({"PGPASSWORD": url.password} if url.password else {})  # never on the command line (ps)
    try:
        done = subprocess.run(command + [f"--file={temp}"], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise click.ClickException(f"pg_dump không sao lưu được ({done.stderr.strip()}); lệnh đã chạy: {shown}")
        os.chmod(temp, 0o600)
        _place(temp, output, force)
    finally:
        temp.unlink(missing_ok=True)
    click.echo(f"Đã sao lưu {url.render_as_string(hide_password=True)} vào {output.resolve()} ({_size(output)}) "
               f"bằng: {shown}")
    click.echo("Khôi phục: pg_restore --clean --if-exists --no-owner --dbname=URL TỆP (xem README, mục Sao lưu và khôi phục).")


def _key_place(settings) -> str:
    return "biến BAOCAO_SECRET_KEY" if settings.secret_key is not None else str(Path(settings.secret_key_file).resolve())
