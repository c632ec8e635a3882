"""Errors raised by services and views, and how they are answered (JSON under /api, pages elsewhere)."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

logger = logging.getLogger("cogrow.core")


class AppError(Exception):
    """An expected failure with an HTTP status, a stable code and, for bad input, the fields at fault."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str | None = None, fields: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.fields = fields or {}
        self.extra = extra


class BadRequest(AppError):
    status, code = 400, "bad_request"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class PreconditionFailed(AppError):
    status, code = 412, "precondition_failed"


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


class ValidationFailed(AppError):
    status, code = 422, "validation_failed"


class PreconditionRequired(AppError):
    status, code = 428, "precondition_required"


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None, **extra: Any):
    if wants_json():
        body: dict[str, Any] = {"code": code, "message": message, "fields": fields or {}}
        body.update(extra)
        response = jsonify({"error": body})
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="cogrow"'
        return response
    if status == 401:
        return redirect(url_for("accounts.login", next=request.full_path if request.method == "GET" else None))
    return render_template("errors/error.html", status=status, code=code, message=message, fields=fields or {}), status


def register_error_handlers(app: Flask) -> None:
    from cogrow.core import audit

    @app.errorhandler(AppError)
    def handle_app_error(exc: AppError):
        if isinstance(exc, (NotFound, Forbidden)) and g.get("actor") is not None:
            audit.record_denied(g.actor, request.endpoint or request.path, exc.code, exc.message)
        return error_response(exc.status, exc.code, exc.message, exc.fields, **exc.extra)

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        status = exc.code or 500
        code = {
            400: "bad_request", 404: "not_found", 405: "method_not_allowed",
            413: "payload_too_large", 429: "too_many_requests",
        }.get(status, (exc.name or "error").lower().replace(" ", "_"))
        message = exc.description or exc.name
        if status == 413:
            message = _("The request is larger than the limit of %(mb)s MB.", mb=app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024))
        if status == 429:
            # Flask-Limiter's description is the limit itself ("10 per 1 minute"): say what to do instead.
            message = _("Too many requests in a short time (limit: %(limit)s). Wait a minute and try again.",
                        limit=exc.description or "")
        if status == 400 and "CSRF" in (exc.description or ""):
            code, message = "csrf_failed", _("The form expired or was sent from elsewhere. Reload the page and try again.")
        return error_response(status, code, message)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        logger.exception("unhandled error on %s %s", request.method, request.path)
        from cogrow.extensions import db

        db.session.rollback()
        return error_response(500, "internal_error", _("Something went wrong on our side. It has been logged."))
