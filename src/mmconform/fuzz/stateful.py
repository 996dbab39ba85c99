"""Stateful scenarios: upload → info → get → link over the spec's links, then attach → read.

Failures are collected, not raised inside the machine: replaying a scenario against a live
server is not deterministic (ids and attachments change), so Hypothesis' shrink-and-replay would
turn a real finding into FlakyStrategyDefinition. `run_scenarios` raises the collected failures
(one per distinct first line) once every scenario has run.

The OpenAPI links of UploadFile drive schemathesis' state machine (upload, then GetFileInfo,
GetFile and GetFileLink on the returned id). Creating a post is not one of our operations, so it
is a hand-written rule on the same machine: it attaches an uploaded file to a new post (recorded
in the cleanup ledger first), then checks GetFileInfosForPost lists it and that GetFileLink's
public link serves the same bytes as GetFile (CONTRACT-STATE-001). Every response, ours or the
machine's, goes through the same checks as the stateless tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import hypothesis
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from mmconform.fuzz import uploads
from mmconform.fuzz.runner import FuzzContext, FuzzFailure, derived_seed
from mmconform.live_target.client import ApiError

REQ_STATE = "CONTRACT-STATE-001"
_UPLOAD = "POST /api/v4/files"


def build_machine(schema: Any, fuzz: FuzzContext) -> type[Any]:
    """A state machine class over `schema` (positive generation, as `fuzz.identity`)."""
    base: Any = schema.as_state_machine()

    class FilesScenario(base):  # type: ignore[misc]
        failures: ClassVar[list[str]] = []

        def setup(self) -> None:
            super().setup()
            self.uploaded: list[tuple[str, str]] = []  # (file_id, channel_id)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": fuzz.base_url, "session": fuzz.http()}

        def before_call(self, case: Any) -> None:
            super().before_call(case)
            self._upload_key = uploads.before(fuzz, case)  # in the ledger before it exists

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            uploads.after(fuzz, getattr(self, "_upload_key", None), response)
            self._upload_key = None
            fuzz.trace(case, str(response.status_code))
            if case.operation.label == _UPLOAD and response.status_code == 201:
                for info in response.json().get("file_infos") or []:
                    if info.get("user_id") != "bookmark":
                        self.uploaded.append((str(info["id"]), str(info["channel_id"])))

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            if fuzz.absent(case):  # not routed on this version: its matrix row judges it
                return
            try:
                fuzz.validate(case, response, recorder=getattr(self, "recorder", None), **kwargs)
            except FuzzFailure as exc:
                self.failures.append(str(exc))

        @precondition(lambda self: bool(self.uploaded))
        @rule(data=st.data())
        def attach_and_read(self, data: Any) -> None:
            self._attach_and_read(data.draw(st.sampled_from(self.uploaded), label="file"))

        def teardown(self) -> None:
            # Short scenarios may never pick the rule; every scenario that uploaded ends with it.
            if self.uploaded:
                self._attach_and_read(self.uploaded[0])
            super().teardown()

        def _attach_and_read(self, uploaded: tuple[str, str]) -> None:
            file_id, channel_id = uploaded
            self.uploaded.remove(uploaded)
            post_id = attach(fuzz, file_id, channel_id)
            if post_id is None:
                return
            try:
                read_back(fuzz, schema, file_id, post_id)
            except FuzzFailure as exc:
                self.failures.append(str(exc))

    return FilesScenario


def attach(fuzz: FuzzContext, file_id: str, channel_id: str) -> str | None:
    """A new post in `channel_id` carrying the file, recorded in the ledger before it exists."""
    world = fuzz.world
    kinds = {cid: kind for kind, cid in world.channels.items()}
    uploader = world.actor("uploader")
    if channel_id not in kinds or uploader is None:
        return None  # uploaded somewhere the world does not own: nothing to attach to
    message = f"{world.prefix} fuzz attach {file_id}"
    key = world.ledger.intent(
        "post", message, parent=world.keys[kinds[channel_id]], file_ids=[file_id]
    )
    try:
        body = world.target.api(
            "POST",
            "/posts",
            uploader,
            json={"channel_id": channel_id, "message": message, "file_ids": [file_id]},
        )
    except ApiError:
        return None
    world.ledger.created(key, str(body["id"]))
    return str(body["id"])


def read_back(fuzz: FuzzContext, schema: Any, file_id: str, post_id: str) -> None:
    """GetFileInfosForPost lists the file; its public link serves GetFile's bytes."""
    infos = _send(fuzz, schema, "/api/v4/posts/{post_id}/files/info", "GET", post_id=post_id)
    ids = [i.get("id") for i in infos.json()] if infos.status_code == 200 else []
    _expect(file_id in ids, f"GetFileInfosForPost({post_id}) lists {ids}, not {file_id}", infos)
    content = _send(fuzz, schema, "/api/v4/files/{file_id}", "GET", file_id=file_id)
    _expect(
        content.status_code == 200, f"GetFile({file_id}) answered {content.status_code}", content
    )
    link = _send(fuzz, schema, "/api/v4/files/{file_id}/link", "GET", file_id=file_id)
    if link.status_code == 403:
        return  # public links are off on this target; GetFileLink's 403 was checked above
    _expect(link.status_code == 200, f"GetFileLink({file_id}) answered {link.status_code}", link)
    url = urlsplit(str(link.json()["link"]))
    h = dict(p.split("=", 1) for p in url.query.split("&") if "=" in p).get("h", "")
    public = _send(fuzz, schema, "/files/{file_id}/public", "GET", file_id=file_id, h=h)
    _expect(
        public.status_code == 200 and public.content == content.content,
        f"public link of {file_id} answered {public.status_code} with "
        f"{len(public.content)} bytes, GetFile sent {len(content.content)}",
        public,
    )


