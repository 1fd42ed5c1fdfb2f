"""``python -m microlib.cli``: the same as the ``microlib`` command."""

from __future__ import annotations

import sys

from microlib.cli.main import main

sys.exit(main())
