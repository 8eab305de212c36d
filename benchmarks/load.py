"""Load on a running `helpline serve`: simulated customers over the REST channel or the widget's
WebSocket, and idle widget sockets against the server's memory.

    python benchmarks/load.py --url http://127.0.0.1:8080 --concurrency 100 --duration 30 --json
    python benchmarks/load.py --url http://127.0.0.1:8080 --concurrency 100 --think 0.5 --json
    python benchmarks/load.py --url http://127.0.0.1:8080 --concurrency 100 --websocket --json
    python benchmarks/load.py --url http://127.0.0.1:8080 --idle-connections 5000 \\
        --server-pid PID --json

Each of the N customers holds one conversation at a time and writes its next message as soon as
the bot has answered the last, or, with --think S, after a pause of S seconds on average (people
read and type). Without pauses the N customers are always waiting, so the mean latency is N
divided by the throughput (Little's law): 100 customers at 200 messages/s wait 500 ms each. With
pauses the server can answer below its capacity, and the latency shows how it copes with the
rate the customers offer (at most N / (S + latency) messages/s).

A conversation is a script from the demo bot's own data (data/nlu.yml): a greeting, two to four
questions the knowledge base answers (order status, shipping, returns, payment, account,
products), thanks and goodbye. Every conversation has a sender of its own
(`load-<run>-<customer>-<n>`), so the per-sender message limit (`channels.message_rate`) is
never reached. The widget's limit on new conversations per client address
(`channels.widget.new_conversations`, 20 in 10 minutes by default) applies to every
conversation from this machine: for --websocket the server's config must raise it (see the
README's "Load" section); the refusals are reported as `rate_limited` errors otherwise.

REST: a message is `POST /webhooks/rest/webhook` `{"sender", "message"}` (Rasa's contract) and
its latency is the request's. WebSocket: `hello` then, per message, `message` with a client_id;
its latency runs until the first reply the bot sends for it (or until its `ack` when the
conversation is with a person and the bot stays silent). A conversation the bot handed to a
person ends there (the next message is answered by nobody: counted in `silent_replies`).

With --server-pid (a server on this machine) the result also has the server's CPU time per
message and the share of cores it used, read from /proc/PID/stat, the same for the processes
it started (`children_`: its parse process), and its resident memory.

`errors` counts messages that failed (HTTP status other than 200, a body that is not a JSON
list, an error frame, a timeout, a dropped connection); `error_kinds` says what they were."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlu.training_data import read_training_data  # noqa: E402 (after the path is set)

REST_PATH = "/webhooks/rest/webhook"
WIDGET_PATH = "/ws/widget"
# Intents the demo bot answers from its knowledge base; greetings and thanks frame each script.
QUESTION_INTENTS = (
    "order_status",
    "shipping_info",
    "returns_info",
    "payment_methods",
    "account_help",
    "product_info",
)
_PAUSES = random.Random(0)  # think times, drawn by one event loop in turn
REPLY_TIMEOUT = 30.0  # seconds for one message's reply before it counts as an error
WITH_A_PERSON = ("waiting", "with_agent")


@dataclass(frozen=True)
class Scripts:
    """Example messages of the demo data, by role in a conversation."""

    greetings: list[str]
    questions: list[str]
    thanks: list[str]
    goodbyes: list[str]

    def conversation(self, rng: random.Random) -> list[str]:
        asked = rng.sample(self.questions, rng.randint(2, 4))
        return [
            rng.choice(self.greetings),
            *asked,
            rng.choice(self.thanks),
            rng.choice(self.goodbyes),
        ]


def read_scripts(path: Path) -> Scripts:
    examples: dict[str, list[str]] = {}
    for example in read_training_data(path).examples:
        examples.setdefault(example.intent, []).append(example.text)
    missing = [i for i in ("greet", "thank_you", "goodbye", *QUESTION_INTENTS) if i not in examples]
    if missing:
        raise SystemExit(f"{path} has no examples of {', '.join(missing)}")
    return Scripts(
        examples["greet"],
        [text for intent in QUESTION_INTENTS for text in examples[intent]],
        examples["thank_you"],
        examples["goodbye"],
    )


@dataclass
class Tally:
    """What the customers saw: one latency per answered message, and what went wrong."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    silent: int = 0
    conversations: int = 0
    sent: int = 0

    def answered(self, started: float) -> None:
        self.latencies_ms.append((time.perf_counter() - started) * 1000)

    def failed(self, kind: str) -> None:
        self.errors[kind[:200]] += 1


