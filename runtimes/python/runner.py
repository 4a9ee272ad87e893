"""Runs inside an instance, next to the user's code: loads main.py's `app`,
serves it on a Unix socket with uvicorn (ASGI, or WSGI through uvicorn's
adapter) and reports readiness to the platform on file descriptor 3.

Imports nothing from the platform. The protocol is the Node runner's
(runtimes/node/protocol.mts): one JSON line each way, with the constants both
share in protocol.json beside this file (written from protocol.mts).
"""

import asyncio
import importlib
import importlib.machinery
import inspect
import json
import os
import signal
import site
import sys
import threading
import traceback
import types

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "protocol.json"), encoding="utf-8") as spec:
    PROTOCOL = json.load(spec)
control = os.fdopen(PROTOCOL["controlFd"], "r+b", buffering=0)

# Events the platform sends outside of HTTP traffic (`micros run`), as a POST to a path the gateway never lets
# through from outside. Apps register handlers with the `micros` module the runner provides:
#     import micros
#     @micros.run("greet")
#     def greet(event): return {"hello": event["body"]["name"]}
EVENT_PATH = PROTOCOL["eventPath"]
handlers = {"run": {}, "cron": None}


def _run(action=""):
    def register(function):
        handlers["run"][action] = function
        return function

    return register


def _cron():
    def register(function):
        handlers["cron"] = function
        return function

    return register


micros = types.ModuleType("micros")
micros.run = _run
micros.cron = _cron
sys.modules["micros"] = micros


def answer(event, finish):
    """The status and JSON answer for one event; `finish` turns an awaitable result into a value."""
    if event.get("type") == "cron":
        handler = handlers["cron"]
    else:
        handler = handlers["run"].get(event.get("action", ""))
    if handler is None:
        return 404, {"error": f"no {event.get('type')} handler for action \"{event.get('action', '')}\""}
    try:
        result = handler(event)
        return 200, {"result": finish(result) if inspect.isawaitable(result) else result}
    except Exception as error:  # the handler's failure goes back to the caller, the traceback to the logs
        traceback.print_exc()
        return 500, {"error": f"{type(error).__name__}: {error}"}


def with_events_asgi(app):
    async def wrapped(scope, receive, send):
        if scope["type"] != "http" or scope["path"] != EVENT_PATH or scope["method"] != "POST":
            return await app(scope, receive, send)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        results = []
        status, payload = answer(json.loads(body or b"{}"), results.append)
        if results:
            try:
                payload = {"result": await results[0]}
            except Exception as error:
                traceback.print_exc()
                status, payload = 500, {"error": f"{type(error).__name__}: {error}"}
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(payload).encode()})

    return wrapped


def with_events_wsgi(app):
    def wrapped(environ, start_response):
        if environ.get("PATH_INFO") != EVENT_PATH or environ.get("REQUEST_METHOD") != "POST":
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        # WSGI runs in a worker thread with no event loop: an async handler gets one of its own.
        status, payload = answer(json.loads(environ["wsgi.input"].read(length) or b"{}"), asyncio.run)
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", [("Content-Type", "application/json")])
        return [json.dumps(payload).encode()]

    return wrapped


def send(message):
    control.write((json.dumps(message) + "\n").encode())


def fail(code, message):
    send({"type": "failed", "code": code, "message": message[: PROTOCOL["maxReasonChars"]]})
    sys.exit(1)


def read_start():
    line = b""
    while not line.endswith(b"\n"):
        chunk = control.read(1)
        if not chunk:
            sys.exit("the platform closed the control channel before start")
        line += chunk
    return json.loads(line)


def interface_of(app):
    """ASGI apps are async callables of (scope, receive, send); WSGI apps take (environ, start_response)."""
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else getattr(app, "__call__", None)
    if call is None:
        return None
    if inspect.iscoroutinefunction(call):
        return "asgi3"
    try:
        parameters = len(inspect.signature(call).parameters)
    except (TypeError, ValueError):
        return None
    return {3: "asgi3", 2: "wsgi"}.get(parameters)


