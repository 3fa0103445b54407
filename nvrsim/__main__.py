"""`python -m nvrsim`: the same as the `nvrsim` command."""

from nvrsim.simulator.cli.main import main

raise SystemExit(main())
