"""sdks/vectors/results.json, read into what the Python side needs: each case's value and file bytes."""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "results.json"


@dataclass(frozen=True)
class Case:
    name: str
    worker: str
    has_value: bool
    value: Any
    file: bytes | None
    expect: str
    reason: str | None
    path: str | None
    limit: int


def load_cases() -> list[Case]:
    document = json.loads(VECTORS.read_text(encoding="utf-8"))
    limits: dict[str, int] = document["limits"]
    cases: list[Case] = []
    for raw in document["cases"]:
        worker = raw.get("worker", "no-store")
        cases.append(
            Case(
                name=raw["name"],
                worker=worker,
                has_value="value" in raw,
                value=untag(raw.get("value")),
                file=file_bytes(raw["file"]) if "file" in raw else None,
                expect=raw["expect"],
                reason=raw.get("reason"),
                path=raw.get("path"),
                limit=limits[worker],
            )
        )
    return cases


def untag(value: Any) -> Any:
    """The Python value a tagged vector value stands for ({"$vector": "nan"} and the others)."""
    if isinstance(value, list):
        return [untag(item) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get("$vector")
    if tag is None:
        return {key: untag(item) for key, item in value.items()}
    match tag:
        case "nan":
            return math.nan
        case "infinity":
            return math.inf
        case "-infinity":
            return -math.inf
        case "bytes":
            return base64.b64decode(value["base64"])
        case "set":
            return set(value["items"])
        case "pairs":
            return {key: untag(item) for key, item in value["pairs"]}
        case "int":
            return int(value["digits"])
        case "repeat":
            return cast(str, value["unit"]) * cast(int, value["count"])
        case "nest":
            nested = untag(value["leaf"])
            for _ in range(cast(int, value["depth"])):
                nested = [nested]
            return nested
    raise ValueError(f"unknown vector tag {tag!r}")


def file_bytes(spec: dict[str, Any]) -> bytes:
    """The bytes a case's file holds: text (UTF-8), base64, a fill of exact size, or nested arrays."""
    if "text" in spec:
        return cast(str, spec["text"]).encode("utf-8", "surrogatepass")
    if "base64" in spec:
        return base64.b64decode(spec["base64"])
    if "fill" in spec:
        fill = spec["fill"]
        before, unit, after = (cast(str, fill[k]).encode("utf-8") for k in ("before", "unit", "after"))
        room = cast(int, fill["bytes"]) - len(before) - len(after)
        if room % len(unit):
            raise ValueError(f"a fill of {fill['bytes']} bytes does not divide into {unit!r}")
        return before + unit * (room // len(unit)) + after
    if "nest" in spec:
        depth = cast(int, spec["nest"]["depth"])
        return b"[" * depth + cast(str, spec["nest"]["leaf"]).encode() + b"]" * depth
    raise ValueError(f"unknown file spec {sorted(spec)}")
