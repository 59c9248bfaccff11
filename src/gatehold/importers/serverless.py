"""Importer for the serverless format (in progress)."""

from __future__ import annotations

from gatehold.config.document import Document
from gatehold.importers.base import ImportContext


def import_serverless(doc: Document, ctx: ImportContext) -> None:
    ctx.error(ctx.ref(()), "the serverless importer is not written yet")
