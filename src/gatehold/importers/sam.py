"""Importer for the sam format (in progress)."""

from __future__ import annotations

from gatehold.config.document import Document
from gatehold.importers.base import ImportContext


def import_sam(doc: Document, ctx: ImportContext) -> None:
    ctx.error(ctx.ref(()), "the sam importer is not written yet")
