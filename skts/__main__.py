"""``python -m skts``: the same as the ``skts`` command."""

from .cli import main

raise SystemExit(main())
