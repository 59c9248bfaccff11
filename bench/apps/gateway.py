"""The Gatehold gateway as an importable ASGI app, for serving under uvicorn or granian directly.

``GATEHOLD_BENCH_CONFIG`` names the configuration file (``${env:...}`` placeholders resolved from
the environment). Used by the server comparison (same app, different servers) and as the fallback
when ``gatehold up`` is not available.
"""

from __future__ import annotations

import os

from gatehold.config.loader import load_config
from gatehold.gateway.app import GatewayApp
from gatehold.runtime import build_invoker

_loaded = load_config(os.environ["GATEHOLD_BENCH_CONFIG"])
app = GatewayApp(_loaded, build_invoker(_loaded))
