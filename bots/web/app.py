"""The dashboard: ``create_app(settings)`` builds a FastAPI app with pages and a JSON API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from bots.services import Services, ServiceUnavailable
from bots.web.markdown import render_markdown
from bots.web.middleware import SecurityHeaders, WriteGuard
from bots.web.page_data import PageData, StoreStamp
from bots.web.security import WriteRateLimiter, allowed_origins
from governance.audit import write_summaries
from governance.audit_refusals import RefusalAggregator
from ingest.core.errors import ConcordError, InputError, NotFoundError
from ingest.core.settings import ConcordSettings

__all__ = ["CSP", "create_app", "default_results_dir", "safe_url"]

HERE = Path(__file__).parent

# Only our own scripts, styles and API; no framing (clickjacking), no form posts elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


def safe_url(value: Any) -> str:
    """A link from ingested data, kept only if it is http(s); anything else (``javascript:``…) becomes ``#``."""
    text = str(value or "").strip()
    return text if text.lower().startswith(("https://", "http://")) else "#"


def default_results_dir() -> Path:
    """Where the prediction evaluation writes its JSON results (``evals/results``)."""
    import evals

    return Path(evals.__file__).parent / "results"


def _status_for(exc: Exception) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, ServiceUnavailable):
        return 503
    return 500


def create_app(
    settings: ConcordSettings,
    *,
    services: Services | None = None,
    results_dir: Path | None = None,
) -> FastAPI:
    """Build the dashboard for ``settings`` (services wired from the settings unless given)."""
    from bots.web.api import build_api_router
    from bots.web.draft_page import build_draft_router
    from bots.web.forecast_pages import build_forecast_router
    from bots.web.ops import build_ops_router
    from bots.web.pages import build_pages_router
    from bots.web.quarantine_page import build_quarantine_router

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web.worker_threads
        yield
        app.state.page_data.stamp.close()
        # Refusals only counted so far are written once, as summaries, when the server stops.
        write_summaries(app.state.services.store, app.state.refusals.pending_summaries())

    app = FastAPI(
        lifespan=_lifespan,
        title="Concord dashboard API",
        description="Read-only access is public. State changes need owner signatures and a CSRF token.",
        version="1",
        docs_url=None,  # Swagger UI needs a CDN; /api/docs renders the schema server-side instead
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.services = services or Services.from_settings(settings)
    app.state.results_dir = results_dir or default_results_dir()
    app.state.page_data = PageData(StoreStamp(app.state.services.store))
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["safe_url"] = safe_url
    templates.env.filters["markdown"] = render_markdown
    app.state.templates = templates
    app.state.allowed_origins = allowed_origins(settings)
    app.state.write_limiter = WriteRateLimiter(
        limit=settings.web.write_rate_limit, window_seconds=settings.web.write_rate_window_seconds
    )
    app.state.refusals = RefusalAggregator(window_seconds=settings.audit.refusal_window_seconds)

    secret = settings.web.session_secret.get_secret_value()

    # Added innermost first: the security headers also go on the guard's refusals.
    app.add_middleware(
        WriteGuard, limiter=lambda: app.state.write_limiter, secret=secret, origins=lambda: app.state.allowed_origins,
        limit_text=lambda: f"at most {settings.web.write_rate_limit} per {settings.web.write_rate_window_seconds:g} s",
    )
    app.add_middleware(SecurityHeaders, headers={
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    })
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(build_api_router(), prefix="/api")
    app.include_router(build_pages_router())
    app.include_router(build_quarantine_router())
    app.include_router(build_forecast_router())
    app.include_router(build_ops_router())
    app.include_router(build_draft_router())

    @app.exception_handler(ConcordError)
    @app.exception_handler(ServiceUnavailable)
    async def _concord_error(request: Request, exc: Exception) -> Any:
        status = _status_for(exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc)}, status_code=status)
        return templates.TemplateResponse(
            request, "error.html", {"message": str(exc), "status": status}, status_code=status
        )

    return app
