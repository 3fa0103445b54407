"""The `nvrsim` command, one module per command group; `main` is in simulator.cli.main."""
