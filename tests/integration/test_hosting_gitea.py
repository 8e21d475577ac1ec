"""The Gitea client pointed at a server that is not Gitea's API says so and what to write.

The servers here are plain local HTTP servers playing a wrong URL (a web page, a redirect to
HTTPS), not stand-ins for Gitea: everything Gitea does is tested on a real Gitea in
test_hosting_contract.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from controller.store.hosting import HostingError, ProviderConfig, connect

TOKEN = "0123456789abcdef0123456789abcdef01234567"


def serve(status: int, headers: dict[str, str], body: bytes) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            self.send_response(status)
            for key, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def web_page() -> Iterator[str]:
    yield from serve(200, {"Content-Type": "text/html"}, b"<html><body>Welcome</body></html>")


@pytest.fixture
def redirect() -> Iterator[str]:
    yield from serve(301, {"Location": "https://git.example.org/api/v1/repos/prog1/x"}, b"")


def ensure(url: str) -> HostingError:
    client = connect(ProviderConfig(kind="gitea", url=url, owner="prog1", token=TOKEN,
                                    timeout=10))
    with pytest.raises(HostingError) as err:
        client.ensure_project("x", branch="main", private=True, description="d")
    assert TOKEN not in str(err.value)
    return err.value


def test_a_web_page_instead_of_the_api_is_named_as_a_wrong_url(web_page: str) -> None:
    err = ensure(web_page)
    assert "not JSON" in str(err) and "provider URL" in str(err) and web_page in str(err)


def test_a_redirect_is_not_followed_with_the_token_and_says_where_it_went(
        redirect: str) -> None:
    err = ensure(redirect)
    assert "https://git.example.org/api/v1/repos/prog1/x" in str(err)
    assert "provider URL" in str(err)
