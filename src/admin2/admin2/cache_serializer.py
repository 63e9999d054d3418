"""The Redis cache's serializer: tagged JSON, so nothing read from Redis can run code.

What round-trips, why not signed pickles, and what a planted value does (a logged miss):
docs/security.md, "Redis".
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import logging
import math
import re
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

TAG = "__admin2__"
_UNTAGGED = object()
_ZONE_KEY = re.compile(r"^[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*$")
_PLAIN = frozenset({str, int, bool, type(None)})


class RefusedValue(ValueError):
    """A value read from the cache that this serializer did not write."""


def _tag(name: str, payload) -> dict:
    return {TAG: [name, payload]}


def _encode_datetime(value: dt.datetime):
    zone = getattr(value.tzinfo, "key", None) if isinstance(value.tzinfo, ZoneInfo) else None
    return [value.isoformat(), zone, value.fold]


def _encode_items(items) -> list:
    # The hot loop (every cell of every cached row): plain values pass without a call.
    out = []
    append = out.append
    for item in items:
        kind = type(item)
        if kind in _PLAIN or (kind is float and math.isfinite(item)):
            append(item)
        else:
            append(_encode(item))
    return out


def _encode(value):
    kind = type(value)
    if kind in _PLAIN:
        return value
    container = _CONTAINERS.get(kind)
    if container is not None:
        return container(value)
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        raise TypeError(
            f"the admin2 cache stores JSON and tagged built-in types only, not {kind.__qualname__}"
        )
    name, encode = encoder
    return _tag(name, encode(value))


def _encode_float(value: float):
    return value if math.isfinite(value) else _tag("float", repr(value))


def _encode_dict(value: dict):
    if TAG not in value and all(type(key) is str for key in value):
        return {key: _encode(item) for key, item in value.items()}
    return _tag("dict", [[_encode(key), _encode(item)] for key, item in value.items()])


# Values JSON has a shape for, kept in that shape where it is unambiguous.
_CONTAINERS = {
    float: _encode_float,
    list: _encode_items,
    tuple: lambda value: _tag("tuple", _encode_items(value)),
    dict: _encode_dict,
}

_ENCODERS = {
    bytes: ("bytes", lambda v: base64.b64encode(v).decode("ascii")),
    set: ("set", _encode_items),
    frozenset: ("frozenset", _encode_items),
    dt.datetime: ("datetime", _encode_datetime),
    dt.date: ("date", dt.date.isoformat),
    dt.time: ("time", dt.time.isoformat),
    dt.timedelta: ("timedelta", lambda v: [v.days, v.seconds, v.microseconds]),
    Decimal: ("decimal", str),
    uuid.UUID: ("uuid", str),
    ipaddress.IPv4Address: ("ipv4", str),
    ipaddress.IPv6Address: ("ipv6", str),
}


def _decode_float(text: str) -> float:
    if text not in ("nan", "inf", "-inf"):
        raise RefusedValue(f"not a special float: {text!r}")
    return float(text)


def _decode_datetime(payload) -> dt.datetime:
    text, zone, fold = payload
    value = dt.datetime.fromisoformat(text)
    if zone is not None:
        if not (isinstance(zone, str) and _ZONE_KEY.match(zone)) or value.tzinfo is None:
            raise RefusedValue(f"not a time zone name: {zone!r}")
        value = value.astimezone(ZoneInfo(zone))
    return value.replace(fold=int(bool(fold)))


def _decode_dict(pairs) -> dict:
    return {_hashable(key): value for key, value in pairs}


def _hashable(key):
    hash(key)  # a list or dict as a key: TypeError, so the value is refused
    return key


_DECODERS = {
    "float": _decode_float,
    "tuple": tuple,
    "dict": _decode_dict,
    "bytes": lambda text: base64.b64decode(text, validate=True),
    "set": lambda items: {_hashable(item) for item in items},
    "frozenset": lambda items: frozenset(_hashable(item) for item in items),
    "datetime": _decode_datetime,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "timedelta": lambda parts: dt.timedelta(*parts),
    "decimal": Decimal,
    "uuid": uuid.UUID,
    "ipv4": ipaddress.IPv4Address,
    "ipv6": ipaddress.IPv6Address,
}


def _object_hook(obj: dict):
    tagged = obj.get(TAG, _UNTAGGED)
    if tagged is _UNTAGGED:
        return obj
    if len(obj) != 1 or type(tagged) is not list or len(tagged) != 2:
        raise RefusedValue("a malformed tag")
    decoder = _DECODERS.get(tagged[0]) if type(tagged[0]) is str else None
    if decoder is None:
        raise RefusedValue(f"an unknown tag {tagged[0]!r}")
    return decoder(tagged[1])


def _refuse_constant(name: str):
    # NaN and the infinities travel as tags; bare ones are not JSON and not ours.
    raise RefusedValue(f"a bare {name}")


class TaggedJSONSerializer:
    """``OPTIONS["serializer"]`` of Django's ``RedisCache``: ``dumps`` and ``loads``."""

    def dumps(self, obj) -> bytes | int:
        if type(obj) is int:
            return obj
        return json.dumps(
            _encode(obj), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8", "surrogatepass")

    def loads(self, data: bytes):
        try:
            return int(data)
        except ValueError:
            pass
        try:
            return json.loads(
                data.decode("utf-8", "surrogatepass"),
                object_hook=_object_hook,
                parse_constant=_refuse_constant,
            )
        except Exception as exc:  # anything that is not our JSON: a miss, never code
            logger.warning(
                "cache: refused a value that admin2 did not write (%d bytes, %s); "
                "treated as a miss",
                len(data),
                type(exc).__name__,
            )
            return None
