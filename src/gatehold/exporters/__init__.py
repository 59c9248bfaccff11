"""Exporters: the effective model written back as OpenAPI or SAM (``gatehold export``).

Importing an export gives the same API (tests/exporters/test_round_trip.py).
"""

from gatehold.exporters.openapi import export_openapi
from gatehold.exporters.sam import export_sam

__all__ = ["export_openapi", "export_sam"]
