"""The JSON API's edge: the blueprint, one declaration per route, strict JSON bodies, versions in ETag / If-Match,
pages with `Link` headers, and the OpenAPI 3.1 document built from the declarations.

A route is declared once, under its guard:

    @bp.post("/relationships/<int:relationship_id>/production-reports")
    @requires("admin", "production", kind="supplier", api=True)
    @idempotent
    @operation("createProductionReport", tag="production", body=ReportIn, response=Report, status=201)
    def production_reports_create(relationship_id: int, body: ReportIn) -> Report: ...

`operation` reads the query string into `query` and the body into `body` (pydantic models, see
`cogrow.core.schema`), calls the view, and writes what it returns: a model as JSON with the declared status, a
`(model, headers)` pair, a `Page` with a `Link` to the next page, or a ready `Response`. The guard runs first, so a
client who may not call the route hears 401/403 before anything about its body. The same declaration feeds
`GET /api/v1/openapi.json`.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from flask import Blueprint, Flask, Response, current_app, g, request
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from cogrow.core.auth import access_of, public, requires
from cogrow.core.errors import BadRequest, PreconditionRequired, UnsupportedMediaType, ValidationFailed
from cogrow.core.fields import FieldError, integer
from cogrow.core.schema import MAX_ID, NAMED_MARK, NAMED_SCHEMAS, Page, Resource, field_errors
from cogrow.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def _csrf_for_sessions() -> None:
    """Bearer-token clients are not browsers; a browser session must still prove the request is its own."""
    if (current_app.config["WTF_CSRF_ENABLED"] and g.get("actor") is not None and g.actor.token_id is None
            and request.method not in ("GET", "HEAD", "OPTIONS")):
        csrf.protect()


# --- strict JSON ---------------------------------------------------------------------------------------------

class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def json_body() -> dict[str, Any]:
    """The request body as one JSON object, refusing what a lenient parser lets through: duplicate keys, NaN and
    Infinity, bodies that are not UTF-8 or not an object. Numbers with a fraction are read as exact Decimals."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.", fields={"Content-Type": "must be application/json"})
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The body is not valid UTF-8.") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=Decimal, parse_constant=_reject_constant)
    except _DuplicateKey as exc:
        raise BadRequest(f"The key '{exc.key}' appears twice.", fields={exc.key: "duplicate key"}) from None
    except RecursionError:
        raise BadRequest("The body is nested too deeply.") from None
    except ValueError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return data


# --- versions ------------------------------------------------------------------------------------------------

def etag(version: int) -> str:
    return f'"{version}"'


def required_version() -> int:
    """The version the client last saw, from If-Match; edits without one are refused (428)."""
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired("Send If-Match with the ETag you last read.", fields={"If-Match": "required"})
    value = header.strip()
    if value.startswith("W/"):
        value = value[2:]
    try:
        return integer(value.strip('"'), minimum=0, maximum=MAX_ID)
    except FieldError:
        raise BadRequest("If-Match must be an ETag this API gave out.", fields={"If-Match": "malformed"}) from None


# --- declarations --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Operation:
    """What a route accepts and answers, for the request pipeline and for the OpenAPI document."""

    operation_id: str
    tag: str
    summary: str | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    etag: bool
    if_match: bool | str
    body_optional: bool
    also: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    upload: tuple[str, ...] = ()
    links: dict[str, dict[str, Any]] = field(default_factory=dict)


# A path parameter whose owner a caller must be able to see before hearing what is wrong with a body: a bad body
# for a relationship someone cannot see is a 404, never a 422 that confirms the relationship exists. The domain
# that owns the parameter registers the check (relationships registers "relationship_id").
_path_guards: dict[str, Callable[[Any, int], Any]] = {}


def guard_path(name: str, check: Callable[[Any, int], Any]) -> None:
    _path_guards[name] = check


def _errors(exc: ValidationError, where: str) -> dict[str, str]:
    return field_errors(exc, where)


def _read_query(model: type[BaseModel]) -> BaseModel:
    args = request.args
    data: dict[str, Any] = {}
    for name in args:
        values = args.getlist(name)
        data[name] = values if len(values) > 1 else values[0]
    try:
        return model.model_validate(data, context={"request": True})
    except ValidationError as exc:
        raise BadRequest(str(_l("Bad query parameters.")), fields=_errors(exc, "query")) from None


def _read_body(model: type[BaseModel], path_args: dict[str, Any], optional: bool = False) -> BaseModel:
    if optional and not request.get_data(cache=True):
        return model()
    try:
        return model.model_validate(json_body(), context={"request": True})
    except ValidationError as exc:
        failure = ValidationFailed(str(_l("Some fields are not valid.")), fields=_errors(exc, "body"))
    except (BadRequest, UnsupportedMediaType) as exc:
        failure = exc
    for name, value in path_args.items():
        check = _path_guards.get(name)
        if check is not None:
            check(g.actor, value)
    raise failure


