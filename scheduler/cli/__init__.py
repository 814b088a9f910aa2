"""The `baocao` command."""
