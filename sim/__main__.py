"""`python -m sim` is the `caravan` command."""

from sim.cli import main

raise SystemExit(main())