def _next_link(page: Page) -> str | None:
    if len(page.data) < page.limit:
        return None
    args = request.args.to_dict(flat=False)
    args["offset"] = [str(page.offset + page.limit)]
    args["limit"] = [str(page.limit)]
    from urllib.parse import urlencode

    return f'<{request.base_url}?{urlencode(args, doseq=True)}>; rel="next"'


def _answer(result: Any, op: Operation) -> Response:
    if isinstance(result, Response):
        return result
    headers: dict[str, str] = {}
    if isinstance(result, tuple):
        result, headers = result
    if result is None:
        return Response(status=204, headers=headers)
    if isinstance(result, dict):  # a view that builds its answer by hand still goes through the declared model
        result = op.response.model_validate(result) if op.response is not None else result
    if isinstance(result, Page):
        link = _next_link(result)
        if link:
            headers["Link"] = link
    body = result.model_dump_json() if isinstance(result, BaseModel) else json.dumps(result)
    return Response(body, status=op.status, headers=headers, mimetype="application/json")


def operation(operation_id: str, *, tag: str, response: type[BaseModel] | None = None, body: type[BaseModel] | None = None,
              query: type[BaseModel] | None = None, status: int = 200, summary: str | None = None,
              etag: bool = False, if_match: bool | str = False, body_optional: bool = False,
              also: dict[int, type[BaseModel] | None] | None = None, upload: tuple[str, ...] = (),
              links: dict[str, dict[str, Any]] | None = None) -> Callable:
    """Declare a route: see the module docstring. `etag` says the answer carries an ETag; `if_match` that the
    request needs one back (the view gets it as `version`; with `if_match="optional"` it may be left out, and
    `version` is then None); `body_optional` lets the client leave the body out (the model's defaults); `links` are OpenAPI links from the answer to other operations (by operation id)."""
    op = Operation(operation_id, tag, summary, body, query, response, status, etag, if_match, body_optional,
                   also or {}, upload, links or {})

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(**kwargs: Any) -> Response:
            path_args = dict(kwargs)
            if if_match == "optional":
                kwargs["version"] = required_version() if request.headers.get("If-Match") else None
            elif if_match:
                kwargs["version"] = required_version()
            if query is not None:
                kwargs["query"] = _read_query(query)
            if body is not None:
                kwargs["body"] = _read_body(body, path_args, body_optional)
            return _answer(view(**kwargs), op)

        wrapped.cogrow_operation = op  # type: ignore[attr-defined]
        return wrapped

    return decorator


def operation_of(view: Callable) -> Operation | None:
    return getattr(view, "cogrow_operation", None)


def page_of(model: type[BaseModel]) -> type[Page]:
    """The page model of a resource, named `<Resource>Page` in the OpenAPI document."""
    cached = _pages.get(model)
    if cached is None:
        cached = _pages[model] = type(f"{model.__name__}Page", (Page[model],), {"__module__": model.__module__})  # type: ignore[valid-type]
    return cached


_pages: dict[type[BaseModel], type[Page]] = {}


# --- the OpenAPI document --------------------------------------------------------------------------------------

class ErrorBody(Resource):
    code: str
    message: str
    fields: dict[str, Any]


class Error(Resource):
    """The envelope of every error answer."""

    error: ErrorBody


class Me(Resource):
    organisation_id: int
    organisation_kind: str
    role: str
    user_id: int | None
    token_id: int | None


_PARAM = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_ROLE_TEXT = {"prime": "prime", "supplier": "supplier", None: "either side"}


