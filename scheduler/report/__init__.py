"""Stage 6, the consolidated report: pure consolidation, the DOCX and its chart, stored versions."""
