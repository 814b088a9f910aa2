"""The report template's faults, in a module of their own: the web console catches them
without loading python-docx, docxtpl and lxml into the web process (they render in `run`)."""

from __future__ import annotations

from pathlib import Path


class TemplateError(Exception):
    """A fault in the office's Word template (a mistyped placeholder, a broken tag, a file that
    is not a DOCX). str() is the Vietnamese message an admin reads: the file, and the tag to
    retype. `problems` holds each fault on its own, for a log line or a list."""

    def __init__(self, template: Path, problems: list[str]):
        self.template = template
        self.problems = list(problems)
        super().__init__(f"mẫu báo cáo {template}: " + "; ".join(self.problems))
