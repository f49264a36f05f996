"""What the worker accepts as a value, checked in Python before the value leaves the pod.

The worker parses a result with JavaScript's JSON.parse and stores it in PostgreSQL's jsonb. So a
value must be JSON that both take whole: finite numbers, integers a double holds exactly, text with
a UTF-8 form and no NUL, no top-level key "$podline". Python's json module would write NaN, or turn
the key 1 into "1", without a word; here each such value is refused with its path and the reason,
in the worker's path notation ($.rows[3].name).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from typing import Literal, TypeAlias

from pydantic import BaseModel

from ._contract import MAX_DEPTH, MAX_SAFE_INTEGER, RESERVED_KEY

JsonValue: TypeAlias = "None | bool | int | float | str | list[JsonValue] | dict[str, JsonValue]"

Reason = Literal[
    "not_json",
    "non_finite_number",
    "unsafe_integer",
    "unstorable_text",
    "reserved_key",
    "too_deep",
    "too_large",
    "invalid_utf8",
    "invalid_json",
]
"""Why a value or a file is refused: one class per rule, the same names the test vectors use."""


class ResultError(ValueError):
    """A value the worker would refuse (or silently change), named by its path and the reason."""

    def __init__(self, reason: Reason, path: str | None, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.path = path


# The worker's path notation (storable-text.ts): $.name for identifier-like keys, $["a b"] otherwise.
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*", re.ASCII)
# A NUL, or a UTF-16 surrogate: Python text holds one only when it was built from broken input.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def member_path(path: str, key: str) -> str:
    return f"{path}.{key}" if _IDENTIFIER.fullmatch(key) else f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _unstorable(text: str) -> str | None:
    match = _UNSTORABLE.search(text)
    if match is None:
        return None
    if match.group() == "\x00":
        return "contains a NUL character (\\u0000)"
    code = f"{ord(match.group()):04X}"
    return f"contains a lone UTF-16 surrogate (\\u{code}) at index {match.start()}, which has no UTF-8 form"


_STORE_FIX = "which PostgreSQL cannot store; remove it, or encode the value (base64 for binary data)"


def check_value(value: object, what: str = "the result", *, reserved_key: bool = True) -> JsonValue:
    """The value as JSON (pydantic models dumped in JSON mode), or a ResultError naming what is wrong.

    `reserved_key`: refuse a top-level "$podline" key, as the worker does for a task's result.
    """
    checked = _Walk(what).visit(value, "$", 0)
    if reserved_key and isinstance(checked, dict) and RESERVED_KEY in checked:
        raise ResultError(
            "reserved_key",
            member_path("$", RESERVED_KEY),
            f'{what} has the top-level key "{RESERVED_KEY}", which Podline reserves for values kept in '
            "the XCom store; rename that key",
        )
    return checked


class _Walk:
    """A depth-first walk with its own stack: a value nested past Python's recursion limit is refused
    with its path, not a RecursionError."""

    def __init__(self, what: str) -> None:
        self.what = what

    def refuse(self, reason: Reason, path: str, problem: str) -> ResultError:
        # A path 500 levels deep is kilobytes of [0]: the message shows its ends.
        shown = path if len(path) <= 120 else f"{path[:60]}…{path[-40:]}"
        return ResultError(reason, path, f"{self.what}: {shown} {problem}")

    def visit(self, value: object, path: str, depth: int) -> JsonValue:
        root: list[JsonValue] = [None]
        # The containers on the path from the root: one seen again below itself is a cycle.
        open_ids: set[int] = set()
        # (value, path, depth, where the checked value goes) or, to leave a container, its id.
        stack: list[tuple[object, str, int, Callable[[JsonValue], None]] | int] = [
            (value, path, depth, lambda v: root.__setitem__(0, v))
        ]
        while stack:
            entry = stack.pop()
            if isinstance(entry, int):
                open_ids.discard(entry)
                continue
            item, at, level, put = entry
            if isinstance(item, BaseModel):
                item = model_json(item)
            if not isinstance(item, (list, tuple, dict)):
                put(self.scalar(item, at))
                continue
            if level >= MAX_DEPTH:
                raise self.refuse(
                    "too_deep",
                    at,
                    f"is nested deeper than {MAX_DEPTH} levels, past what the worker can read back; flatten the value",
                )
            if id(item) in open_ids:
                raise self.refuse("not_json", at, "is a circular reference, which is not JSON")
            open_ids.add(id(item))
            stack.append(id(item))
            children = self.array(item, at, level, put) if not isinstance(item, dict) else self.mapping(item, at, level, put)
            stack.extend(reversed(children))
        return root[0]

    def array(
        self, items: list[object] | tuple[object, ...], at: str, level: int, put: Callable[[JsonValue], None]
    ) -> list[tuple[object, str, int, Callable[[JsonValue], None]]]:
        out: list[JsonValue] = []
        put(out)
        return [(child, f"{at}[{i}]", level + 1, out.append) for i, child in enumerate(items)]

    def mapping(
        self, members: dict[object, object], at: str, level: int, put: Callable[[JsonValue], None]
    ) -> list[tuple[object, str, int, Callable[[JsonValue], None]]]:
        out: dict[str, JsonValue] = {}
        put(out)
        children: list[tuple[object, str, int, Callable[[JsonValue], None]]] = []
        for key, child in members.items():
            if not isinstance(key, str):
                raise self.refuse(
                    "not_json",
                    at,
                    f"has the key {key!r} ({type(key).__name__}); JSON object keys are strings, and "
                    "json.dumps would turn it into one silently",
                )
            key_path = member_path(at, key)
            problem = _unstorable(key)
            if problem is not None:
                raise self.refuse("unstorable_text", key_path, f"(a key) {problem}, {_STORE_FIX}")
            children.append((child, key_path, level + 1, functools.partial(out.__setitem__, key)))
        return children

    def scalar(self, value: object, path: str) -> JsonValue:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            if abs(value) > MAX_SAFE_INTEGER:
                raise self.refuse(
                    "unsafe_integer",
                    path,
                    f"is {_shown_int(value)}, past 2^53 - 1: the worker reads numbers as doubles and would store it "
                    "rounded; pass it as a string",
                )
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                shown = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
                raise self.refuse(
                    "non_finite_number",
                    path,
                    f"is {shown}, which JSON cannot carry (json.dumps would write the bare token {shown}, "
                    "which the worker refuses as invalid JSON); write null or a string instead",
                )
            return float(value)
        if isinstance(value, str):
            problem = _unstorable(value)
            if problem is not None:
                raise self.refuse("unstorable_text", path, f"{problem}, {_STORE_FIX}")
            return str.__str__(value)  # the text itself, also of a str subclass (an Enum)
        raise self.refuse("not_json", path, f"is {_described(value)}, which is not JSON{_hint(value)}")


def model_json(model: BaseModel) -> object:
    """A model as the JSON the task's schema reads: `model_dump(mode="json", by_alias=True)` (a field
    named `free_form` for the key "free-form" is written "free-form"), without the optional fields
    left unset at None. Those stand for a member the schema marks optional, which a zod schema
    refuses as null: absent, not null.
    """
    return _without_unset_none(model, model.model_dump(mode="json", by_alias=True))


def _without_unset_none(value: object, dumped: object) -> object:
    if isinstance(value, BaseModel) and isinstance(dumped, dict):
        for name, field in type(value).model_fields.items():
            key = field.serialization_alias or field.alias or name
            if key not in dumped:
                continue
            child = getattr(value, name)
            if child is None and name not in value.model_fields_set:
                del dumped[key]
            else:
                dumped[key] = _without_unset_none(child, dumped[key])
    elif isinstance(value, BaseModel) and "root" in type(value).model_fields:
        return _without_unset_none(getattr(value, "root"), dumped)
    elif isinstance(value, (list, tuple)) and isinstance(dumped, list) and len(value) == len(dumped):
        return [_without_unset_none(v, d) for v, d in zip(value, dumped)]
    elif isinstance(value, dict) and isinstance(dumped, dict):
        for key, child in value.items():
            if isinstance(key, str) and key in dumped:
                dumped[key] = _without_unset_none(child, dumped[key])
    return dumped


def _shown_int(value: int) -> str:
    # str() of an int past 4,300 digits raises; a number that long is shown by its size.
    return str(value) if value.bit_length() <= 256 else f"an integer of {value.bit_length()} bits"


def _shown_digits(digits: str) -> str:
    return digits if len(digits) <= 40 else f"{digits[:20]}… ({len(digits)} digits)"


def _described(value: object) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"bytes ({len(value)} of them)"
    return f"a {type(value).__name__}"


def _hint(value: object) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ": decode text to str, or encode binary data as base64"
    if isinstance(value, (set, frozenset)):
        return ": write a list"
    if hasattr(value, "isoformat"):
        return ": write value.isoformat()"
    return ""


def encode(value: JsonValue) -> bytes:
    """A checked value's bytes: compact UTF-8, as JSON.stringify would measure it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


