"""baocao: reminds units of their reporting deadlines, collects their figures and
consolidates them for the Văn phòng Sở."""

__version__ = "0.1.0"
