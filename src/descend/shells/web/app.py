"""The playground's HTTP and WebSocket API (FastAPI), and the static page.

Endpoints
---------
``GET /``                               the page (static, served from package data)
``GET /api/options``                    datasets, models, losses, optimizers, schedules, limits,
                                        and the run settings' controls (``controls.py``)
``POST /api/upload``                    a CSV file (multipart field ``file``) → columns, rows
``POST /api/runs``                      settings → a new run (data, advice, reference, status)
``GET /api/runs/{id}``                  the run's full description
``DELETE /api/runs/{id}``               forget it
``POST /api/runs/{id}/step``            ``{"n": k}`` → k updates (batched, thinned)
``POST /api/runs/{id}/learning-rate``   ``{"learning_rate": lr}`` → new rate, no reset
``POST /api/runs/{id}/reset``           back to θ₀, fresh optimizer state
``GET /api/runs/{id}/contour``          ``?i=&j=&n=`` → the loss grid over θ_i, θ_j and the path
                                        (abandoned when the page disconnects, a newer contour
                                        of the run starts, or the run is removed)
``WS /api/runs/{id}/ws``                run / pause / step / set_lr / reset / speed / pair;
                                        the server streams throttled update messages

Every error is an HTTP 4xx with ``{"detail": "<a sentence saying what and why>"}``. Requests
pass :class:`~descend.shells.web.guard.Guard` first: allowed Host, same-site Origin, and the
page's token (``X-Descend-Token``) on every state-changing request.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, File, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model
from pydantic_core import PydanticCustomError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from descend.data import datasets
from descend.data.synthetic import CLASS_KINDS, KINDS
from descend.descent import optim, schedules
from descend.problems.losses import LOSSES
from descend.shells.web import controls
from descend.shells.web.controls import Control
from descend.shells.web.guard import Guard, allowed_hosts
from descend.shells.web.limits import LimitError, Limits
from descend.shells.web.outbox import Outbox
from descend.shells.web.runs import Run, RunManager, clean

__all__ = ["create_app", "run_model", "RunIn", "STATIC_DIR"]

#: the page, its script and the vendored plotting library
STATIC_DIR = Path(str(resources.files("descend.shells.web") / "static"))

log = logging.getLogger("descend.shells.web")

_ACTIONS = ("run", "pause", "step", "set_lr", "reset", "speed", "pair")


# ---------------------------------------------------------------------------------------------
# request bodies
# ---------------------------------------------------------------------------------------------
class DataIn(BaseModel):
    """Where the data comes from."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    source: Literal["dataset", "synthetic", "upload"] = "dataset"
    name: str | None = Field(default=None, max_length=40, description="embedded dataset")
    kind: Literal["linear", "poly", "moons", "blobs"] = Field(
        default="linear",
        description="synthetic shape: linear or poly (regression), moons or blobs (two classes "
        "in the plane, for loss logloss)",
    )
    n: int = Field(default=50, ge=2, description="synthetic rows (moons, blobs: at least 4)")
    noise: float = Field(default=1.0, ge=0, le=1e6)
    outliers: float = Field(default=0.0, ge=0, le=0.5, description="regression shapes only")
    degree: int = Field(default=3, ge=1, description="poly only")
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    upload_id: str | None = Field(default=None, max_length=64)
    x: list[str] | None = Field(default=None, max_length=100)
    y: str | None = Field(default=None, max_length=200)


