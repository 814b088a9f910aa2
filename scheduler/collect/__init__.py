"""Stage 5, collecting returns: validating (pure), recording revisions, personal links, XLSX/YAML import, exports."""
