"""Knowledge-base articles in the database: create, update, publish, unpublish and import from
files. Each change writes its event and audit row in the same transaction; the bot answers
from the published articles only."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actions.errors import Conflict, Forbidden, InvalidInput, NotFound
from actions.record import SYSTEM, Actor, record
from knowledge_base.articles import article_files, load_articles
from knowledge_base.documents import Article
from storage.models import KbArticle, User, utcnow

DRAFT, PUBLISHED = "draft", "published"
CONSOLE = "console"  # the source of articles written or last edited in the console
EDITOR_ROLES = ("supervisor", "admin")
MAX_SLUG, MAX_TITLE, MAX_URL, MAX_TAG, MAX_TAGS = 120, 255, 512, 40, 20
MAX_BODY = 100_000
RESERVED_SLUGS = frozenset({"admin", "gaps"})  # the editor's own pages under /kb/
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")


@dataclass(frozen=True)
class ArticleFields:
    """What an editor writes; `url` empty means the help-centre page `/kb/<slug>`."""

    title: str
    body: str
    url: str = ""
    tags: tuple[str, ...] = ()
    language: str = "en"


@dataclass
class ImportSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # edited in the console: the file does not win
    errors: list[str] = field(default_factory=list)  # "file: reason" for what was not imported

    def as_json(self) -> dict[str, list[str]]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "kept": self.kept,
            "errors": self.errors,
        }


def validate_slug(slug: str) -> str:
    slug = slug.strip()
    if not slug:
        raise InvalidInput("the slug is empty")
    if len(slug) > MAX_SLUG or not _SLUG.match(slug):
        raise InvalidInput(
            f"the slug {slug[:MAX_SLUG]!r} must be lowercase letters and digits joined by "
            f"dashes, at most {MAX_SLUG} characters"
        )
    if slug in RESERVED_SLUGS:
        raise InvalidInput(f"the slug {slug!r} is reserved for the editor's pages")
    return slug


def validate_fields(fields: ArticleFields) -> ArticleFields:
    """The fields stripped, or InvalidInput saying which one is wrong and why."""
    title, body, url = fields.title.strip(), fields.body.strip(), fields.url.strip()
    if not title:
        raise InvalidInput("the title is empty")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"the title has {len(title)} characters; at most {MAX_TITLE}")
    if not body:
        raise InvalidInput("the article has no text")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"the text has {len(body)} characters; at most {MAX_BODY}")
    if len(url) > MAX_URL or (url and not url.startswith(("/", "https://", "http://"))):
        raise InvalidInput("the URL must start with /, http:// or https://")
    tags = tuple(dict.fromkeys(t.strip() for t in fields.tags if t.strip()))
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG for t in tags):
        raise InvalidInput(f"at most {MAX_TAGS} tags of at most {MAX_TAG} characters each")
    language = fields.language.strip()
    if not _LANGUAGE.match(language):
        raise InvalidInput(f"the language {language[:16]!r} is not a code such as en or pt-BR")
    return ArticleFields(title, body, url, tags, language)


def content_hash(fields: ArticleFields) -> str:
    """Identifies the article's content: an import with the same hash changes nothing."""
    data = [fields.title, fields.body, fields.url, list(fields.tags), fields.language]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


def fields_of(row: KbArticle) -> ArticleFields:
    return ArticleFields(row.title, row.body, row.url, tuple(row.tags), row.language)


def as_article(row: KbArticle, url_prefix: str = "/kb/") -> Article:
    """The article the index chunks and cites."""
    return Article(
        row.slug, row.title, row.body, row.url or f"{url_prefix}{row.slug}", tuple(row.tags)
    )


def may_edit(user: User) -> None:
    """Supervisors and admins edit the knowledge base; agents do not."""
    if user.role not in EDITOR_ROLES:
        raise Forbidden("only supervisors and admins edit the knowledge base")


async def get_article(session: AsyncSession, slug: str) -> KbArticle:
    row = await session.scalar(select(KbArticle).where(KbArticle.slug == slug))
    if row is None:
        raise NotFound(f"no article has the slug {slug[:MAX_SLUG]!r}")
    return row


async def list_articles(session: AsyncSession) -> list[KbArticle]:
    """Every article, the most recently changed first."""
    query = select(KbArticle).order_by(KbArticle.updated_at.desc(), KbArticle.id.desc())
    return list(await session.scalars(query))


async def published_articles(session: AsyncSession) -> list[Article]:
    query = select(KbArticle).where(KbArticle.status == PUBLISHED).order_by(KbArticle.id)
    return [as_article(row) for row in await session.scalars(query)]


