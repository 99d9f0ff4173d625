"""``python -m tui`` is ``failover-cockpit``."""

import sys

from tui.cli import main

sys.exit(main())