# Imported while the runner waits for its app, so a first request does not pay for them: the server this runner
# runs, and the frameworks most apps use when this machine has them.
PRELOAD = [
    "uvicorn",
    "uvicorn.config",
    "uvicorn.server",
    "uvicorn.lifespan.on",
    "uvicorn.loops.asyncio",
    "uvicorn.protocols.http.h11_impl",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.websockets_impl",
    "uvicorn.protocols.websockets.wsproto_impl",
    "uvicorn.middleware.proxy_headers",
    "uvicorn.middleware.wsgi",
    "flask",
    "fastapi",
]


def preload():
    """Imports PRELOAD; returns the top-level packages that came with it (outside the standard library)."""
    before = set(sys.modules)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # absent or broken here: the app imports what it needs itself
            pass
    roots = {name.split(".")[0] for name in set(sys.modules) - before}
    return roots - set(sys.stdlib_module_names)


def use_environment(app_dir, preloaded):
    """Puts the release's virtual environment first on the path, as its own interpreter would. A package the
    environment installs itself replaces the machine's copy: everything preloaded is then imported afresh."""
    packages = os.path.join(app_dir, ".venv", "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages")
    if not os.path.isdir(packages):
        return
    before = list(sys.path)
    site.addsitedir(packages)
    added = [entry for entry in sys.path if entry not in before]
    # After the standard library, before the machine's packages: where a venv's own interpreter puts them.
    system = set(site.getsitepackages())
    at = next((i for i, entry in enumerate(before) if entry in system), len(before))
    sys.path[:] = before[:at] + added + before[at:]
    if any(importlib.machinery.PathFinder.find_spec(root, [packages]) for root in preloaded):
        for name in list(sys.modules):
            if name.split(".")[0] in preloaded:
                del sys.modules[name]


def load_app(start):
    sys.path.insert(0, start["appDir"])
    module_name = start["entry"][: -len(".py")]
    try:
        module = importlib.import_module(module_name)
    except BaseException as error:  # the app's own failure, whatever it is
        traceback.print_exc()
        first = f"{type(error).__name__}: {error}".splitlines()[0]
        fail("ERR_APP_CRASHED", f"{start['entry']} raised while loading: {first}")
    app = getattr(module, "app", None)
    interface = interface_of(app) if app is not None else None
    if interface is None:
        found = "no module-level `app`" if app is None else f"an `app` of type {type(app).__name__}"
        fail(
            "ERR_UNSUPPORTED_FRAMEWORK",
            f"Unsupported framework: {start['entry']} has {found}. Define `app` at module level: "
            "an ASGI app (FastAPI, Starlette) or a WSGI app (Flask, Bottle).",
        )
    return app, interface


def leave_with_the_platform():
    """The platform holds the other end of the control channel: if it goes away, so do we."""
    while control.read(4096):
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def main():
    preloaded = preload()
    start = read_start()
    os.environ.update(start["env"])
    os.chdir(start["appDir"])
    use_environment(start["appDir"], preloaded)
    # Libraries Deta pre-installed in every micro (`deta`): last on the path, so an app's own copy wins.
    sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

    import uvicorn

    app, interface = load_app(start)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            # Lifespan startup has run and the socket is bound: ready, unless startup failed.
            if not self.should_exit:
                send({"type": "ready"})

    config = uvicorn.Config(
        with_events_asgi(app) if interface == "asgi3" else with_events_wsgi(app),
        uds=start["socketPath"],
        interface=interface,
        lifespan="auto",
        log_level="warning",
        access_log=False,
        # The gateway sets X-Forwarded-For itself and drops what clients send, so it can be trusted.
        proxy_headers=True,
        forwarded_allow_ips="*",
        timeout_keep_alive=65,
    )
    threading.Thread(target=leave_with_the_platform, daemon=True).start()
    server = Server(config)
    asyncio.run(server.serve())
    if not server.started:
        fail("ERR_APP_CRASHED", "The app's startup failed (see `micros logs` for the lifespan error).")


if __name__ == "__main__":
    main()
