"""The JSON API under the pages (``/api``). Reads are public; writes need signatures and CSRF."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from bots.services import Services
from bots.web import queries
from bots.web.chart import load_calibration
from bots.web.security import check_csrf, client_of
from governance.audit_refusals import refusals_from
from ingest.core.errors import InputError

__all__ = ["SignatureIn", "build_api_router", "get_services", "semantic_hits"]

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130,}$")


class SignatureIn(BaseModel):
    """An owner's signature over the action's EIP-712 typed data (``eth_signTypedData_v4``)."""

    signer: str = Field(description="The owner's address, 0x + 40 hex")
    signature: str = Field(description="0x + 65-byte signature (r, s, v) in hex")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def semantic_hits(services: Services, q: str, *, dao: str | None, limit: int) -> list[queries.PostHit]:
    """Semantic search through the embeddings service, rendered from the store."""
    searcher = services.require("searcher")
    found = searcher.search(q, dao=dao, k=limit)
    return queries.posts_by_ids(services.store, [pid for pid, _ in found], scores=[s for _, s in found])


def build_api_router() -> APIRouter:
    router = APIRouter(tags=["api"])

    @router.get("/daos", response_model=list[queries.DaoPublic], summary="DAOs in the store")
    def daos(request: Request) -> Any:
        return queries.list_daos(get_services(request).store)

    @router.get("/proposals", response_model=list[queries.ProposalSummary], summary="Proposals, newest first")
    def proposals(
        request: Request,
        dao: str | None = None,
        status: str | None = Query(None, description="active, pending or closed"),
        limit: int = Query(50, ge=1, le=queries.MAX_PAGE),
        offset: int = Query(0, ge=0),
    ) -> Any:
        return queries.list_proposals(get_services(request).store, dao=dao, status=status, limit=limit, offset=offset)

    @router.get("/proposals/{ref}", response_model=queries.ProposalPublic, summary="One proposal (store id or external id)")
    def proposal(request: Request, ref: str, dao: str | None = None) -> Any:
        return queries.get_proposal(get_services(request).store, ref, dao=dao)

    @router.get("/proposals/{ref}/prediction", summary="The predicted outcome (prediction service)")
    def prediction(request: Request, ref: str, dao: str | None = None) -> Any:
        services = get_services(request)
        found = queries.get_proposal(services.store, ref, dao=dao)
        return {"proposal_id": found.id, "prediction": services.require("predictor").predict(found.id)}

    @router.get("/proposals/{ref}/live", summary="Live forecast from the votes so far (null unless voting is open)")
    def live_forecast(request: Request, ref: str, dao: str | None = None) -> Any:
        services = get_services(request)
        found = queries.get_proposal(services.store, ref, dao=dao)
        return {"proposal_id": found.id, "live": services.require("predictor").live(found.id)}

    @router.get("/proposals/{ref}/report", summary="The consensus report (report service)")
    def report(request: Request, ref: str, dao: str | None = None) -> Any:
        services = get_services(request)
        found = queries.get_proposal(services.store, ref, dao=dao)
        return {"proposal_id": found.id, "report": services.require("reports").get_report(found.id)}

    @router.get("/search", response_model=list[queries.PostHit], summary="Full-text or semantic search over posts")
    def search(
        request: Request,
        q: str = Query(..., min_length=1, max_length=500),
        mode: str = Query("text", description="text (SQL over post text) or semantic (embeddings)"),
        dao: str | None = None,
        limit: int = Query(20, ge=1, le=queries.MAX_PAGE),
    ) -> Any:
        services = get_services(request)
        if mode == "text":
            return queries.search_posts(services.store, q, dao=dao, limit=limit)
        if mode == "semantic":
            return semantic_hits(services, q, dao=dao, limit=limit)
        raise InputError(f"Unknown search mode {mode!r}: use text or semantic.")

    @router.get("/calibration", summary="Reliability bins from the prediction evaluation")
    def calibration(request: Request) -> Any:
        data = load_calibration(request.app.state.results_dir)
        if data is None:
            return {"available": False, "bins": []}
        return {"available": True, "source": data.source, "ece": data.ece, "n": data.n,
                "bins": [{"mean_predicted": p, "observed": o, "n": c} for p, o, c in data.bins]}

    @router.get("/actions", summary="Pending Safe actions awaiting owner signatures")
    def actions(request: Request) -> Any:
        return get_services(request).require("governance").list_pending()

    @router.get("/actions/{action_id}", summary="One action: decoded calldata, Safe tx hash, typed data, signers")
    def action(request: Request, action_id: int) -> Any:
        return get_services(request).require("governance").describe(action_id)

    def _checked(request: Request, body: SignatureIn) -> Services:
        services = get_services(request)
        check_csrf(request, services.settings.web.session_secret.get_secret_value(), request.app.state.allowed_origins)
        if not _ADDRESS.match(body.signer):
            raise InputError(f"signer {body.signer!r} is not an address (0x followed by 40 hex digits).")
        if not _SIGNATURE.match(body.signature):
            raise InputError("signature must be 0x followed by at least 65 bytes of hex (r, s, v).")
        return services

    @router.post("/actions/{action_id}/signatures", summary="Approve: submit an owner's EIP-712 signature")
    def sign(request: Request, action_id: int, body: SignatureIn) -> Any:
        services = _checked(request, body)
        with refusals_from(request.app.state.refusals, client=client_of(request)):
            return services.require("governance").submit_signature(action_id, signer=body.signer, signature=body.signature)

    @router.post("/actions/{action_id}/rejections", summary="Reject: an owner's signature over the rejection")
    def reject(request: Request, action_id: int, body: SignatureIn) -> Any:
        services = _checked(request, body)
        with refusals_from(request.app.state.refusals, client=client_of(request)):
            return services.require("governance").reject(action_id, signer=body.signer, signature=body.signature)

    return router
