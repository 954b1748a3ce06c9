#!/usr/bin/python3
"""Read a stream's entries the way the Python reference reader does, and print what it yields.

Checks the direction "our encoder -> the reference's decoder": the TypeScript bus writes events to a
stream, this script reads them back with the reference's real ``EventBusReader`` (imported at run time
from ``--reference``, never copied into this repository) and prints, one JSON object per line, the
decoded dict the reader yields for each entry (its ``stream_id`` included).

Usage::

    /usr/bin/python3 scripts/python-interop/read_with_reference.py \
        --redis-url redis://127.0.0.1:6379/0 --stream maf:events --count 10 [--reference /tmp/ref]

Output
------
The first line names the decoder::

    {"decoder": "reference", "module": "/tmp/ref/maf/streaming/bus.py"}
    {"decoder": "json.loads", "reason": "..."}

``reference`` is the real ``EventBusReader`` (XREAD from ``0``). ``json.loads`` is the fallback used
when ``--reference`` is not given or its directory holds no ``maf/streaming/bus.py``: the entries are
read with ``XRANGE`` and decoded here as the reference's reader decodes them (fields folded into a
dict, last value wins; a missing or empty ``data`` field is an ``error``; UTF-8, then ``json.loads``
with Python's defaults; ``stream_id`` added to the body).

Then one line per entry. Values JSON cannot carry exactly are written as markers, so that a
JavaScript reader can compare them:

- NaN, Infinity and -Infinity: ``{"$float": "NaN" | "Infinity" | "-Infinity"}``;
- integers outside +/-(2^53 - 1): ``{"$int": "<all the digits>"}``;
- a decoded object that itself has exactly one key named ``$float``, ``$int`` or ``$object`` is
  wrapped as ``{"$object": {...}}`` so it is not taken for a marker.

The output is strict JSON (``allow_nan=False``) and pure ASCII (``ensure_ascii``), so lone surrogates
come out as ``\\udXXX`` escapes.

Exit status: 0 when ``--count`` entries were read; 1 when fewer arrived before ``--timeout`` (the
entries read so far are printed, then an ``{"error": "timeout", ...}`` line; the fallback does not
wait and says ``"too few entries"``); 2 when the reader raised
(an ``{"error": "reader raised: ..."}`` line is printed; the reference's iterator ends on such an
error); 3 on a setup problem (the reference exists but cannot be imported, or redis-py is missing).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import math
import sys
from pathlib import Path
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1
MARKER_KEYS = frozenset({"$float", "$int", "$object"})


def to_portable(value: Any) -> Any:
    """The decoded value with NaN/Infinity and unsafe integers replaced by markers."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return {"$float": "NaN"}
        if math.isinf(value):
            return {"$float": "Infinity" if value > 0 else "-Infinity"}
        return value
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return value
        return {"$int": str(value)}
    if isinstance(value, dict):
        converted = {key: to_portable(item) for key, item in value.items()}
        if len(converted) == 1 and next(iter(converted)) in MARKER_KEYS:
            return {"$object": converted}
        return converted
    if isinstance(value, (list, tuple)):
        return [to_portable(item) for item in value]
    # json.loads yields nothing else; keep whatever it is visible rather than fail.
    return {"$repr": repr(value)}


def emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=True, allow_nan=False) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------
# The reference reader
# ---------------------------------------------------------------------------


def load_reference(directory: Path) -> Any:
    """Imports ``maf.streaming.bus`` from ``directory`` (and from nowhere else)."""
    bus_path = (directory / "maf" / "streaming" / "bus.py").resolve()
    sys.path.insert(0, str(directory.resolve()))
    module = importlib.import_module("maf.streaming.bus")
    loaded_from = Path(module.__file__ or "").resolve()
    if loaded_from != bus_path:
        raise ImportError(f"maf.streaming.bus was imported from {loaded_from}, not from {bus_path}")
    return module


