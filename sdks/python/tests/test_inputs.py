from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

import podline


class Extract(BaseModel):
    uri: str
    rows: int


VALUE = b'{"uri":"s3://raw/2026-11-21.csv","rows":1200}'


def described(kind: str, location: str, data: bytes = VALUE) -> str:
    """What a spec function passes: JSON.stringify(await ctx.inputUrl('extract'))."""
    key = "url" if kind == "url" else "path"
    extra = {"expiresAt": "2026-11-21T10:00:00.000Z"} if kind == "url" else {}
    return json.dumps({"kind": kind, key: location, **extra, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})


class Store:
    """A presigned-GET stand-in: serves one body, or holds the response until released."""

    def __init__(self) -> None:
        self.body = VALUE
        self.status = 200
        self.release = threading.Event()
        self.hold = False
        store = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if store.hold:
                    store.release.wait(30)
                    return
                self.send_response(store.status)
                self.send_header("content-length", str(len(store.body)))
                self.end_headers()
                self.wfile.write(store.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str = "/xcoms/run/extract/return_value.json") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{path}?X-Amz-Signature=secret"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def store() -> Iterator[Store]:
    served = Store()
    yield served
    served.close()


def test_load_json_reads_a_value_passed_in_a_variable_into_a_model() -> None:
    assert podline.load_json(VALUE.decode(), Extract) == Extract(uri="s3://raw/2026-11-21.csv", rows=1200)
    assert podline.load_json("[1, 2]") == [1, 2]
    with pytest.raises(ValidationError):
        podline.load_json('{"uri": 1}', Extract)
    with pytest.raises(podline.ResultError, match="bare token NaN") as refused:
        podline.load_json("[NaN]")
    assert refused.value.reason == "non_finite_number"


def test_reads_a_stored_input_from_a_path_and_checks_it(tmp_path: Path) -> None:
    stored = tmp_path / "return_value.json"
    stored.write_bytes(VALUE)
    assert podline.read_stored_input(described("path", str(stored)), Extract).rows == 1200
    stored.write_bytes(VALUE[:-1] + b" }")
    with pytest.raises(podline.InputError, match="is not the value that was stored: 46 bytes with sha256 .*, expected 45 bytes"):
        podline.read_stored_input(described("path", str(stored)))


def test_downloads_a_stored_input_and_checks_size_and_sha256(store: Store) -> None:
    assert podline.read_stored_input(described("url", store.url())) == json.loads(VALUE)
    store.body = VALUE.replace(b"1200", b"1201")
    with pytest.raises(podline.InputError) as changed:
        podline.read_stored_input(described("url", store.url()))
    # The signature never appears in a message, as the worker redacts presigned URLs.
    assert "secret" not in str(changed.value)
    assert "/xcoms/run/extract/return_value.json?<redacted> is not the value that was stored" in str(changed.value)


def test_an_expired_url_says_so(store: Store) -> None:
    store.status = 403
    with pytest.raises(podline.InputError, match=r"HTTP 403 .*the presigned URL may have expired"):
        podline.read_stored_input(described("url", store.url()))


def test_a_download_that_hangs_fails_at_its_timeout(store: Store) -> None:
    store.hold = True
    with pytest.raises(podline.InputError, match="downloading the stored input at .* failed: timed out"):
        podline.read_stored_input(described("url", store.url()), timeout=0.3)


def test_a_malformed_description_names_the_shape_expected() -> None:
    with pytest.raises(podline.InputError, match=r"what ctx.inputUrl\(task\) resolves to"):
        podline.read_stored_input('{"kind": "url", "size": 3}')
