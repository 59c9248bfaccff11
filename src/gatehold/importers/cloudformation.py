"""Importer for the cloudformation format (in progress)."""

from __future__ import annotations

from gatehold.config.document import Document
from gatehold.importers.base import ImportContext


def import_cloudformation(doc: Document, ctx: ImportContext) -> None:
    ctx.error(ctx.ref(()), "the cloudformation importer is not written yet")