_BOM = b"\xef\xbb\xbf"


def parse(data: bytes, what: str = "the value", *, reserved_key: bool = False) -> JsonValue:
    """Bytes of JSON read the worker's way (a leading BOM skipped), refused where the worker would
    refuse or change them. Blank input is not handled here: callers decide what it means.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ResultError(
            "invalid_utf8",
            None,
            f"{what} is not UTF-8 (byte {error.start} is 0x{data[error.start]:02x}); the worker would "
            "replace it with U+FFFD and store different text: write the JSON as UTF-8",
        ) from error
    try:
        value: JsonValue = json.loads(
            text, parse_constant=_refuse_constant(what), parse_int=_checked_int(what)
        )
    except ResultError:
        raise
    except RecursionError as error:
        raise ResultError(
            "too_deep", None, f"{what} is nested too deeply to read; flatten the value"
        ) from error
    except json.JSONDecodeError as error:
        raise ResultError(
            "invalid_json",
            None,
            f"{what} is not valid JSON ({error.msg} at line {error.lineno} column {error.colno}); "
            "write the value with a JSON serializer",
        ) from error
    return check_value(value, what, reserved_key=reserved_key)


def _refuse_constant(what: str) -> Callable[[str], object]:
    def refuse(token: str) -> object:
        raise ResultError(
            "non_finite_number",
            None,
            f"{what} has the bare token {token}, which is not JSON (the worker refuses it); write null or a string instead",
        )

    return refuse


def _checked_int(what: str) -> Callable[[str], int]:
    def checked(digits: str) -> int:
        # Past Python's 4,300-digit limit int() refuses; that is far past what a double holds anyway.
        number = int(digits) if len(digits) <= 20 else MAX_SAFE_INTEGER + 1
        if abs(number) > MAX_SAFE_INTEGER:
            raise ResultError(
                "unsafe_integer",
                None,
                f"{what} has the integer {_shown_digits(digits)}, past 2^53 - 1: the worker reads it as a double and "
                "would store it rounded; pass it as a string",
            )
        return number

    return checked