class _RunBase(BaseModel):
    """A run's settings: data, model, loss, optimizer; :func:`run_model` adds the controls."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    data: DataIn = Field(default_factory=DataIn)
    model: str | None = Field(default=None, max_length=40)
    loss: str = Field(default="mse", max_length=20)
    optimizer: str = Field(default="gd", max_length=20)
    hyper: dict[str, float] = Field(default_factory=dict, max_length=10)


#: longest string a choice control takes (its receiver checks the name itself)
_CHOICE_LENGTH = 40


def _bounds(c: Control) -> dict[str, Any]:
    """A control's bounds as pydantic's ``ge``/``gt``/``le``."""
    out: dict[str, Any] = {}
    if c.minimum is not None:
        out["gt" if c.exclusive_minimum else "ge"] = c.minimum
    if c.maximum is not None:
        out["le"] = c.maximum
    return out


def _or_auto(c: Control) -> Callable[[Any], Any]:
    """A validator for a number that may also be "auto" (one clear message, not one per type)."""
    low = "" if c.minimum is None else (">" if c.exclusive_minimum else "≥") + f" {c.minimum:g}"
    high = "" if c.maximum is None else f"≤ {c.maximum:g}"
    rule = " and ".join(r for r in (low, high) if r)
    expected = f'a number{" " + rule if rule else ""} or "auto"'

    def check(value: Any) -> Any:
        if value == "auto" or (value is None and c.optional):
            return value
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):
                number = float(value)
        ok = number is not None and math.isfinite(number)
        if ok and number is not None and c.minimum is not None:
            ok = number > c.minimum if c.exclusive_minimum else number >= c.minimum
        if ok and number is not None and c.maximum is not None:
            ok = number <= c.maximum
        if not ok:
            raise PydanticCustomError(
                "number_or_auto",
                "must be {expected}, got {value}",
                {"expected": expected, "value": repr(value)},
            )
        return number

    return check


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


def _field(c: Control) -> tuple[Any, Any]:
    """A control as a pydantic field: its type, default, bounds and help."""
    info: dict[str, Any] = {"default": c.default, "description": c.help or None}
    annotation: Any
    if c.auto:
        annotation = Annotated[float | Literal["auto"], BeforeValidator(_or_auto(c))]
        if c.optional:
            annotation = annotation | None
        return annotation, Field(**info)
    if c.kind == "choice":
        annotation = Annotated[str, Field(max_length=_CHOICE_LENGTH)]
        if c.optional:
            annotation = Annotated[annotation | None, BeforeValidator(_blank_is_none)]
        return annotation, Field(**info)
    annotation = {"number": float, "integer": int, "boolean": bool}[c.kind]
    if c.optional:
        annotation = annotation | None
    return annotation, Field(**info, **({} if c.kind == "boolean" else _bounds(c)))


def run_model(table: tuple[Control, ...] | None = None) -> type[BaseModel]:
    """The body of ``POST /api/runs``: data, model, loss, optimizer, hyper, and one field per
    control of ``table`` (default :data:`controls.CONTROLS`, read now), ``extra="forbid"``."""
    table = controls.CONTROLS if table is None else table
    fields: dict[str, Any] = {c.name: _field(c) for c in table}
    return create_model("RunIn", __base__=_RunBase, __doc__="A run's settings.", **fields)


#: a run's settings for the table as imported (:func:`create_app` builds its own from the table
#: as it is then)
RunIn = run_model()


class StepIn(BaseModel):
    """Body of a step request: advance the run by ``n`` ≥ 1 steps."""

    model_config = ConfigDict(extra="forbid")
    n: int = Field(default=1, ge=1)


class RateIn(BaseModel):
    """Body of a learning-rate change: a finite rate within the learning-rate control's bounds
    (0, 1e6]."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    learning_rate: Annotated[float, Field(**_bounds(controls.get("learning_rate")))]


class ErrorOut(BaseModel):
    """Every error answer: one sentence saying what and why."""

    detail: str


_ERR = {"model": ErrorOut}
#: the answers every API route may give besides its success (declared in the OpenAPI schema)
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**_ERR, "description": "a body that does not parse, or a Host this server refuses"},
    403: {**_ERR, "description": "cross-site request, or no/wrong X-Descend-Token"},
    404: {**_ERR, "description": "no such run or upload"},
    409: {**_ERR, "description": "a contour abandoned: a newer one of the run replaced it"},
    413: {**_ERR, "description": "body or upload over the size limit"},
    422: {**_ERR, "description": "invalid settings, data or parameters"},
    429: {**_ERR, "description": "too many runs at once"},
}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _fail(exc: Exception) -> JSONResponse:
    """A library or limit error as a 4xx answer with its message."""
    if isinstance(exc, LimitError):
        return _error(exc.status, str(exc))
    if isinstance(exc, KeyError):
        return _error(404, "no such run: it ended, expired or never existed; start a new one")
    msg = str(exc.args[0]) if exc.args else type(exc).__name__
    return _error(422, msg)


_EXPECTED = (LimitError, ValueError, TypeError, KeyError)


