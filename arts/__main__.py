"""``python -m arts``: the same as the ``arts`` console script."""

from arts.cli import main

raise SystemExit(main())
