"""The web side: each unit's form behind its own link, and the office's pages."""

from scheduler.web.app import WebContext, create_app

__all__ = ["WebContext", "create_app"]
