"""``python -m cli`` is ``failover-cockpit``."""

import sys

from cli.main import main

sys.exit(main())
