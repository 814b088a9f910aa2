"""The web side: each unit's form behind its own link, and the office's pages."""

from scheduler.web.app import create_app
from scheduler.web.context import WebContext

__all__ = ["WebContext", "create_app"]
