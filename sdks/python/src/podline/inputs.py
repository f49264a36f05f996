"""Reading what the pipeline handed the pod.

The worker sets no input variables of its own: the task's spec function decides what the pod gets
(`env`, `args`), from the typed outputs of its `needs`. Two shapes are common, and both are read
here with the same rules as results:

- the value itself as JSON, in a variable or an argument (`env: { EXTRACT: JSON.stringify(extract) }`):
  `load_json(os.environ["EXTRACT"], ExtractOutput)`;
- where a large upstream value lies in the XCom store, from `ctx.inputUrl(task)` in the spec
  function (`env: { EXTRACT_AT: JSON.stringify(await ctx.inputUrl('extract')) }`):
  `read_stored_input(os.environ["EXTRACT_AT"], ExtractOutput)` downloads it (or reads the path the
  process runtime gives) and checks its size and sha256 as the worker checks stored values.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar, overload

from pydantic import BaseModel

from .json_rules import JsonValue, ResultError, parse

M = TypeVar("M", bound=BaseModel)

DEFAULT_TIMEOUT_SECONDS = 60.0
_CHUNK = 1 << 16


class InputError(RuntimeError):
    """An input could not be read, or is not what the worker stored: says which and why."""


@dataclass(frozen=True)
class StoredInput:
    """An upstream value in the XCom store, as `ctx.inputUrl(task)` describes it (the SDK's StoredInput)."""

    kind: Literal["url", "path"]
    #: The presigned GET URL (kind "url") or the object's path (kind "path", the process runtime).
    location: str
    size: int
    sha256: str

    @staticmethod
    def parse(described: str | Mapping[str, object]) -> StoredInput:
        """From the object `ctx.inputUrl` resolves to, or its JSON text."""
        raw: object = json.loads(described) if isinstance(described, str) else described
        if not isinstance(raw, Mapping):
            raise InputError(f"a stored input is a JSON object with kind, size and sha256; got {_preview(raw)}")
        kind, size, sha256 = raw.get("kind"), raw.get("size"), raw.get("sha256")
        location = raw.get("url") if kind == "url" else raw.get("path")
        if (
            kind not in ("url", "path")
            or not isinstance(location, str)
            or not isinstance(size, int)
            or isinstance(size, bool)
            or size < 0
            or not isinstance(sha256, str)
        ):
            raise InputError(
                "a stored input is what ctx.inputUrl(task) resolves to: "
                '{"kind": "url", "url", "size", "sha256"} or {"kind": "path", "path", "size", "sha256"}; '
                f"got keys {sorted(str(k) for k in raw)}"
            )
        return StoredInput(kind=kind, location=location, size=size, sha256=sha256)


@overload
def load_json(data: str | bytes, model: None = None, *, what: str = ...) -> JsonValue: ...
@overload
def load_json(data: str | bytes, model: type[M], *, what: str = ...) -> M: ...
def load_json(
    data: str | bytes, model: type[BaseModel] | None = None, *, what: str = "the input"
) -> JsonValue | BaseModel:
    """Parses JSON the worker's way, refusing what the worker would refuse or change (NaN, integers
    past 2^53, text PostgreSQL cannot store, bytes that are not UTF-8); validated by `model` if given.

    >>> import podline
    >>> podline.load_json('{"uri": "s3://raw/a.csv", "rows": 3}')
    {'uri': 's3://raw/a.csv', 'rows': 3}
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    value = parse(raw, what)
    return value if model is None else model.model_validate(value)


@overload
def read_stored_input(
    stored: StoredInput | str | Mapping[str, object], model: None = None, *, timeout: float = ...
) -> JsonValue: ...
@overload
def read_stored_input(
    stored: StoredInput | str | Mapping[str, object], model: type[M], *, timeout: float = ...
) -> M: ...
def read_stored_input(
    stored: StoredInput | str | Mapping[str, object],
    model: type[BaseModel] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> JsonValue | BaseModel:
    """Reads an upstream value from the XCom store and checks its size and sha256.

    `timeout`, in seconds, bounds the connection and each wait on the network, and is the deadline
    of the whole download, checked between chunks.
    """
    where = stored if isinstance(stored, StoredInput) else StoredInput.parse(stored)
    data = _download(where, timeout) if where.kind == "url" else _read_path(where)
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != where.size or digest != where.sha256:
        raise InputError(
            f"the stored input at {_shown(where)} is not the value that was stored: {len(data)} bytes with "
            f"sha256 {digest}, expected {where.size} bytes with sha256 {where.sha256}; it was changed or cut short"
        )
    try:
        return load_json(data, model, what=f"the stored input at {_shown(where)}")
    except ResultError as error:
        raise InputError(str(error)) from error


def _read_path(where: StoredInput) -> bytes:
    try:
        with open(where.location, "rb") as file:
            # One byte past the size is enough to tell a longer file.
            return file.read(where.size + 1)
    except OSError as error:
        raise InputError(f"cannot read the stored input at {where.location}: {error.strerror}") from error


def _download(where: StoredInput, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    shown = _shown(where)
    try:
        with urllib.request.urlopen(where.location, timeout=timeout) as response:
            body = bytearray()
            while len(body) <= where.size:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise InputError(
                        f"downloading the stored input at {shown} took longer than {timeout:g} s "
                        f"({len(body)} of {where.size} bytes read); raise the timeout or check the network"
                    )
                chunk = response.read(min(_CHUNK, where.size + 1 - len(body)))
                if not chunk:
                    break
                body.extend(chunk)
            return bytes(body)
    except urllib.error.HTTPError as error:
        raise InputError(
            f"downloading the stored input at {shown} failed: HTTP {error.code} {error.reason}"
            + ("; the presigned URL may have expired (it lasts until the attempt's timeout)" if error.code == 403 else "")
        ) from error
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise InputError(f"downloading the stored input at {shown} failed: {reason}") from error


def _shown(where: StoredInput) -> str:
    """The location without a presigned URL's query (its signature), as the worker redacts it."""
    if where.kind == "path":
        return where.location
    parts = urllib.parse.urlsplit(where.location)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "<redacted>" if parts.query else "", ""))


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:80]}…"