@dataclass(frozen=True)
class _Answer:
    """A response and the redacted curl line that reproduces it."""

    response: Any
    repro: str

    @property
    def status_code(self) -> int:
        return int(self.response.status_code)

    @property
    def content(self) -> bytes:
        return bytes(self.response.content or b"")

    def json(self) -> Any:
        return self.response.json()


def _send(fuzz: FuzzContext, schema: Any, path: str, method: str, **params: str) -> _Answer:
    operation = schema[path][method]
    path_names = [p for p in ("file_id", "post_id") if "{" + p + "}" in path]
    case = operation.Case(
        path_parameters={k: params[k] for k in path_names},
        query={k: v for k, v in params.items() if k not in path_names},
        headers={} if path.startswith("/files/") else fuzz.auth_headers(),
    )
    response = case.call(base_url=fuzz.base_url, session=fuzz.http())
    fuzz.trace(case, str(response.status_code))
    fuzz.validate(case, response)
    return _Answer(response, fuzz.report(case.as_curl_command()))


def _expect(ok: bool, message: str, answer: _Answer) -> None:
    if not ok:
        raise FuzzFailure(f"[{REQ_STATE}] {message}\n\nReproduce with:\n\n    {answer.repro}")


def run_scenarios(machine: type[Any], seed: int, scenarios: int, steps: int) -> None:
    """Run the machine with the run's seed, then raise what it collected.

    Settings inherit schemathesis' state-machine defaults (replacing them re-enables slow
    shrinking, schemathesis-notes §5).
    """
    hypothesis.seed(derived_seed(seed, "stateful"))(machine)
    settings = hypothesis.settings(
        machine.TestCase.settings,
        max_examples=scenarios,
        stateful_step_count=steps,
        database=None,
        deadline=None,
    )
    machine.failures.clear()
    machine.run(settings=settings)
    distinct = {_failure_key(text): text for text in machine.failures}
    if distinct:
        raise FuzzFailure(
            f"{len(distinct)} distinct stateful failure(s)\n\n" + "\n\n".join(distinct.values())
        )


def _failure_key(text: str) -> str:
    """What makes two failures the same: their titles (`- ST...`, `[REQ]`) and the request line."""
    lines = text.splitlines()
    titles = [ln.strip() for ln in lines if ln.startswith(("- ", "["))]
    curl = next((ln.strip() for ln in lines if ln.strip().startswith("curl ")), "")
    return "|".join(titles) + "|" + " ".join(curl.split()[:4])
