"""Stage 1, the admin's YAML: strict loading with line numbers, the plan and units models, cross-entry checks."""