@dataclass(frozen=True)
class Budget:
    """When the customers stop: after `deadline` (perf_counter) or `messages` sent in all."""

    deadline: float
    messages: int | None

    def more(self, tally: Tally) -> bool:
        if self.messages is not None and tally.sent >= self.messages:
            return False
        return time.perf_counter() < self.deadline


@dataclass(frozen=True)
class Load:
    """Where the customers write, what they share, and when they stop."""

    session: aiohttp.ClientSession
    url: str
    tally: Tally
    budget: Budget
    think_seconds: float = 0.0  # a customer's mean pause before each message

    async def think(self) -> None:
        """A customer reading and typing: a pause drawn from an exponential distribution
        (fixed seed) with the mean given, or none; never past the end of the run."""
        if self.think_seconds > 0:
            left = self.budget.deadline - time.perf_counter()
            await asyncio.sleep(max(0.0, min(_PAUSES.expovariate(1 / self.think_seconds), left)))


Conversation = Callable[[Load, list[str], str], Awaitable[None]]


async def rest_conversation(load: Load, script: list[str], sender: str) -> None:
    """One conversation over the REST channel; it ends early when the bot goes silent."""
    session, url, tally, budget = load.session, load.url, load.tally, load.budget
    for text in script:
        await load.think()
        if not budget.more(tally):
            return
        tally.sent += 1
        started = time.perf_counter()
        try:
            async with session.post(url, json={"sender": sender, "message": text}) as response:
                body = await response.json(content_type=None)
                if response.status != 200:
                    tally.failed(f"HTTP {response.status}: {_error_text(body)}")
                    return
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as error:
            tally.failed(f"{type(error).__name__}: {error}")
            return
        if not isinstance(body, list):
            tally.failed("the reply is not a JSON list")
            return
        tally.answered(started)
        if not any(isinstance(m, dict) and m.get("text") for m in body):
            tally.silent += 1  # a person has the conversation now
            return


class WidgetClient:
    """One widget socket: frames are read by one task and handed over in order."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.frames: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.status = "bot"
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                frame = json.loads(message.data)
                if frame.get("type") == "status":
                    self.status = frame.get("status", self.status)
                self.frames.put_nowait(frame)
        self.frames.put_nowait(None)  # closed

    async def next_frame(self) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.frames.get(), REPLY_TIMEOUT)
        if frame is None:
            raise ConnectionError("the server closed the socket")
        return frame

    async def hello(self) -> None:
        await self.socket.send_json({"type": "hello", "token": None})
        while (frame := await self.next_frame())["type"] != "welcome":
            _raise_on_error(frame)

    async def say(self, text: str, client_id: str) -> bool:
        """Send a message; wait for its ack and, unless a person has the conversation, the
        bot's first reply. True when the bot replied."""
        await self.socket.send_json({"type": "message", "text": text, "client_id": client_id})
        while (frame := await self.next_frame())["type"] != "ack":
            _raise_on_error(frame)
        if self.status in WITH_A_PERSON:
            return False
        while True:
            frame = await self.next_frame()
            _raise_on_error(frame)
            if frame["type"] == "message" and frame["message"].get("sender") == "bot":
                return True
            if frame["type"] == "status" and self.status in WITH_A_PERSON:
                return False

    async def close(self) -> None:
        await self.socket.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class ServerError(Exception):
    """An error frame from the server."""


