"""World-aware generation: draw path, query and body values from the provisioned world.

Ids that schemathesis invents name nothing, so on their own they only ever reach 400/403/404.
A `flatmap_case` hook therefore offers, next to the generated case, the same case aimed at a
real world object (a file in each state, a post, a channel the uploader may write to, a file
with its valid public-link hash). Only positive cases are rewritten: a negative case keeps the
invalid value it was generated to send. World slots are taken in a fixed order, so a seed
replays the same choices against a freshly provisioned world.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hypothesis import strategies as st

from mmconform.live_target.client import Actor, Target
from mmconform.live_target.world import World

FILE_OPERATIONS = ("GetFile", "GetFileInfo", "GetFileLink")
PUBLIC_OPERATIONS = ("GetFilePublic", "HeadFilePublic")


@dataclass(frozen=True)
class WorldPool:
    """The world's ids in a stable order, plus the public-link hash of attached files."""

    file_ids: tuple[str, ...] = ()
    post_ids: tuple[str, ...] = ()
    channel_ids: tuple[str, ...] = ()
    public_links: tuple[tuple[str, str], ...] = ()  # (file_id, h)


def pool_from_world(world: World, target: Target) -> WorldPool:
    """Read the world's ids; public-link hashes come from GetFileLink as the uploader."""
    files = [world.files[key] for key in sorted(world.files)]
    uploader = world.actor("uploader")
    links: list[tuple[str, str]] = []
    for stored in files:
        if stored.post_id is None or uploader is None:
            continue
        h = _link_hash(target, uploader, stored.id)
        if h:
            links.append((stored.id, h))
    return WorldPool(
        file_ids=tuple(f.id for f in files),
        post_ids=tuple(world.posts[key] for key in sorted(world.posts)),
        channel_ids=tuple(world.channels[key] for key in sorted(world.channels)),
        public_links=tuple(links),
    )


def _link_hash(target: Target, uploader: Actor, file_id: str) -> str | None:
    response = target.request("GET", f"/api/v4/files/{file_id}/link", actor=uploader)
    if response.status_code != 200:
        return None  # public links disabled or the file is gone: keep generated values only
    link = str(response.json().get("link", ""))
    values = parse_qs(urlsplit(link).query).get("h")
    return values[0] if values else None


@dataclass
class PoolHolder:
    """Set by the session fixture once the world exists; read lazily by the hooks."""

    pool: WorldPool = field(default_factory=WorldPool)


def _operation_id(case: Any) -> str:
    raw = getattr(getattr(case.operation, "definition", None), "raw", None)
    return str(raw.get("operationId", "")) if isinstance(raw, dict) else ""


def _is_positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    generation = getattr(meta, "generation", None)
    return str(getattr(getattr(generation, "mode", None), "value", "")) == "positive"


def _phase(case: Any) -> str:
    meta = getattr(case, "meta", None)
    phase = getattr(meta, "phase", None)
    return str(getattr(getattr(phase, "name", None), "value", ""))


def _with_path(case: Any, name: str, value: str) -> Any:
    case.path_parameters = {**(case.path_parameters or {}), name: value}
    return case


def _upload_into(case: Any, channel_id: str) -> Any:
    if isinstance(case.body, dict):  # multipart: channel_id part
        case.body = {**case.body, "channel_id": channel_id}
        if isinstance(case.query, dict):
            case.query = {k: v for k, v in case.query.items() if k != "channel_id"}
    else:  # raw body: channel_id and filename in the query
        query = dict(case.query or {})
        query["channel_id"] = channel_id
        query.setdefault("filename", "fuzz.bin")
        case.query = query
    return case


def _public(case: Any, link: tuple[str, str]) -> Any:
    case = _with_path(case, "file_id", link[0])
    case.query = {**(case.query or {}), "h": link[1]}
    return case


def world_choices(case: Any, pool: WorldPool) -> list[Callable[[], Any]]:
    """Ways to aim `case` at the world; empty when the operation takes no world ids."""
    op = _operation_id(case)
    if op in FILE_OPERATIONS:
        return [partial(_with_path, case, "file_id", f) for f in pool.file_ids]
    if op == "GetFileInfosForPost":
        return [partial(_with_path, case, "post_id", p) for p in pool.post_ids]
    if op == "UploadFile":
        return [partial(_upload_into, case, c) for c in pool.channel_ids]
    if op in PUBLIC_OPERATIONS:
        return [partial(_public, case, link) for link in pool.public_links]
    return []


def install_world_hooks(schema: Any, holder: PoolHolder) -> None:
    """Register the `flatmap_case` hook on `schema` (schema scope, not global)."""

    def flatmap_case(ctx: Any, case: Any) -> Any:
        if not _is_positive(case):
            return st.just(case)
        if _phase(case) == "stateful" and _operation_id(case) != "UploadFile":
            return st.just(case)  # links supply the ids in scenarios
        choices = world_choices(case, holder.pool)
        if not choices:
            return st.just(case)
        # Mostly world objects (generated ids only ever reach 4xx), the generated case last so
        # that shrinking prefers a real object.
        return st.sampled_from([*choices, lambda: case]).map(lambda make: make())

    schema.hook(flatmap_case)