class BodyLimit:
    """Refuse request bodies over a size before anything reads them (HTTP 413)."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_upload = scope.get("path", "") == "/api/upload"
        cap = self.limits.max_upload_bytes + 65_536 if is_upload else self.limits.max_message_bytes
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > cap
            except ValueError:
                too_big = True
            if too_big:
                what = "upload" if is_upload else "request body"
                limit = self.limits.max_upload_bytes if is_upload else cap
                response = _error(413, f"the {what} is too large: the limit is {limit:,} bytes")
                await response(scope, receive, send)
                return
        seen = 0

        async def capped_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:  # a chunked body without a length: stop reading it
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, capped_receive, send)


def _options(manager: RunManager) -> dict[str, Any]:
    sets = []
    for name in datasets.names():
        d = datasets.load(name)
        sets.append(
            {
                "name": name,
                "title": d.title,
                "model": d.model,
                "rows": int(d.X.shape[0]),
                "cols": int(d.X.shape[1]),
                "difficulty": d.difficulty,
            }
        )
    optimizers = optim.describe()
    scheds = [{"name": s["name"], "summary": s["summary"]} for s in schedules.describe()]
    return clean(
        {
            "datasets": sets,
            "default_dataset": datasets.DEFAULT,
            "models": ["linear", "linear-nointercept", "poly:D", "mlp:H1,H2"],
            "losses": list(LOSSES),
            "optimizers": optimizers,
            "schedules": scheds,
            "synthetic_kinds": list(KINDS),
            "classification_kinds": list(CLASS_KINDS),
            "limits": manager.limits.to_dict(),
            # the run settings the page renders (controls.py), their caps resolved
            "controls": [c.to_dict(manager.limits) for c in manager.controls],
        }
    )


# ---------------------------------------------------------------------------------------------
# the app
# ---------------------------------------------------------------------------------------------
def create_app(
    limits: Limits | None = None, hosts: Iterable[str] = (), token: str | None = None
) -> FastAPI:
    """Build the playground application.

    Parameters
    ----------
    limits : Limits, optional
        Caps on uploads, sizes, steps and concurrent runs (defaults: :class:`Limits`).
    hosts : iterable of str
        Host names the server answers to besides 127.0.0.1, localhost and [::1] (the
        ``--host`` it binds); see :mod:`descend.shells.web.guard`.
    token : str, optional
        The token state-changing requests must carry (default: a fresh random one).

    Returns
    -------
    FastAPI
        ``app.state.manager`` holds the runs, ``app.state.token`` the token.
    """
    token = token or secrets.token_urlsafe(24)
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    page = page.replace('content="__DESCEND_TOKEN__"', f'content="{html.escape(token)}"')
    manager = RunManager(limits)
    lim = manager.limits
    run_in = run_model(manager.controls)  # the controls as they are now (tests patch them)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def reaper() -> None:
            while True:
                await asyncio.sleep(max(1.0, min(30.0, lim.idle_timeout_s / 2)))
                manager.purge()

        task = asyncio.create_task(reaper())
        try:
            yield
        finally:
            task.cancel()

    app = FastAPI(
        title="descend playground",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.manager = manager
    app.state.token = token
    app.add_middleware(BodyLimit, limits=lim)
    app.add_middleware(Guard, hosts=allowed_hosts(hosts), token=token)  # outermost: runs first
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
            parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else err.get("msg", ""))
        return _error(422, "invalid request: " + "; ".join(parts))

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        # the page carries the token; only a same-origin page can read it
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.get("/api/options", responses=ERRORS)
    async def options() -> JSONResponse:
        return JSONResponse(_options(manager))

    @app.post("/api/upload", responses=ERRORS)
    async def upload(file: UploadFile = File(...)) -> JSONResponse:  # noqa: B008
        content = await file.read(lim.max_upload_bytes + 1)
        await file.close()
        try:
            up = await run_in_threadpool(manager.add_upload, file.filename, content)
        except _EXPECTED as exc:
            return _fail(exc)
        return JSONResponse(
            {"upload_id": up.id, "name": up.name, "columns": up.columns, "rows": up.rows}
        )

    @app.post("/api/runs", responses=ERRORS, status_code=201)
    async def create_run(body: dict[str, Any] = Body(...)) -> JSONResponse:  # noqa: B008
        try:
            settings = run_in.model_validate(body)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        try:
            run = await run_in_threadpool(manager.create, settings.model_dump())
            return JSONResponse(run.describe(), status_code=201)
        except _EXPECTED as exc:
            return _fail(exc)

    async def _with_run(run_id: str, fn: Callable[[Run], Any], thread: bool = True) -> JSONResponse:
        try:
            run = manager.get(run_id)
            result = await run_in_threadpool(fn, run) if thread else fn(run)
            return JSONResponse(result)
        except _EXPECTED as exc:
            return _fail(exc)

    @app.get("/api/runs/{run_id}", responses=ERRORS)
    async def get_run(run_id: str) -> JSONResponse:
        return await _with_run(run_id, lambda r: r.describe())

    @app.delete("/api/runs/{run_id}", responses=ERRORS)
    async def delete_run(run_id: str) -> JSONResponse:
        if not manager.remove(run_id):
            return _fail(KeyError(run_id))
        return JSONResponse({"deleted": run_id})

    @app.post("/api/runs/{run_id}/step", responses=ERRORS)
    async def step(run_id: str, body: StepIn) -> JSONResponse:
        return await _with_run(run_id, lambda r: r.step(body.n))

    @app.post("/api/runs/{run_id}/learning-rate", responses=ERRORS)
    async def learning_rate(run_id: str, body: RateIn) -> JSONResponse:
        return await _with_run(run_id, lambda r: r.set_learning_rate(body.learning_rate))

    @app.post("/api/runs/{run_id}/reset", responses=ERRORS)
    async def reset(run_id: str) -> JSONResponse:
        return await _with_run(run_id, lambda r: r.reset())

    @app.get("/api/runs/{run_id}/contour", responses=ERRORS)
    async def contour(
        request: Request, run_id: str, i: int = 0, j: int = 1, n: int = 40
    ) -> JSONResponse:
        gone = threading.Event()  # set when the page disconnects: the grid stops early

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        try:
            return await _with_run(run_id, lambda r: r.contour(i, j, n, gone))
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher

    @app.websocket("/api/runs/{run_id}/ws")
    async def stream(ws: WebSocket, run_id: str) -> None:
        await _stream(ws, run_id, manager)

    return app


# ---------------------------------------------------------------------------------------------
# the WebSocket: commands in, throttled updates out
# ---------------------------------------------------------------------------------------------
def json_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in JSON text (brackets inside strings not counted),
    found without parsing: deep input never reaches the recursive parser."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _parse_command(text: str, lim: Limits) -> dict[str, Any]:
    size = len(text.encode("utf-8"))
    if size > lim.max_message_bytes:
        raise LimitError(f"command too long ({size:,} bytes; limit {lim.max_message_bytes:,})")
    if json_depth(text) > lim.max_message_depth:
        raise LimitError(
            f"command nested too deeply (more than {lim.max_message_depth} levels); commands "
            'are flat JSON objects, e.g. {"action": "step", "n": 10}'
        )
    try:
        msg = json.loads(text)
    except ValueError:
        raise LimitError('commands are JSON objects, e.g. {"action": "run"}') from None
    if not isinstance(msg, dict):
        raise LimitError('commands are JSON objects, e.g. {"action": "run"}')
    if msg.get("action") not in _ACTIONS:
        raise LimitError(f"unknown action {msg.get('action')!r}; use one of {', '.join(_ACTIONS)}")
    return msg


async def _stream(ws: WebSocket, run_id: str, manager: RunManager) -> None:
    lim = manager.limits
    try:
        run = manager.get(run_id)
    except KeyError:
        await ws.close(code=4404, reason="no such run")
        return
    await ws.accept()
    run.sockets += 1
    queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=lim.max_queued_commands)
    outbox = Outbox(ws, lim.max_queued_frames, lim.send_timeout_s)
    outbox.start()

    def _send(payload: dict[str, Any]) -> None:
        outbox.offer(payload)

    async def reader() -> None:
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    text = (message.get("bytes") or b"").decode("utf-8", "replace")
                try:
                    queue.put_nowait(text)
                except asyncio.QueueFull:  # commands faster than they are answered
                    outbox.offer(
                        {"type": "error", "detail": "too many commands at once; slow down"}
                    )
        except Exception:  # any transport failure ends the session the same way
            pass
        finally:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
            stop.set()

    stop = asyncio.Event()  # the reader ended (the page went away)
    reader_task = asyncio.create_task(reader())
    interval = 1.0 / lim.messages_per_second
    running = False
    speed = 200.0
    credit = 0.0
    last_command = time.monotonic()
    next_tick = time.monotonic()

    async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
        return await run_in_threadpool(fn, *args)

    async def tick() -> None:
        nonlocal running, credit
        credit = min(credit + speed * interval, max(2.0 * speed * interval, 1.0))
        n = int(credit)
        if n < 1 or outbox.congested:
            return  # the page has not read the last frames: the next one carries these steps
        n = min(n, lim.max_steps_per_request)
        payload = await in_thread(run.step, n, 0.8 * interval)
        credit -= payload["n_steps"] if payload["n_steps"] else n
        _send(payload)
        status = payload["status"]
        if status["stop_reason"] is not None or payload["n_steps"] == 0:
            running = False

    handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {}

    async def on_run(msg: dict[str, Any]) -> None:
        nonlocal running
        if "speed" in msg:
            await on_speed({"value": msg["speed"]})
        if run.session.stopped:
            _send({"type": "status", "status": run.status()})
            return
        running = True

    async def on_pause(msg: dict[str, Any]) -> None:
        nonlocal running
        running = False
        _send({"type": "status", "status": run.status()})

    async def on_step(msg: dict[str, Any]) -> None:
        n = msg.get("n", 1)
        payload = await in_thread(run.step, n)
        _send(payload)

    async def on_set_lr(msg: dict[str, Any]) -> None:
        status = await in_thread(run.set_learning_rate, msg.get("value"))
        _send({"type": "status", "status": status})

    async def on_reset(msg: dict[str, Any]) -> None:
        nonlocal running, credit
        running, credit = False, 0.0
        payload = await in_thread(run.reset)
        _send({"type": "reset", **payload})

    async def on_speed(msg: dict[str, Any]) -> None:
        nonlocal speed
        value = msg.get("value")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 1 <= value <= lim.max_steps_per_second
        ):
            raise LimitError(
                f"speed is steps per second, from 1 to {lim.max_steps_per_second}; got {value!r}"
            )
        speed = float(value)

    async def on_pair(msg: dict[str, Any]) -> None:
        run.set_pair(msg.get("i"), msg.get("j"))
        _send({"type": "pair", "pair": list(run.pair)})

    handlers.update(
        run=on_run,
        pause=on_pause,
        step=on_step,
        set_lr=on_set_lr,
        reset=on_reset,
        speed=on_speed,
        pair=on_pair,
    )

    close_code, close_reason = 1000, "bye"
    try:
        _send({"type": "hello", "status": run.status()})
        while True:
            now = time.monotonic()
            if manager.runs.get(run_id) is not run:
                close_code, close_reason = 4404, "the run was removed"
                break
            if outbox.failed or stop.is_set() and queue.empty():
                break  # the page stopped reading for send_timeout_s, or went away
            if now - max(outbox.last_sent, last_command) >= lim.idle_timeout_s:
                # frames have not gone out and no command came for the idle timeout: the slot
                # is freed whatever the socket does
                close_code, close_reason = 1008, "idle timeout"
                break
            if running:
                timeout = max(0.0, next_tick - now)
            else:
                timeout = max(0.0, lim.idle_timeout_s - (now - last_command))
            timeout = min(timeout, 1.0)  # look at the outbox and the clock at least every second
            try:
                text = await asyncio.wait_for(queue.get(), timeout)
            except TimeoutError:
                text = ""
            if text is None:
                break  # the page went away
            now = time.monotonic()
            if text:
                last_command = now
                try:
                    msg = _parse_command(text, lim)
                    await handlers[msg["action"]](msg)
                except _EXPECTED as exc:
                    detail = str(exc.args[0]) if exc.args else type(exc).__name__
                    _send({"type": "error", "detail": detail})
                except (WebSocketDisconnect, asyncio.CancelledError):
                    raise
                except Exception:  # a bug answering one command: say so, keep the run
                    log.exception("playground command failed on run %s", run_id)
                    _send({"type": "error", "detail": "the server failed on that command"})
            elif not running and now - last_command >= lim.idle_timeout_s:
                _send(
                    {"type": "closing", "detail": f"idle for {lim.idle_timeout_s:g} s; run ended"},
                )
                close_reason = "idle timeout"
                break
            if running and time.monotonic() >= next_tick:
                next_tick = time.monotonic() + interval
                await tick()
    except WebSocketDisconnect:
        pass
    except Exception:  # a broken socket or a bug must still free the run below
        log.exception("playground socket for run %s failed", run_id)
    finally:
        run.sockets -= 1
        manager.remove(run_id)
        await outbox.close(close_code, close_reason)
        reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader_task