def _raise_on_error(frame: dict[str, Any]) -> None:
    if frame.get("type") == "error":
        raise ServerError(f"{frame.get('code')}: {frame.get('message')}")


async def widget_conversation(load: Load, script: list[str], sender: str) -> None:
    """One conversation on a socket of its own (a new visitor); it ends when the bot hands
    the conversation to a person."""
    tally, budget = load.tally, load.budget
    try:
        socket = await load.session.ws_connect(
            load.url, timeout=aiohttp.ClientWSTimeout(ws_close=5)
        )
    except (aiohttp.ClientError, TimeoutError) as error:
        tally.failed(f"connect: {type(error).__name__}: {error}")
        return
    client = WidgetClient(socket)
    try:
        await client.hello()
        for n, text in enumerate(script):
            await load.think()
            if not budget.more(tally):
                return
            tally.sent += 1
            started = time.perf_counter()
            replied = await client.say(text, f"{sender}-{n}")
            tally.answered(started)
            if not replied:
                tally.silent += 1
                return
    except ServerError as error:
        tally.failed(str(error))
    except (TimeoutError, ConnectionError, aiohttp.ClientError) as error:
        tally.failed(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
    finally:
        await client.close()


async def customer(
    load: Load, conversation: Conversation, scripts: Scripts, rng: random.Random, name: str
) -> None:
    """One customer: conversation after conversation, each with a sender of its own."""
    n = 0
    while load.budget.more(load.tally):
        load.tally.conversations += 1
        await conversation(load, scripts.conversation(rng), f"load-{name}-{n}")
        n += 1


async def simulate(args: argparse.Namespace) -> dict[str, Any]:
    scripts = read_scripts(args.data)
    base = args.url.rstrip("/")
    conversation: Conversation = rest_conversation
    url = base + REST_PATH
    if args.websocket:
        conversation, url = widget_conversation, base.replace("http", "ws", 1) + WIDGET_PATH
    run = uuid.uuid4().hex[:8]
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=REPLY_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def customers(tally: Tally, budget: Budget, prefix: str) -> float:
            load = Load(session, url, tally, budget, args.think)
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    customer(load, conversation, scripts, random.Random(i), f"{prefix}{i}")
                    for i in range(args.concurrency)
                )
            )
            return time.perf_counter() - started

        if args.warmup > 0:
            await customers(Tally(), Budget(time.perf_counter() + args.warmup, None), f"{run}-w")
        tally = Tally()
        budget = Budget(time.perf_counter() + args.duration, args.messages)
        watched = [] if args.server_pid is None else [args.server_pid, *child_pids(args.server_pid)]
        cpu_before = [cpu_seconds(pid) for pid in watched]
        elapsed = await customers(tally, budget, f"{run}-")
        cpu_after = [cpu_seconds(pid) for pid in watched]
    result = summary(args, tally, elapsed)
    if watched:
        used = [after - before for before, after in zip(cpu_before, cpu_after, strict=True)]
        for key, seconds in (("server", used[0]), ("children", sum(used[1:]))):
            result[f"{key}_cpu_cores"] = round(seconds / elapsed, 2)
            if tally.latencies_ms:
                per_message = seconds * 1000 / len(tally.latencies_ms)
                result[f"{key}_cpu_ms_per_message"] = round(per_message, 1)
        result["server_rss_mb"] = round((resident_kb(args.server_pid) or 0) / 1024, 1)
    return result


