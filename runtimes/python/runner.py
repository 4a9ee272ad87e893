"""Runs inside an instance, next to the user's code: loads main.py's `app`,
serves it on a Unix socket with uvicorn (ASGI, or WSGI through uvicorn's
adapter) and reports readiness to the platform on file descriptor 3.

Imports nothing from the platform. The protocol is the Node runner's
(runtimes/node/protocol.mts): one JSON line each way.
"""

import asyncio
import importlib
import inspect
import json
import os
import signal
import sys
import threading
import traceback

CONTROL_FD = 3
control = os.fdopen(CONTROL_FD, "r+b", buffering=0)


def send(message):
    control.write((json.dumps(message) + "\n").encode())


def fail(code, message):
    send({"type": "failed", "code": code, "message": message})
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
    start = read_start()
    os.environ.update(start["env"])
    os.chdir(start["appDir"])

    import uvicorn  # after the environment is set: the app's settings may be read at import

    app, interface = load_app(start)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            # Lifespan startup has run and the socket is bound: ready, unless startup failed.
            if not self.should_exit:
                send({"type": "ready"})

    config = uvicorn.Config(
        app,
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
