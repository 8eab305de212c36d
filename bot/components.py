"""The composition root: read settings once, build every component, hand them over."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from actions.articles import ImportSummary, import_files, published_articles
from actions.redaction import configure as configure_redaction
from bot.channels.telegram import TelegramChannel
from bot.engine import Engine
from bot.live import Hub, LocalHub
from bot.redis_client import connect
from bot.redis_hub import RedisHub
from bot.settings import ConfigError, RateSettings, Settings, load_settings
from bot.web.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from bot.web.throttle import LoginThrottle, MemoryLoginThrottle, RedisLoginThrottle
from knowledge_base.documents import Article
from knowledge_base.index import DenseStore, KnowledgeBaseIndex
from knowledge_base.indexing import CACHE_FILE, index_articles, index_sources
from knowledge_base.pgvector_store import PgVectorStore
from nlu.encoder import Encoder, encoder_name, load_encoder
from nlu.fine_tune import EncoderTuner, FineTuneConfig, is_tuned
from nlu.model import NLUConfig, NLUModel
from nlu.parse_process import ModelRecipe, ParseProcess
from nlu.self_training import SelfTrainingConfig
from nlu.sentiment import SentimentBands
from storage.database import Database

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)


def settings_from_environment(config: Path) -> Settings:
    """config.yml plus DATABASE_URL and REDIS_URL from the environment: the one place env is
    read."""
    return load_settings(config, dict(os.environ))


def nlu_config(settings: Settings) -> NLUConfig:
    return NLUConfig(
        encoder=encoder_name(settings.nlu.encoder, settings.nlu.encoder_runtime),
        confidence_threshold=settings.nlu.confidence_threshold,
        language=settings.language,
        spacy_model=settings.nlu.spacy_model,
        intent_names=settings.nlu.intent_names,
        fine_tune=FineTuneConfig(
            settings.nlu.fine_tune.epochs, settings.nlu.fine_tune.learning_rate
        ),
        sentiment=SentimentBands(
            settings.nlu.sentiment.negative_at, settings.nlu.sentiment.positive_at
        ),
        self_training=SelfTrainingConfig(
            settings.nlu.self_training.rounds,
            settings.nlu.self_training.per_intent,
            settings.nlu.self_training.epochs,
        ),
    )


def settings_encoder(settings: Settings, threads: int = 0) -> Encoder:
    """The encoder config.yml names, on its runtime, with `threads` CPU threads (0: all)."""
    return load_encoder(settings.nlu.encoder, settings.nlu.encoder_runtime, threads)


def kb_encoder(settings: Settings, threads: int = 0) -> Encoder:
    """The encoder the served knowledge base searches with: the trained NLU model's intent
    encoder (`NLUModel.intent_encoder`), i.e. its fine-tuned copy when it has one, else the
    encoder config.yml names."""
    directory = settings.resolve(settings.nlu.model_dir)
    if nlu_config(settings).fine_tune.epochs > 0 and is_tuned(directory):
        return encoder_tuner(settings, threads).load(directory)
    return settings_encoder(settings, threads)


def encoder_tuner(settings: Settings, threads: int = 0) -> EncoderTuner:
    """Fine-tunes (and loads fine-tuned copies of) the encoder config.yml names."""
    nlu = settings.nlu
    return EncoderTuner(nlu.encoder, nlu.encoder_runtime, nlu_config(settings).fine_tune, threads)


def model_recipe(settings: Settings) -> ModelRecipe:
    """How the serving process (and its parse process) load the trained model."""
    nlu = settings.nlu
    directory = settings.resolve(nlu.model_dir)
    return ModelRecipe(
        directory, nlu_config(settings), nlu.encoder, nlu.encoder_runtime, nlu.encoder_threads
    )


def secret_key(settings: Settings) -> bytes:
    """HELPLINE_SECRET, or a random key kept beside the trained models for this install."""
    if os.environ.get("HELPLINE_SECRET"):
        return os.environ["HELPLINE_SECRET"].encode()
    path = settings.resolve(Path(".helpline/secret"))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip().encode()


def build_kb(
    settings: Settings,
    encoder: Encoder,
    progress: Progress | None = None,
    *,
    use_cache: bool = True,
) -> tuple[KnowledgeBaseIndex, list[str]]:
    """The index over config.yml's source files as they are (no database: evaluations and
    tests); with the cache only changed passages are encoded."""
    kb = settings.knowledge_base
    return index_sources(
        [settings.resolve(p) for p in kb.sources],
        encoder,
        kb.chunk_words,
        settings.resolve(CACHE_FILE) if use_cache else None,
        progress,
    )


async def import_kb_sources(settings: Settings, db: Database) -> ImportSummary:
    """Import config.yml's knowledge-base files into the database (unchanged ones are skipped,
    articles edited in the console are kept); broken files are listed in `errors`."""
    kb = settings.knowledge_base
    async with db.session() as session, session.begin():
        return await import_files(
            session, [settings.resolve(p) for p in kb.sources], settings.language
        )


async def published_articles_in(db: Database) -> list[Article]:
    async with db.session() as session:
        return await published_articles(session)


def build_kb_from_database(
    settings: Settings,
    encoder: Encoder,
    progress: Progress | None = None,
    *,
    import_sources: bool = True,
) -> tuple[KnowledgeBaseIndex, ImportSummary]:
    """The index over the published articles in the database, after importing config.yml's
    sources (unless told not to); the embedding cache means only changed passages are encoded."""

    async def load() -> tuple[list[Article], ImportSummary]:
        db = Database(settings.database_url)
        try:
            summary = await import_kb_sources(settings, db) if import_sources else ImportSummary()
            return await published_articles_in(db), summary
        finally:
            await db.dispose()

    articles, summary = asyncio.run(load())
    kb = settings.knowledge_base
    cache = settings.resolve(CACHE_FILE)
    dense = dense_store_for(settings.database_url, encoder)
    index = index_articles(articles, encoder, kb.chunk_words, cache, progress, dense=dense)
    return index, summary


def dense_store_for(database_url: str, encoder: Encoder) -> DenseStore | None:
    """pgvector when the database is PostgreSQL with the `vector` extension; else None (the
    chunk vectors stay in memory)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    if not PgVectorStore.available(dsn):
        log.info("knowledge base: no pgvector on this PostgreSQL; chunk vectors stay in memory")
        return None
    return PgVectorStore(dsn, dimensions=len(encoder.encode(["dimensions"])[0]))