def _path_and_params(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for match in _PARAM.finditer(rule):
        converter = match.group("converter") or "string"
        schema: dict[str, Any] = ({"type": "integer", "minimum": 1, "maximum": MAX_ID} if converter == "int"
                                  else {"type": "string", "minLength": 1})
        params.append({"name": match.group("name"), "in": "path", "required": True, "schema": schema})
    return _PARAM.sub(lambda m: "{" + m.group("name") + "}", rule), params


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every declared route under /api/v1."""
    entries = []
    models: dict[tuple[type[BaseModel], str], None] = {(Error, "serialization"): None}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        view = app.view_functions[rule.endpoint]
        op = operation_of(view)
        if op is None:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            entries.append((rule, method, view, op))
            for model, mode in ((op.body, "validation"), (op.response, "serialization"),
                                *((m, "serialization") for m in op.also.values())):
                if model is not None:
                    models[(model, mode)] = None
    refs, defs = models_json_schema(list(models), ref_template="#/components/schemas/{model}")
    error_ref = refs[(Error, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    query_defs: dict[str, Any] = {}
    for rule, method, view, op in entries:
        path, params = _path_and_params(rule.rule)
        access = access_of(view)
        item: dict[str, Any] = {"operationId": op.operation_id, "tags": [op.tag]}
        doc = (view.__doc__ or "").strip()
        item["summary"] = op.summary or (_first_sentence(doc) if doc else op.operation_id)
        if doc:
            item["description"] = doc
        if access is None:
            item["security"] = []
        else:
            item["security"] = [{"bearerAuth": []}]
            item["x-cogrow-roles"] = {"side": _ROLE_TEXT.get(access.kind, access.kind), "roles": list(access.roles)}
        if op.query is not None:  # a query model is spelt out as parameters, not listed as a schema
            schema = op.query.model_json_schema(ref_template="#/components/schemas/{model}")
            query_defs.update(schema.get("$defs", {}))
            required = set(schema.get("required", []))
            for name, prop in schema.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
        if getattr(view, "cogrow_idempotent", False):
            params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "description": "Repeat a POST safely: the same key and body get the first answer again.",
                           "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
        if op.if_match:
            required_header = op.if_match != "optional"
            params.append({"name": "If-Match", "in": "header", "required": required_header,
                           "description": "The ETag you last read; a stale one gets 412"
                                          + (", none 428." if required_header else "."),
                           "schema": {"type": "string", "pattern": r'^(W/)?"[0-9]+"$'}})
        if params:
            item["parameters"] = params
        if op.body is not None:
            item["requestBody"] = {"required": not op.body_optional,
                                   "content": {"application/json": {"schema": refs[(op.body, "validation")]}}}
        elif op.upload:
            item["requestBody"] = {"required": True, "content": {
                kind: {"schema": {"type": "object", "required": ["file"],
                                  "properties": {"file": {"type": "string", "format": "binary"}}}}
                if kind == "multipart/form-data" else {"schema": {"type": "string", "format": "binary"}}
                for kind in op.upload}}
        answer: dict[str, Any] = {"description": "OK" if op.status < 300 else "Created"}
        if op.response is not None:
            answer["content"] = {"application/json": {"schema": refs[(op.response, "serialization")]}}
        else:
            answer["description"] = "No content"
        headers = {}
        if op.etag:
            headers["ETag"] = {"description": "The version to send back in If-Match.", "schema": {"type": "string"}}
        if op.response is not None and issubclass(op.response, Page):
            headers["Link"] = {"description": 'The next page, as <url>; rel="next", while there may be one.',
                               "schema": {"type": "string"}}
        if headers:
            answer["headers"] = headers
        if op.links:
            answer["links"] = op.links
        item["responses"] = {str(op.status): answer}
        for status, model in op.also.items():
            extra: dict[str, Any] = {"description": "Accepted" if status == 202 else "OK"}
            if model is not None:
                extra["content"] = {"application/json": {"schema": refs[(model, "serialization")]}}
            item["responses"][str(status)] = extra
        item["responses"] = {**item["responses"],
                             "4XX": {"description": "The request was refused; `fields` names what to fix.",
                                     "content": {"application/json": {"schema": error_ref}}}}
        paths.setdefault(path, {})[method.lower()] = item
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("cogrow")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        release = "0"
    return _named_refs({
        "openapi": "3.1.0",
        "info": {"title": "Cogrow API", "version": release,
                 "description": "Purchase orders, forecasts, production, shipments, coverage and alerts between a "
                                "prime and its suppliers. Decimals travel as strings; errors are "
                                '{"error": {"code", "message", "fields"}}.',
                 "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": {**NAMED_SCHEMAS, **query_defs, **defs.get("$defs", {})},
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                          "description": "An API token from Settings → API tokens."}}},
    })


def _first_sentence(doc: str) -> str:
    """The docstring's first sentence, on one line (docstrings wrap at the code's width)."""
    paragraph = " ".join(doc.split("\n\n")[0].split())
    end = paragraph.find(". ")
    return paragraph if end < 0 else paragraph[:end + 1]


def _named_refs(node: Any) -> Any:
    """Swap each use of a named value list for a $ref to its one component."""
    if isinstance(node, dict):
        if NAMED_MARK in node:
            rest = {k: v for k, v in node.items() if k not in (NAMED_MARK, "type", "enum")}
            return {"$ref": f"#/components/schemas/{node[NAMED_MARK]}", **rest}
        return {key: _named_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_named_refs(value) for value in node]
    return node


@bp.get("/openapi.json")
@public
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API (no sign-in needed)."""
    cached = current_app.extensions.get("cogrow_openapi")
    if cached is None:
        cached = current_app.extensions["cogrow_openapi"] = json.dumps(build_document(current_app), ensure_ascii=False)
    return Response(cached, mimetype="application/json")


@bp.get("/me")
@requires(api=True)
@operation("getMe", tag="accounts", response=Me)
def me() -> Me:
    """Who the API sees: the organisation, role, and user or token of this request."""
    actor = g.actor
    return Me(organisation_id=actor.organisation_id, organisation_kind=actor.org_kind, role=actor.role,
              user_id=actor.user_id, token_id=actor.token_id)

