"""Comparing our assembled specs with upstream's, operation by operation.

For every operation of ours we compare what a client relies on: where it lives, its parameters
(multipart form fields count as parameters `form:<name>`), request content types, status codes,
response content types, the properties of JSON response bodies, security schemes and the
permissions named (our `x-mmconform-permissions` against the backticked names in upstream's
"Permissions" paragraph). Each difference is either explained by an erratum or is drift.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from mmconform.spec.errata import Erratum
from mmconform.spec.loader import iter_operations
from mmconform.spec.upstream import resolve

PERMISSIONS_KEY = "x-mmconform-permissions"
_MAX_DEPTH = 6
_PERMISSION_SECTION = re.compile(r"#+\s*Permissions(.*)", re.DOTALL)
_BACKTICKED = re.compile(r"`([a-z][a-z0-9_]*)`")


@dataclass(frozen=True)
class Difference:
    """One difference; `change` reads from our side: `added` means only ours has it."""

    operation: str
    kind: str
    subject: str
    change: str
    ours: str
    upstream: str
    explained_by: str | None = None

    @property
    def verdict(self) -> str:
        return f"explained by {self.explained_by}" if self.explained_by else "drift"


@dataclass(frozen=True)
class DiffResult:
    differences: list[Difference]
    stale_errata: list[str]  # errata whose matches matched nothing (upstream fixed? check them)

    @property
    def drift(self) -> list[Difference]:
        return [d for d in self.differences if d.explained_by is None]


def diff_specs(ours: dict[str, Any], upstream: dict[str, Any], errata: list[Erratum]) -> DiffResult:
    upstream_ops = {
        op["operationId"]: (path, method, op)
        for path, method, op in iter_operations(upstream)
        if "operationId" in op
    }
    differences = []
    for path, method, op in iter_operations(ours):
        op_id = op.get("operationId", f"{method.upper()} {path}")
        found = upstream_ops.get(op_id)
        if found is None:
            differences.append(
                _diff(op_id, "path", "operation", "added", f"{method.upper()} {path}")
            )
            continue
        ctx = _Pair(op_id, ours, upstream, (path, method, op), found)
        differences.extend(ctx.compare())
    return explain(differences, errata)


def explain(differences: list[Difference], errata: list[Erratum]) -> DiffResult:
    used: set[str] = set()
    explained = []
    for d in differences:
        by = next(
            (
                e.id
                for e in errata
                if any(m.covers(d.operation, d.kind, d.subject, d.change) for m in e.matches)
            ),
            None,
        )
        if by:
            used.add(by)
        explained.append(replace(d, explained_by=by))
    stale = [e.id for e in errata if e.matches and e.id not in used]
    return DiffResult(explained, stale)


def _diff(
    op: str, kind: str, subject: str, change: str, ours: str = "", up: str = ""
) -> Difference:
    defaults = {"added": ("present", "absent"), "removed": ("absent", "present")}
    d_ours, d_up = defaults.get(change, ("", ""))
    return Difference(op, kind, subject, change, ours or d_ours, up or d_up)


def _added_removed(
    op: str, kind: str, ours: dict[str, str], upstream: dict[str, str]
) -> Iterator[Difference]:
    """Added/removed keys of two {subject: description} maps, in a stable order."""
    for subject in ours:
        if subject not in upstream:
            yield _diff(op, kind, subject, "added", ours[subject] or "present")
    for subject in upstream:
        if subject not in ours:
            yield _diff(op, kind, subject, "removed", "", upstream[subject] or "present")


class _Pair:
    """One of our operations and its upstream namesake, with both documents for `$ref`s."""

    def __init__(
        self,
        op_id: str,
        ours_doc: dict[str, Any],
        up_doc: dict[str, Any],
        ours: tuple[str, str, dict[str, Any]],
        up: tuple[str, str, dict[str, Any]],
    ) -> None:
        self.op = op_id
        self.docs = (ours_doc, up_doc)
        self.ours, self.up = ours, up

    def compare(self) -> Iterator[Difference]:
        (o_path, o_method, _), (u_path, u_method, _) = self.ours, self.up
        if (o_path, o_method) != (u_path, u_method):
            yield _diff(
                self.op,
                "path",
                "operation",
                "moved",
                f"{o_method.upper()} {o_path}",
                f"{u_method.upper()} {u_path}",
            )
        yield from self._parameters()
        yield from _added_removed(
            self.op,
            "content-type",
            {f"request {m}": "" for m in self._request_content(0)},
            {f"request {m}": "" for m in self._request_content(1)},
        )
        yield from self._responses()
        yield from self._security()

    # -- helpers: index 0 is ours, 1 is upstream ------------------------------------------------

    def _resolve(self, side: int, node: Any) -> Any:
        where = f"{'our specs' if side == 0 else 'upstream'}, {self.op}"
        return resolve(self.docs[side], node, where)

    def _item(self, side: int) -> tuple[str, str, dict[str, Any]]:
        return self.ours if side == 0 else self.up

    def _request_content(self, side: int) -> dict[str, Any]:
        body = self._resolve(side, self._item(side)[2].get("requestBody") or {})
        return dict(body.get("content") or {})

    def _params(self, side: int) -> dict[str, tuple[bool, str]]:
        path, _, op = self._item(side)
        item = self.docs[side]["paths"][path]
        params: dict[str, tuple[bool, str]] = {}
        for raw in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
            param = self._resolve(side, raw)
            key = f"{param.get('in')}:{param.get('name')}"
            params[key] = (bool(param.get("required")), self._type(side, param.get("schema")))
        form = self._resolve(side, self._request_content(side).get("multipart/form-data", {}))
        schema = self._resolve(side, form.get("schema") or {})
        required = set(schema.get("required") or [])
        for name, prop in (schema.get("properties") or {}).items():
            params[f"form:{name}"] = (name in required, self._type(side, prop))
        return params

    def _type(self, side: int, schema: Any) -> str:
        schema = self._resolve(side, schema or {})
        kind = str(schema.get("type", "any"))
        if kind == "array":
            return f"array[{self._type(side, schema.get('items'))}]"
        return kind

    def _parameters(self) -> Iterator[Difference]:
        ours, up = self._params(0), self._params(1)
        yield from _added_removed(
            self.op,
            "parameter",
            {k: v[1] for k, v in ours.items()},
            {k: v[1] for k, v in up.items()},
        )
        for key in ours.keys() & up.keys():
            (o_req, o_type), (u_req, u_type) = ours[key], up[key]
            if o_req != u_req:
                yield _diff(self.op, "parameter", key, "required", _req(o_req), _req(u_req))
            if o_type != u_type:
                yield _diff(self.op, "parameter", key, "type", o_type, u_type)

    def _responses(self) -> Iterator[Difference]:
        ours = {str(k): v for k, v in (self._item(0)[2].get("responses") or {}).items()}
        up = {str(k): v for k, v in (self._item(1)[2].get("responses") or {}).items()}
        yield from _added_removed(
            self.op, "status-code", {k: "documented" for k in ours}, {k: "documented" for k in up}
        )
        for code in [c for c in ours if c in up]:
            o_content = self._resolve(0, ours[code]).get("content") or {}
            u_content = self._resolve(1, up[code]).get("content") or {}
            yield from _added_removed(
                self.op,
                "content-type",
                {f"{code} {m}": "" for m in o_content},
                {f"{code} {m}": "" for m in u_content},
            )
            if "application/json" in o_content and "application/json" in u_content:
                yield from self._schemas(
                    code,
                    o_content["application/json"].get("schema"),
                    u_content["application/json"].get("schema"),
                )

    def _schemas(self, code: str, ours: Any, up: Any) -> Iterator[Difference]:
        o_props = dict(self._walk(0, ours, "", 0))
        u_props = dict(self._walk(1, up, "", 0))

        def subject(path: str) -> str:
            return f"{code} {path}" if path else code

        yield from _added_removed(
            self.op,
            "schema",
            {subject(p): t for p, (t, _) in o_props.items()},
            {subject(p): t for p, (t, _) in u_props.items()},
        )
        for path in [p for p in o_props if p in u_props]:
            (o_type, o_null), (u_type, u_null) = o_props[path], u_props[path]
            if o_type != u_type:
                yield _diff(self.op, "schema", subject(path), "type", o_type, u_type)
            if o_null != u_null:
                yield _diff(self.op, "schema", subject(path), "nullable", str(o_null), str(u_null))

    def _walk(
        self, side: int, schema: Any, path: str, depth: int
    ) -> Iterator[tuple[str, tuple[str, bool]]]:
        """(json path, (type, nullable)) for the schema and its properties and items."""
        schema = self._resolve(side, schema or {})
        kind = str(schema.get("type", "object" if "properties" in schema else "any"))
        yield path, (kind, bool(schema.get("nullable")))
        if depth >= _MAX_DEPTH:
            return
        for name, prop in (schema.get("properties") or {}).items():
            yield from self._walk(side, prop, f"{path}.{name}" if path else name, depth + 1)
        if kind == "array":
            yield from self._walk(side, schema.get("items"), f"{path}[]", depth + 1)

    def _security(self) -> Iterator[Difference]:
        def schemes(side: int) -> dict[str, str]:
            op = self._item(side)[2]
            requirements = op.get("security", self.docs[side].get("security") or [])
            return {f"scheme:{name}": "" for req in requirements for name in req}

        yield from _added_removed(self.op, "security", schemes(0), schemes(1))
        ours = self._item(0)[2].get(PERMISSIONS_KEY)
        if ours is None:
            return
        section = _PERMISSION_SECTION.search(self._item(1)[2].get("description") or "")
        up = _BACKTICKED.findall(section.group(1)) if section else []
        yield from _added_removed(
            self.op,
            "security",
            {f"permission:{p}": "" for p in ours},
            {f"permission:{p}": "" for p in up},
        )


def _req(required: bool) -> str:
    return "required" if required else "optional"
