"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.docs import install_docs
from api.errors import install_error_handlers
from runtime.config import Settings, get_settings

STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: the environment's)."""
    from api.routers import (
        caption_templates,
        clicks,
        clip_media,
        clip_pages,
        clips,
        dashboard,
        health,
        highlights,
        job_pages,
        jobs,
        keys,
        lang,
        leaders,
        ledger,
        ledger_pages,
        me,
        media,
        pages,
        portal,
        publications,
        publishing_pages,
        recordings,
        reports,
        review,
        sales,
        share,
        sidedata,
        targets,
        tuning,
        tus,
        uploads,
    )

    settings = settings or get_settings()
    settings.ensure_dirs()
    app = FastAPI(
        title="liveslice",
        version="0.1.0",
        description="Live-stream recordings in, share-ready product clips out.",
        docs_url=None,  # served by api.docs from local files instead of a CDN
        redoc_url=None,
        lifespan=_lifespan,
        # no OpenTelemetry here (metrics are Prometheus, /metrics): skip FastAPI's per-request provider checks
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    _install_click_log(app, settings)
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_docs(app)
    routers = (
        health,
        uploads,
        tus,
        recordings,
        highlights,
        jobs,
        clips,
        review,
        clip_media,
        leaders,
        me,
        caption_templates,
        sidedata,
        keys,
        pages,
        clip_pages,
        job_pages,
        portal,
        lang,
        share,
        clicks,
        media,
        targets,
        publications,
        publishing_pages,
        sales,
        ledger,
        ledger_pages,
        reports,
        tuning,
        dashboard,
    )
    for module in routers:
        app.include_router(module.router)
    from api.auth_gate import KeyGate
    from api.metrics import install_observability

    app.add_middleware(KeyGate, settings=settings)  # inside the request-id middleware added next
    install_observability(app)  # /metrics and request ids
    app.add_middleware(share.ShareFastPath)  # outermost: a cached share link's redirect skips the rest
    return app


def _install_click_log(app: FastAPI, settings: Settings) -> None:
    """The share links' cache and this process's click buffer (``/s/{code}`` uses both)."""
    from services.click_buffer import ClickBuffer, clicks_dir
    from services.share_cache import LinkCache

    app.state.share_links = LinkCache(settings.database_url)
    app.state.click_buffer = ClickBuffer(clicks_dir(settings.run_dir))


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Rotate (and, unless another process drains, drain) the click buffer in a background thread while
    serving; at shutdown, close it and drain once more."""
    from services.clicks import ClickDrainer

    settings = app.state.settings
    drainer = ClickDrainer(settings, app.state.click_buffer, drain=settings.click_drain == "api")
    drainer.start()
    try:
        yield
    finally:
        from fastapi.concurrency import run_in_threadpool

        await run_in_threadpool(drainer.stop)
