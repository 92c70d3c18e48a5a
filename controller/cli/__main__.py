"""`python -m controller.cli`: the same as the `bundle-renewal` console script."""

from controller.cli.app import main

raise SystemExit(main())