async def create_article(
    session: AsyncSession,
    slug: str,
    fields: ArticleFields,
    by: User | None,
    *,
    source: str = CONSOLE,
    status: str = DRAFT,
) -> KbArticle:
    """A new article (a draft unless `status` says otherwise); Conflict when the slug is taken."""
    if by is not None:
        may_edit(by)
    slug, fields = validate_slug(slug), validate_fields(fields)
    if await session.scalar(select(KbArticle.id).where(KbArticle.slug == slug)) is not None:
        raise Conflict(f"another article already has the slug {slug!r}")
    now = utcnow()
    row = KbArticle(
        slug=slug,
        status=status,
        source=source[:MAX_URL],
        created_at=now,
        **_columns(fields),
        updated_at=now,
        updated_by_id=by.id if by is not None else None,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as exc:  # created at this moment by someone else
        raise Conflict(f"another article already has the slug {slug!r}") from exc
    _record(session, by, "create_article", "kb_article_created", row)
    return row


async def update_article(
    session: AsyncSession,
    row: KbArticle,
    fields: ArticleFields,
    by: User | None,
    *,
    source: str = CONSOLE,
) -> bool:
    """Replace the article's content; False (and nothing written) when it is the same."""
    if by is not None:
        may_edit(by)
    fields = validate_fields(fields)
    if content_hash(fields) == row.content_hash:
        return False
    for name, value in _columns(fields).items():
        setattr(row, name, value)
    row.source = source[:MAX_URL]
    _touch(row, by)
    _record(session, by, "update_article", "kb_article_updated", row)
    return True


async def publish_article(session: AsyncSession, row: KbArticle, by: User | None) -> bool:
    """The bot answers from the article from now on; False when it was published already."""
    return await _set_status(session, row, by, PUBLISHED)


async def unpublish_article(session: AsyncSession, row: KbArticle, by: User | None) -> bool:
    """The bot stops answering from the article; False when it was a draft already."""
    return await _set_status(session, row, by, DRAFT)


async def import_articles(
    session: AsyncSession, articles: Iterable[tuple[Article, str]], language: str
) -> ImportSummary:
    """Upsert (article, source file) pairs by slug: new ones are created published, changed
    ones updated (their status is kept), unchanged ones skipped by content hash. An article last
    edited in the console is kept as it is: the file no longer speaks for it."""
    summary = ImportSummary()
    for article, source in articles:
        fields = ArticleFields(article.title, article.body, article.url, article.tags, language)
        try:
            await _import_one(session, article.id, fields, source, summary)
        except InvalidInput as exc:
            summary.errors.append(f"{source}: article {article.id!r}: {exc.message}")
    return summary


async def import_files(
    session: AsyncSession, paths: list[Path], language: str, url_prefix: str = "/kb/"
) -> ImportSummary:
    """Every article file under the paths (files or folders) imported as `import_articles`
    does; broken files and articles are listed in `errors` with the reason, the rest import."""
    summary = ImportSummary()
    first_file: dict[str, Path] = {}
    for path in article_files(paths):
        report = load_articles([path], url_prefix)
        summary.errors.extend(report.errors)
        fresh = []
        for article in report.articles:
            if first_file.setdefault(article.id, path) != path:
                summary.errors.append(
                    f"{path}: {first_file[article.id]} already has the id {article.id!r}"
                )
            else:
                fresh.append((article, str(path)))
        found = await import_articles(session, fresh, language)
        for name in ("created", "updated", "unchanged", "kept", "errors"):
            getattr(summary, name).extend(getattr(found, name))
    return summary


async def _import_one(
    session: AsyncSession, slug: str, fields: ArticleFields, source: str, summary: ImportSummary
) -> None:
    row = await session.scalar(select(KbArticle).where(KbArticle.slug == slug))
    if row is None:
        try:
            await create_article(session, slug, fields, None, source=source, status=PUBLISHED)
        except Conflict:  # another worker starting up imported it at this moment
            summary.unchanged.append(slug)
            return
        summary.created.append(slug)
    elif content_hash(validate_fields(fields)) == row.content_hash:
        summary.unchanged.append(slug)
    elif row.source == CONSOLE:
        summary.kept.append(slug)
    else:
        await update_article(session, row, fields, None, source=source)
        summary.updated.append(slug)


async def _set_status(session: AsyncSession, row: KbArticle, by: User | None, status: str) -> bool:
    if by is not None:
        may_edit(by)
    if row.status == status:
        return False
    row.status = status
    _touch(row, by)
    verb = "publish" if status == PUBLISHED else "unpublish"
    _record(session, by, f"{verb}_article", f"kb_article_{verb}ed", row)
    return True


def _columns(fields: ArticleFields) -> dict[str, object]:
    return {
        "title": fields.title,
        "body": fields.body,
        "url": fields.url,
        "tags": list(fields.tags),
        "language": fields.language,
        "content_hash": content_hash(fields),
    }


def _touch(row: KbArticle, by: User | None) -> None:
    row.updated_at = utcnow()
    row.updated_by_id = by.id if by is not None else None


def _record(
    session: AsyncSession, by: User | None, action: str, event: str, row: KbArticle
) -> None:
    actor = Actor("agent", by.id) if by is not None else SYSTEM
    payload = {"slug": row.slug, "status": row.status, "content_hash": row.content_hash}
    record(session, actor, action, ("kb_article", row.id), event=event, payload=payload)
