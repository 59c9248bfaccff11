"""A module whose init fails until the file named by $READY_FILE exists (a dependency coming up)."""

import os
from pathlib import Path
from typing import Any

if not Path(os.environ["READY_FILE"]).exists():
    raise RuntimeError("the database is not up yet")


def handler(event: Any, context: Any) -> str:
    return "ready"
