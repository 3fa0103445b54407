from nvrsim.simulator.cli.main import main

raise SystemExit(main())
