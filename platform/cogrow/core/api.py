"""The JSON API blueprint and its edge: strict body parsing, versions in ETag / If-Match, paging."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from cogrow.core.auth import requires
from cogrow.core.errors import BadRequest, PreconditionRequired, UnsupportedMediaType
from cogrow.core.validation import MAX_ID, parse_int
from cogrow.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_PAGE = 500


@bp.before_request
def _csrf_for_sessions() -> None:
    """Bearer-token clients are not browsers; a browser session must still prove the request is its own."""
    if (current_app.config["WTF_CSRF_ENABLED"] and g.get("actor") is not None and g.actor.token_id is None
            and request.method not in ("GET", "HEAD", "OPTIONS")):
        csrf.protect()


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
    """Parse the request body as one JSON object, refusing what a lenient parser would let through."""
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


def etag(version: int) -> str:
    return f'"{version}"'


def required_version() -> int:
    """The version the client last saw, from If-Match; edits without one are refused."""
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired("Send If-Match with the ETag you last read.", fields={"If-Match": "required"})
    value = header.strip()
    if value.startswith("W/"):
        value = value[2:]
    parsed = parse_int(value.strip('"'), minimum=0, maximum=MAX_ID)
    if isinstance(parsed, str):
        raise BadRequest("If-Match must be an ETag this API gave out.", fields={"If-Match": "malformed"})
    return parsed


def page_args() -> tuple[int, int]:
    """limit and offset from the query string, bounded so that a page costs the same at any size."""
    errors = {}
    values = {}
    for name, default, ceiling in (("limit", 100, MAX_PAGE), ("offset", 0, 10**9)):
        raw = request.args.get(name)
        if raw is None:
            values[name] = default
            continue
        parsed = parse_int(raw, minimum=1 if name == "limit" else 0, maximum=ceiling)
        if isinstance(parsed, str):
            errors[name] = f"must be a whole number from {1 if name == 'limit' else 0} to {ceiling}"
            continue
        values[name] = parsed
    if errors:
        raise BadRequest("Bad paging parameters.", fields=errors)
    return values["limit"], values["offset"]


def decimal_str(value: Decimal | None) -> str | None:
    """Decimals go out as strings so no client reads them as floats."""
    if value is None:
        return None
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f").rstrip("0").rstrip(".")



@bp.get("/me")
@requires(api=True)
def me():
    """Who the API sees: the organisation, role, and user or token of this request."""
    actor = g.actor
    return jsonify({"organisation_id": actor.organisation_id, "organisation_kind": actor.org_kind,
                    "role": actor.role, "user_id": actor.user_id, "token_id": actor.token_id})
