"""The task's result: checked, then written where the worker reads it.

The base container's only duty is the file at $PODLINE_XCOM_PATH. What happens next is the
worker's: a result up to 1 MiB travels through the sidecar's log frame; a larger one is uploaded to
the XCom store by the sidecar (the presigned PUT is in the sidecar's environment, never in this
container's), and the worker checks the stored object's size and sha256 against what the sidecar
measured of this same file. So the file is written whole or not at all: a temporary file in the same
folder, flushed to disk, then renamed over the result.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

from ._contract import DEFAULT_XCOM_PATH, TASK_ENV, XCOM_PATH_ENV
from .json_rules import JsonValue, ResultError, check_value, encode, parse


@dataclass(frozen=True)
class WrittenResult:
    """The result file as the worker will measure it: the sidecar reports size and sha256 of a result
    it uploads, and the worker compares them with the stored object."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class CheckedResult:
    """A result that passed the worker's checks: its size, its sha256 and its value."""

    size: int
    sha256: str
    value: JsonValue


def result_path(environ: Mapping[str, str] | None = None) -> str:
    """Where the worker reads the result: $PODLINE_XCOM_PATH, else /airflow/xcom/return.json."""
    env = os.environ if environ is None else environ
    return env.get(XCOM_PATH_ENV) or DEFAULT_XCOM_PATH


def _what(environ: Mapping[str, str] | None) -> str:
    task = (os.environ if environ is None else environ).get(TASK_ENV)
    return f'the result of pod task "{task}"' if task else "the result"


def encode_result(value: object, *, max_bytes: int | None = None, environ: Mapping[str, str] | None = None) -> bytes:
    """The bytes `write_result` would write, or a ResultError naming the path and the reason.

    `value` is JSON-like Python (dict with str keys, list, tuple, str, int, float, bool, None) or a
    pydantic model, dumped with `model_dump(mode="json")`. `max_bytes` refuses a larger result here
    rather than in the worker: a worker without an XCom store takes 1 MiB by default
    (podline.FRAME_LIMIT_BYTES); one with a store takes up to its PODLINE_XCOM_LIMIT_BYTES.
    """
    what = _what(environ)
    data = encode(check_value(value, what))
    _check_size(len(data), max_bytes, what)
    return data


def write_result(
    value: object,
    *,
    path: str | None = None,
    max_bytes: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> WrittenResult:
    """Checks `value` (see encode_result) and writes it atomically to the result file.

    >>> import os, tempfile, podline
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     podline.write_result({"table": "orders", "count": 1200}, path=os.path.join(folder, "return.json")).size
    31
    """
    data = encode_result(value, max_bytes=max_bytes, environ=environ)
    target = path if path is not None else result_path(environ)
    _write_atomically(target, data)
    return WrittenResult(path=target, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def _write_atomically(target: str, data: bytes) -> None:
    folder = os.path.dirname(target) or "."
    # Same folder as the result, so the rename never crosses a file system and the worker (or the
    # sidecar) sees either the old file or the whole new one.
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".partial")
    try:
        # mkstemp makes the file 0600; the sidecar runs as another user (65534) and must read it.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    # The rename itself is durable only once the folder is synced (on the file systems that allow it).
    with contextlib.suppress(OSError):
        folder_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)


def check_result_bytes(
    data: bytes, *, max_bytes: int | None = None, environ: Mapping[str, str] | None = None
) -> CheckedResult | None:
    """Judges a result file's bytes as the worker does: None for a blank file (no value), the value
    when the worker would accept it unchanged, a ResultError otherwise. For results written by
    something other than write_result (jq, another program), before the container exits.
    """
    what = _what(environ)
    _check_size(len(data), max_bytes, what)
    if data.removeprefix(b"\xef\xbb\xbf").strip() == b"":
        return None
    value = parse(data, what, reserved_key=True)
    return CheckedResult(size=len(data), sha256=hashlib.sha256(data).hexdigest(), value=value)


def check_result_file(
    path: str | None = None, *, max_bytes: int | None = None, environ: Mapping[str, str] | None = None
) -> CheckedResult | None:
    """check_result_bytes on the result file; None when there is none. Like the worker, only a
    regular file counts: a symlink, a FIFO or a folder is refused, never followed or opened."""
    target = path if path is not None else result_path(environ)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise ResultError(
            "not_json",
            None,
            f"{_what(environ)} at {target} is not a regular file; the worker reads only a regular file there: "
            "write the JSON value itself to that path",
        )
    with open(target, "rb") as file:
        return check_result_bytes(file.read(), max_bytes=max_bytes, environ=environ)


def _check_size(size: int, max_bytes: int | None, what: str) -> None:
    if max_bytes is not None and size > max_bytes:
        raise ResultError(
            "too_large",
            None,
            f"{what} is {size} bytes, over the limit of {max_bytes} bytes; a worker with an XCom store "
            "(PODLINE_XCOM_STORE) takes larger results, or write the data elsewhere and return where it is",
        )
