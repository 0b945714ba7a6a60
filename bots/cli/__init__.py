"""The `concord` command-line interface."""
