"""``python -m explorer`` and the desktop bundle's entry point (which is also, given the
hidden first argument ``--inspector-child``, the window's inspection child process)."""

import sys

from explorer.ui.inspector_child import FROZEN_FLAG

if sys.argv[1:2] == [FROZEN_FLAG]:
    from explorer.ui.inspector_child import main as inspector_child

    inspector_child()
    raise SystemExit(0)

from explorer.cli import main

raise SystemExit(main())
