"""Importer for the openapi format (in progress)."""

from __future__ import annotations

from gatehold.config.document import Document
from gatehold.importers.base import ImportContext


def import_openapi(doc: Document, ctx: ImportContext) -> None:
    ctx.error(ctx.ref(()), "the openapi importer is not written yet")
