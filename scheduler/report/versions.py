"""Report versions in the store: a new version whenever the figures it would use change.

A version records, per unit, the revision it used; if the latest revisions are the same as
the last version's, nothing new is made. Making a version and claiming its mail to the office
happen in one transaction (the caller commits).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from scheduler.collect import record
from scheduler.store import dialect, ledger
from scheduler.policy.periods import Period
from scheduler.clock import to_local
from scheduler.config.model import Config
from scheduler.report.consolidate import Consolidation, Returned, consolidate, previous_period
from scheduler.store.tables import ReportRow, Submission
from scheduler.policy.planner import OwedSend


def latest_returns(session: Session, period_key: str) -> dict[str, Returned]:
    """Each unit's newest revision; on time is judged by its first one."""
    return {code: Returned(code, h[-1].revision, record.standing(h) == "on_time", h[-1].received_at,
                           h[-1].figures or {}, h[-1].narrative or {})
            for code, h in record.histories(session, period_key).items()}


def fingerprints(session: Session, period_key: str) -> dict[tuple[str, int], str]:
    """(unit, revision) → a fingerprint of its figures and texts, for every revision of the
    period: a resubmission that changes nothing must not make a new version."""
    rows = session.exec(select(Submission).where(Submission.period_key == period_key)).all()
    return {(row.unit_code, row.revision): _digest(row.figures, row.narrative) for row in rows}


def digests(prints: dict[tuple[str, int], str], sources: dict[str, int]) -> dict[str, str]:
    """Per unit, the fingerprint of the revision a version used (`sources`: unit → revision)."""
    return {code: prints[(code, rev)] for code, rev in sources.items() if (code, rev) in prints}


def _digest(figures, narrative) -> str:
    return hashlib.sha256(json.dumps([figures or {}, narrative or {}], sort_keys=True,
                                     ensure_ascii=False).encode()).hexdigest()


def consolidation(session: Session, config: Config, period: Period) -> Consolidation:
    before = previous_period(config, period)
    return consolidate(config, period, latest_returns(session, period.key),
                       latest_returns(session, before.key) if before else None)


def changes(config: Config, before: dict[str, str], after: dict[str, str], revisions: dict[str, int],
            on_time: dict[str, bool]) -> list[str]:
    """What made a new version (by content): units that reported since, or changed their report."""
    found = []
    for code, digest in after.items():
        unit = config.unit(code)
        name = unit.name if unit else code
        if code not in before:
            found.append(f"{name} gửi báo cáo{'' if on_time.get(code, True) else ' (muộn)'}")
        elif before[code] != digest:
            found.append(f"{name} sửa báo cáo (bản thứ {revisions[code]})")
    return found


def latest_version(session: Session, period_key: str) -> ReportRow | None:
    return session.exec(select(ReportRow).where(ReportRow.period_key == period_key)
                        .order_by(col(ReportRow.version).desc())).first()


def make_version(session: Session, config: Config, period: Period, now: datetime,
                 template_dir: Path, mail_from: str, force: bool = False) -> ReportRow | None:
    """A new stored version if the revisions in use changed since the last one (or there is
    none yet; or whatever changed when `force`: the office's "lập lại ngay", after editing the
    Word template or the plan's wording), with its mail to the office claimed in the ledger.
    Caller commits.

    Two processes may decide on the same version at once (two instances, a restart overlapping
    the old process): the version number is claimed like a send, by an insert that does
    nothing on the unique (period, version); the loser gets None and claims no mail. The report
    is rendered, and converted to PDF (report/pdf.py: None without LibreOffice), before that
    insert, so no write lock is held during either (on SQLite the first write begins the
    transaction; the conversion takes seconds), the row holds the DOCX and its PDF from the
    moment it exists, and a TemplateError leaves the session untouched. The loser of a race
    has converted for nothing; that is rare and costs only time."""
    result = consolidation(session, config, period)
    last = latest_version(session, period.key)
    # A version made later than now was made by a clock that ran ahead: it stands for nothing.
    if last is not None and last.created_at <= now + ledger.EARLY and not force:
        prints = fingerprints(session, period.key)
        if digests(prints, last.sources or {}) == digests(prints, result.sources):
            return None
    version = (last.version if last else 0) + 1
    from scheduler.report.pdf import to_pdf  # here: `status` and `plan` read versions, never render one
    from scheduler.report.render import render

    content = render(config, result, to_local(now).date(), template_dir, now)
    pdf = to_pdf(content)
    insert = dialect.insert(session)
    claimed = session.execute(
        insert(ReportRow).values(period_key=period.key, version=version, created_at=now, content=content, pdf=pdf,
                                 filename=f"bao-cao-{period.key}-ban-{version}.docx", sources=result.sources)
        .on_conflict_do_nothing(index_elements=["period_key", "version"]).returning(ReportRow.id)
    ).first()
    if claimed is None:
        return None  # another process made this version first; it mails it
    ledger.claim(session, [OwedSend(at=now, kind="report", step=f"report-v{version}", period=period, unit=None, ref=version,
                                    to=tuple(config.plan.organisation.office_emails))], now, mail_from)
    return session.get(ReportRow, claimed.id)


def version_count(session: Session, period_key: str) -> int:
    return session.exec(select(sa.func.count()).select_from(ReportRow)
                        .where(ReportRow.period_key == period_key)).one()
