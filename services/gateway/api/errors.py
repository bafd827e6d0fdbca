"""Every error answers `{"error": {"code", "message"}}` (API.md)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.messaging import RequestFailed, ServiceError

STATUS_BY_CODE = {
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "validation_error": 400,
    "idempotency_conflict": 409,
    "conflict": 409,
    "payload_too_large": 413,
    "rate_limited": 429,
    "unavailable": 503,
    "internal_error": 502,
}
CODE_BY_STATUS = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


def _documented(description: str) -> dict:
    return {"model": ErrorResponse, "description": description}


# The error answers every customer route can give, for the OpenAPI document.
COMMON_RESPONSES: dict[int | str, dict] = {
    400: _documented("invalid request (`validation_error`)"),
    401: _documented("missing or invalid credentials (`unauthenticated`)"),
    403: _documented("session cookie without a valid CSRF token, or a cross-site request (`forbidden`)"),
    404: _documented("no such object for this tenant (`not_found`)"),
    409: _documented("`conflict` or `idempotency_conflict`"),
    413: _documented("body larger than the limit (`payload_too_large`)"),
    415: _documented("body is not JSON (`unsupported_media_type`)"),
    422: _documented("body or parameters do not match the schema (`validation_error`)"),
    429: _documented("rate limit exceeded (`rate_limited`); see `Retry-After`"),
    502: _documented("a backing service failed (`internal_error`)"),
    503: _documented("a backing service did not answer in time (`unavailable`); see `Retry-After`"),
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_json(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError):
        return error_json(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(ServiceError)
    async def _service_error(_req: Request, exc: ServiceError):
        return error_json(STATUS_BY_CODE.get(exc.code, 502), exc.code, exc.message)

    @app.exception_handler(RequestFailed)
    async def _unavailable(_req: Request, exc: RequestFailed):
        return error_json(503, "unavailable", "a backing service did not answer in time", {"Retry-After": "1"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error_json(422, "validation_error", f"{where}: {first.get('msg', 'invalid request')}".strip(": "))

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, _exc: Exception):
        return error_json(500, "internal_error", "unexpected error")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException):
        code = CODE_BY_STATUS.get(exc.status_code, "validation_error" if exc.status_code < 500 else "unavailable")
        return error_json(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))
