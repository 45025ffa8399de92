"""``/docs`` and ``/redoc`` load Swagger UI and ReDoc from this host: no CDN, so they work offline."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient


def _urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""", html)


@pytest.mark.parametrize(("page", "kinds"), [("/docs", {".js", ".css"}), ("/redoc", {".js"})])
def test_docs_pages_use_only_local_assets(client: TestClient, page: str, kinds: set[str]) -> None:
    response = client.get(page)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    html = response.text
    found = [a or b for a, b in _urls(html)]
    assert found, html
    for url in found:
        assert url.startswith("/"), f"{page} loads {url} from another host"
        assert not url.startswith("//")
    assert "cdn.jsdelivr" not in html and "fonts.googleapis" not in html and "unpkg" not in html
    assets = [url for url in found if url.endswith((".js", ".css", ".png"))]
    assert {url[url.rfind(".") :] for url in assets} >= kinds
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200, url
        expected = {".js": "javascript", ".css": "text/css", ".png": "image/png"}[url[url.rfind(".") :]]
        assert expected in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert len(asset.content) > 1000
    assert "/openapi.json" in html


def test_swagger_ui_is_recent_enough_for_openapi_3_1(client: TestClient) -> None:
    """FastAPI writes OpenAPI 3.1, which Swagger UI renders from version 5 on."""
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    html = client.get("/docs").text
    js = client.get(re.findall(r"src=\"([^\"]+swagger-ui-bundle\.js)\"", html)[0]).text
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.\d+\.\d+"', js)
    assert "SwaggerUIBundle" in js and version is not None and int(version.group(1)) >= 5
    assert client.get("/docs/oauth2-redirect").status_code == 200
