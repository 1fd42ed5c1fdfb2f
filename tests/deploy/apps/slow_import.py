"""A service whose module takes long to import, as a large application's can.

It touches ``$SLOW_IMPORT_MARKER`` when its import begins, so a test knows
the process is past the interpreter's start and inside the import.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from microlib import Service

Path(os.environ["SLOW_IMPORT_MARKER"]).touch()
time.sleep(float(os.environ.get("SLOW_IMPORT_SECONDS", "30")))

service = Service("slow-import")
