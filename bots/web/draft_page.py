"""The draft page: an idea in, the structured draft out (prior art, P(pass), objections, the DAO's sections).

``GET /draft`` shows the form; the page posts JSON to ``POST /draft`` (CSRF-checked, since a draft is stored and
audited) and shows the rendered result. Drafting goes through ``Services.drafter``; nothing is submitted.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from bots.services import ServiceUnavailable
from bots.web import queries
from bots.web.api import get_services
from bots.web.security import check_csrf

__all__ = ["DraftIn", "build_draft_router"]


class DraftIn(BaseModel):
    dao: str = Field(min_length=1, max_length=100)
    idea: str = Field(min_length=20, max_length=4000)


def build_draft_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/draft", response_class=HTMLResponse)
    def draft_form(request: Request, dao: str | None = None) -> Response:
        from bots.web.pages import _render

        services = get_services(request)
        return _render(request, "draft.html", {"daos": queries.list_daos(services.store), "dao": dao or services.settings.default_dao,
                                               "unavailable": services.missing.get("drafter")})

    @router.post("/draft", response_class=HTMLResponse)
    def draft_result(request: Request, body: DraftIn) -> Response:
        services = get_services(request)
        check_csrf(request, services.settings.web.session_secret.get_secret_value(), request.app.state.allowed_origins)
        try:
            draft = services.require("drafter").draft(dao=body.dao, idea=body.idea)
        except ServiceUnavailable as exc:
            raise HTTPException(503, str(exc)) from exc
        return request.app.state.templates.TemplateResponse(request, "_draft_result.html", {"d": draft})

    return router
