"""Live updates between two workers through Redis, against one process: the time from a publish
on one hub to its delivery to a subscriber of another, and how many updates a second get through.

    REDIS_URL=redis://127.0.0.1:6379/0 python benchmarks/live_fanout.py --json [--updates N]

Prints one JSON object: p50 / p95 / max latency in milliseconds and updates per second, for the
in-process hub and for two Redis hubs (as two workers would have).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

from bot.live import Hub, LocalHub
from bot.redis_client import connect
from bot.redis_hub import RedisHub

TOPIC = "console"


async def measure(publisher: Hub, listener: Hub, updates: int) -> dict[str, float]:
    latencies: list[float] = []
    async with listener.subscribe(TOPIC) as queue:
        started = time.perf_counter()
        for n in range(updates):
            sent = time.perf_counter()
            publisher.publish(TOPIC, {"kind": "message", "n": n, "data": {"text": "x" * 200}})
            payload = await asyncio.wait_for(queue.get(), 10)
            assert payload["n"] == n, "updates arrived out of order"
            latencies.append((time.perf_counter() - sent) * 1000)
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 3),
        "max_ms": round(ordered[-1], 3),
        "updates_per_s": round(updates / elapsed),
    }


async def redis_pair(url: str, updates: int) -> dict[str, float]:
    publisher, listener = RedisHub(connect(url)), RedisHub(connect(url))
    await publisher.start()
    await listener.start()
    try:
        while await listener.status() != "ok":  # noqa: ASYNC110 (Redis's state, not ours)
            await asyncio.sleep(0.01)
        return await measure(publisher, listener, updates)
    finally:
        await publisher.close()
        await listener.close()


async def main(updates: int) -> dict[str, Any]:
    local = LocalHub()
    result: dict[str, Any] = {
        "updates": updates,
        "in_process": await measure(local, local, updates),
    }
    url = os.environ.get("REDIS_URL")
    result["redis_two_workers"] = await redis_pair(url, updates) if url else None
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.updates))))
