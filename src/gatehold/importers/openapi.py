"""OpenAPI 3.0 and Swagger 2.0 with API Gateway's extensions (in progress)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from gatehold.config.document import Document
from gatehold.config.problems import KeyPath
from gatehold.importers.base import ImportContext


def import_openapi(doc: Document, ctx: ImportContext) -> None:
    """A whole OpenAPI / Swagger document (``gatehold up -c openapi.yaml``): one API."""
    ctx.error(ctx.ref(()), "the openapi importer is not written yet")


def import_api_definition(
    ctx: ImportContext,
    definition: Mapping[str, Any],
    *,
    doc: Document,
    at: KeyPath,
    api_name: str,
    api_type: Literal["REST", "HTTP"] | None = None,
) -> None:
    """Write API ``api_name`` from an OpenAPI / Swagger ``definition`` into ``ctx.data["apis"]``.

    Used for whole documents and for definitions inside templates (SAM ``DefinitionBody`` /
    ``DefinitionUri``, CloudFormation ``RestApi.Body``), whose intrinsic functions the caller has
    already resolved. Key path ``p`` of the definition was written at ``doc`` line
    ``doc.line((*at, *p))``. ``api_type`` None: REST for Swagger 2.0 or without HTTP-API-only
    extensions, as the caller knows best when it can say.
    """
    ctx.error(ctx.ref(at, doc), "the openapi importer is not written yet")
