"""Allow ``python -m glmtts``."""

from glmtts.cli.main import main

raise SystemExit(main())