@dataclass(frozen=True)
class Limits:
    """What several workers must share (in Redis) or one keeps in memory: one interface each."""

    messages: RateLimiter  # customer messages per sender or visitor
    new_conversations: RateLimiter  # new widget conversations per client address
    logins: LoginThrottle  # lock-out after failed log-ins per username and address


@dataclass
class Components:
    settings: Settings
    db: Database
    nlu: NLUModel
    kb: KnowledgeBaseIndex
    hub: Hub
    engine: Engine
    secret: bytes
    limits: Limits
    telegram: TelegramChannel | None = None


def build_components(settings: Settings) -> Components:
    """Load the models (the NLU model must have been trained) and wire the engine."""
    recipe = model_recipe(settings)
    nlu = recipe.load()
    kb, summary = build_kb_from_database(settings, nlu.intent_encoder)
    for error in summary.errors:
        log.warning("knowledge base: skipped %s", error)
    # With a parse process this process never parses free text, so the parts that only
    # parsing uses (spaCy's NER) are never loaded here.
    process = ParseProcess(recipe, nlu) if settings.nlu.parse_process else None
    if process is None:
        nlu.warm()
    components = wire(settings, nlu, kb, secret_key(settings), process)
    components.telegram = telegram_channel(settings, components.engine, dict(os.environ))
    return components


def telegram_channel(
    settings: Settings, engine: Engine, environ: dict[str, str]
) -> TelegramChannel | None:
    """The Telegram adapter when config.yml enables it; its secrets come from the environment."""
    telegram = settings.channels.telegram
    if not telegram.enabled:
        return None
    token = environ.get("TELEGRAM_BOT_TOKEN")
    if not token:
        raise ConfigError("channels.telegram.enabled is true but TELEGRAM_BOT_TOKEN is not set")
    secret = environ.get("TELEGRAM_WEBHOOK_SECRET")
    if telegram.mode == "webhook" and not secret:
        raise ConfigError(
            "channels.telegram.mode is webhook but TELEGRAM_WEBHOOK_SECRET is not set: "
            "without it anyone could post updates"
        )
    return TelegramChannel(engine, engine.hub, token, secret, environ.get("TELEGRAM_API_URL"))


def wire(
    settings: Settings,
    nlu: NLUModel,
    kb: KnowledgeBaseIndex,
    secret: bytes,
    process: ParseProcess | None = None,
) -> Components:
    """Components around already loaded models: a database, a hub, the limits and the engine
    (which parses in `process` when given); with `redis_url` the hub and the limits are shared
    through Redis, else kept in-process."""
    configure_redaction(settings.privacy.redact.policy())
    db = Database(settings.database_url)
    hub, limits = shared_state(settings)
    engine = Engine(settings, db, nlu, kb, hub, process=process)
    return Components(settings, db, nlu, kb, hub, engine, secret, limits)


def shared_state(settings: Settings) -> tuple[Hub, Limits]:
    """The live hub and the limits: in this process, or in Redis when `redis_url` is set."""
    messages = settings.channels.message_rate
    conversations = settings.channels.widget.new_conversations
    if settings.redis_url is None:
        memory = Limits(_memory(messages), _memory(conversations), MemoryLoginThrottle())
        return LocalHub(), memory
    redis = connect(settings.redis_url)
    shared = Limits(
        _redis(redis, "messages", messages),
        _redis(redis, "new_conversations", conversations),
        RedisLoginThrottle(redis),
    )
    return RedisHub(redis), shared


def _memory(rate: RateSettings) -> RateLimiter:
    return MemoryRateLimiter(rate.limit, rate.window_seconds)


def _redis(redis: Redis, name: str, rate: RateSettings) -> RateLimiter:
    return RedisRateLimiter(redis, name, rate.limit, rate.window_seconds)