def summary(args: argparse.Namespace, tally: Tally, elapsed: float) -> dict[str, Any]:
    latencies = sorted(tally.latencies_ms)
    return {
        "channel": "websocket" if args.websocket else "rest",
        "concurrency": args.concurrency,
        "think_s": args.think,
        "seconds": round(elapsed, 1),
        "messages": len(latencies),
        "messages_per_s": round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "errors": sum(tally.errors.values()),
        "error_kinds": dict(tally.errors.most_common()),
        "silent_replies": tally.silent,
        "conversations": tally.conversations,
        "senders": "one per conversation",
    }


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (the same rule as the REST and parse load clients)."""
    if not values:
        return None
    return round(values[min(len(values) - 1, int(len(values) * share))], 1)


async def idle_connections(args: argparse.Namespace) -> dict[str, Any]:
    """Open N widget sockets that say hello and then wait; read the server's memory."""
    target = args.url.rstrip("/").replace("http", "ws", 1) + WIDGET_PATH
    before = resident_kb(args.server_pid)
    errors: Counter[str] = Counter()
    clients: list[WidgetClient] = []
    connector = aiohttp.TCPConnector(limit=0)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        opening = asyncio.Semaphore(200)  # sockets being opened at once

        async def open_one() -> None:
            async with opening:
                try:
                    socket = await session.ws_connect(target, heartbeat=None)
                    client = WidgetClient(socket)
                    clients.append(client)
                    await client.hello()
                except (
                    aiohttp.ClientError,
                    TimeoutError,
                    ConnectionError,
                    OSError,
                    ServerError,
                ) as error:
                    errors[f"{type(error).__name__}: {error}"[:200]] += 1

        await asyncio.gather(*(open_one() for _ in range(args.idle_connections)))
        opened = time.perf_counter() - started
        await asyncio.sleep(args.hold)
        after = resident_kb(args.server_pid)
        still_open = sum(1 for c in clients if not c.socket.closed)
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    result: dict[str, Any] = {
        "idle_connections": args.idle_connections,
        "open_after_hold": still_open,
        "seconds_to_open": round(opened, 1),
        "hold_seconds": args.hold,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common()),
        "server_rss_mb_before": None if before is None else round(before / 1024, 1),
        "server_rss_mb": None if after is None else round(after / 1024, 1),
    }
    if before is not None and after is not None and still_open:
        result["kb_per_connection"] = round((after - before) / still_open, 1)
    return result


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system, all threads) the process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    """The processes the server started (its parse process), from /proc."""
    tasks = Path(f"/proc/{pid}/task").glob("*/children")
    return [int(child) for task in tasks for child in task.read_text().split()]


def resident_kb(pid: int | None) -> int | None:
    """VmRSS of the process, in kB, from /proc (None without a pid)."""
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"process {pid} has no VmRSS in /proc/{pid}/status")


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--concurrency", type=int, default=10, help="customers at once")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds to run")
    parser.add_argument("--messages", type=int, help="stop after this many messages in all")
    parser.add_argument(
        "--warmup", type=float, default=0.0, help="seconds of load before measuring (not counted)"
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="a customer's mean pause in seconds before each message (default 0: none)",
    )
    parser.add_argument("--websocket", action="store_true", help="the widget socket, not REST")
    parser.add_argument(
        "--idle-connections",
        type=int,
        default=0,
        help="instead: open this many idle widget sockets",
    )
    parser.add_argument(
        "--hold",
        type=float,
        default=10.0,
        help="seconds the idle sockets stay open before memory is read",
    )
    parser.add_argument(
        "--server-pid", type=int, help="the server's pid, to read its memory and CPU time"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT / "data/nlu.yml",
        help="Rasa YAML the conversations are taken from",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.duration <= 0 or args.idle_connections < 0 or args.think < 0:
        parser.error("--concurrency must be at least 1, --duration positive, --think not negative")
    if args.messages is not None and args.messages < 1:
        parser.error("--messages must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(argv)
    if args.idle_connections:
        result = asyncio.run(idle_connections(args))
    else:
        result = asyncio.run(simulate(args))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")


def _error_text(body: object) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:120]
    return str(body)[:120]


if __name__ == "__main__":
    main()