async def read_with_reference(bus: Any, args: argparse.Namespace) -> int:
    reader = bus.EventBusReader(
        redis_url=args.redis_url,
        stream=args.stream,
        last_id="0",
        block_ms=500,
        count=max(1, min(args.count, 500)),
    )
    events = reader.__aiter__()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.timeout
    read = 0
    status = 0
    try:
        while read < args.count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError
            try:
                event = await asyncio.wait_for(events.__anext__(), timeout=remaining)
            except StopAsyncIteration:
                emit({"error": "reader ended", "read": read, "expected": args.count})
                return 2
            emit(to_portable(event))
            read += 1
    except asyncio.TimeoutError:
        emit({"error": "timeout", "read": read, "expected": args.count})
        status = 1
    except Exception as exc:  # the reference's reader raises on bodies it cannot take
        emit({"error": f"reader raised: {type(exc).__name__}: {exc}", "read": read})
        status = 2
    finally:
        try:
            await events.aclose()
        except Exception:
            pass
        await reader.aclose()
    return status


# ---------------------------------------------------------------------------
# The fallback: the reference reader's decoding, restated
# ---------------------------------------------------------------------------


def decode_entry(stream_id: str, fields: dict[Any, Any]) -> dict[str, Any]:
    """Decodes one entry as the reference's reader does (see the module docstring)."""
    raw = fields.get(b"data")
    if not raw:
        raw = fields.get("data")
    if not raw:  # absent, or present but empty: both read as no data
        return {"stream_id": stream_id, "error": "no_data_field"}
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            # The reference lets this escape and its iterator ends.
            return {"stream_id": stream_id, "error": f"utf8_decode (the reference raises): {exc}"}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, TypeError) as exc:
        return {"stream_id": stream_id, "error": f"json_decode: {exc}"}
    if not isinstance(body, dict):
        # The reference raises a TypeError when it sets stream_id on a non-object.
        return {"stream_id": stream_id, "error": f"not_an_object (the reference raises): {type(body).__name__}"}
    body["stream_id"] = stream_id
    return body


async def read_with_json_loads(args: argparse.Namespace) -> int:
    import redis.asyncio as aioredis

    client = aioredis.from_url(args.redis_url)
    try:
        entries = await asyncio.wait_for(
            client.xrange(args.stream, min="-", max="+", count=args.count), timeout=args.timeout
        )
    finally:
        close = getattr(client, "aclose", None) or client.close
        await close()
    for entry_id, fields in entries:
        sid = entry_id.decode("utf-8") if isinstance(entry_id, bytes) else str(entry_id)
        emit(to_portable(decode_entry(sid, fields)))
    if len(entries) < args.count:
        emit({"error": "too few entries", "read": len(entries), "expected": args.count})
        return 1
    return 0


# ---------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", required=True, help="e.g. redis://127.0.0.1:6379/0")
    parser.add_argument("--stream", required=True, help="the stream's key")
    parser.add_argument("--count", type=int, required=True, help="how many entries to read from the start")
    parser.add_argument(
        "--reference",
        default=None,
        help="a directory holding maf/streaming/bus.py; without it (or without bus.py) json.loads is used",
    )
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for --count entries")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be 0 or more")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        import redis.asyncio  # noqa: F401  (both decoders need redis-py)
    except ImportError as exc:
        print(f"redis-py is not available: {exc}", file=sys.stderr)
        return 3

    reference = Path(args.reference) if args.reference else None
    if reference is not None and (reference / "maf" / "streaming" / "bus.py").is_file():
        try:
            bus = load_reference(reference)
        except Exception as exc:
            print(f"cannot import the reference from {reference}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 3
        emit({"decoder": "reference", "module": str(Path(bus.__file__).resolve())})
        return asyncio.run(read_with_reference(bus, args))

    reason = (
        "no --reference given"
        if reference is None
        else f"{reference / 'maf' / 'streaming' / 'bus.py'} does not exist"
    )
    emit({"decoder": "json.loads", "reason": reason})
    return asyncio.run(read_with_json_loads(args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
