"""The `deta` library Deta pre-installed in every micro, for apps that do not ship their own:
`from deta import Deta, App, app`. Base and Drive speak Deta's HTTP API (docs/api.md) as Deta's Python SDK
did; `App(app)` adds `app.lib.cron` and `app.lib.run`, registered with the runner's `micros` events. The
standard library only: it runs next to the app. The runner puts this folder last on sys.path, so an app's
own `deta` wins.
"""

import datetime
import http.client
import io
import json
import os
import ssl
import threading
import urllib.error
import urllib.parse

__all__ = ["Deta", "Base", "Drive", "App", "app"]


_tls = None
_tls_lock = threading.Lock()


def _tls_context():
    """One TLS context for the process: making one reads every CA of the bundle (tens of milliseconds), which
    every call paid before, and it is safe to share between threads, unlike a connection."""
    global _tls
    with _tls_lock:
        if _tls is None:
            _tls = ssl.create_default_context()
        return _tls


def _key(project_key=None):
    key = (project_key or os.environ.get("DETA_PROJECT_KEY") or "").strip()
    if not key:
        raise AssertionError("No project key defined")
    return key


class _Service:
    def __init__(self, key, name, host, default_host, path_prefix=""):
        name = (name or "").strip()
        if not name:
            raise AssertionError("No name provided")
        self._key = key
        self._host = (host or "").strip() or default_host
        self._path = f"/v1/{key.split('_')[0]}/{urllib.parse.quote(name)}"

    def _request(self, method, path, body=None, content_type="application/json", raw=False):
        """(status, parsed JSON or, when `raw` or not JSON, the bytes); a failure is for the caller to raise."""
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
        connection = http.client.HTTPSConnection(self._host, timeout=30, context=_tls_context())
        try:
            headers = {"X-API-Key": self._key, "Content-Type": content_type}
            connection.request(method, self._path + path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            kind = response.getheader("Content-Type", "")
        finally:
            connection.close()
        if "json" in kind and not raw:
            try:
                return response.status, json.loads(data or b"null")
            except ValueError:
                pass
        return response.status, data

    def _fail(self, status, body, message=None):
        """Deta's SDK raised urllib.error.HTTPError for every failure but a 404, and apps catch it by its `code`;
        its message here is Deta's own error rather than the status's bare reason."""
        errors = body.get("errors") if isinstance(body, dict) else None
        message = message or (errors[0] if errors else http.client.responses.get(status, "Error"))
        raise urllib.error.HTTPError(f"https://{self._host}{self._path}", status, message, None, None)


class _Action:
    def __init__(self, operation, value=None):
        self.operation = operation
        self.value = value


class _Util:
    Trim = _Action

    def trim(self):
        return _Action("trim")

    def increment(self, value=None):
        return _Action("increment", value or 1)  # as Deta's: no value (or 0) is 1

    def append(self, value):
        return _Action("append", value if isinstance(value, (list, tuple)) else [value])

    def prepend(self, value):
        return _Action("prepend", value if isinstance(value, (list, tuple)) else [value])


class FetchResponse:
    """One page of a query, as Deta's SDK answered: `count`, `last` (None on the last page) and `items`."""

    def __init__(self, count=0, last=None, items=None):
        self.count = count
        self.last = last
        self.items = items or []

    def __eq__(self, other):
        return isinstance(other, FetchResponse) and (self.count, self.last, self.items) == (other.count, other.last, other.items)

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def _item(data, key=None, expire_in=None, expire_at=None):
    item = dict(data) if isinstance(data, dict) else {"value": data}
    if key:
        item["key"] = key
    # Deta's rules: not both; a datetime counts in whole seconds; nothing at all (or 0) means no expiry.
    if expire_in and expire_at:
        raise ValueError("both expire_in and expire_at provided")
    if expire_in:
        expire_at = datetime.datetime.now() + datetime.timedelta(seconds=expire_in)
    if isinstance(expire_at, datetime.datetime):
        expire_at = expire_at.replace(microsecond=0).timestamp()
    if expire_at and not isinstance(expire_at, (int, float)):
        raise TypeError("expire_at must be an int, a float or a datetime")
    if expire_at:
        item["__expires"] = int(expire_at)
    return item


class _Base(_Service):
    def __init__(self, key, name, host=None):
        super().__init__(key, name, host or os.environ.get("DETA_BASE_HOST"), "database.deta.sh")
        self.util = _Util()

    def _key_path(self, key):
        if not isinstance(key, str) or not key.strip():
            raise ValueError("Key is empty")
        return "/items/" + urllib.parse.quote(key.strip(), safe="")

    def put(self, data, key=None, *, expire_in=None, expire_at=None):
        status, body = self._request("PUT", "/items", {"items": [_item(data, key, expire_in, expire_at)]})
        if status >= 400:
            self._fail(status, body)
        return (body.get("processed") or {}).get("items", [None])[0]

    def put_many(self, items, *, expire_in=None, expire_at=None):
        if len(items) > 25:
            raise AssertionError("We can't put more than 25 items at a time.")
        status, body = self._request("PUT", "/items", {"items": [_item(i, None, expire_in, expire_at) for i in items]})
        if status >= 400:
            self._fail(status, body)
        return body

    def get(self, key):
        status, body = self._request("GET", self._key_path(key))
        if status == 404:
            return None
        if status >= 400:
            self._fail(status, body)
        return body

    def delete(self, key):
        status, body = self._request("DELETE", self._key_path(key))
        if status >= 400:
            self._fail(status, body)

    def insert(self, data, key=None, *, expire_in=None, expire_at=None):
        item = _item(data, key, expire_in, expire_at)
        status, body = self._request("POST", "/items", {"item": item})
        if status == 409:
            self._fail(status, body, f"Item with key '{item.get('key')}' already exists")
        if status >= 400:
            self._fail(status, body)
        return body

    def update(self, updates, key, *, expire_in=None, expire_at=None):
        payload = {"set": {}, "increment": {}, "append": {}, "prepend": {}, "delete": []}
        for field, value in (updates or {}).items():
            action = value if isinstance(value, _Action) else _Action("set", value)
            if action.operation == "trim":
                payload["delete"].append(field)
            else:
                payload[action.operation][field] = action.value
        expiry = _item({}, None, expire_in, expire_at)
        payload["set"].update(expiry)
        status, body = self._request("PATCH", self._key_path(key), payload)
        if status == 404:
            raise Exception(f"Key '{key}' not found")  # Deta's SDK raised this one, not an HTTPError
        if status >= 400:
            self._fail(status, body)

    def fetch(self, query=None, *, limit=1000, last=None, desc=False):
        """One page of at most `limit` items; pass `last` back for the next one, as Deta's Python SDK did."""
        payload = {"query": query if isinstance(query, list) else ([query] if query else []), "limit": limit}
        if last:
            payload["last"] = last
        if desc:
            payload["sort"] = "desc"
        status, body = self._request("POST", "/query", payload)
        if status >= 400:
            self._fail(status, body)
        paging = body.get("paging") or {}
        return FetchResponse(paging.get("size", 0), paging.get("last"), body.get("items", []))


class DriveStreamingBody:
    """A downloaded file, read the ways Deta's SDK offered; the bytes are already here."""

    def __init__(self, data):
        self._stream = io.BytesIO(data)

    @property
    def closed(self):
        return self._stream.closed

    def read(self, size=None):
        return self._stream.read(size)

    def iter_chunks(self, chunk_size=1024):
        return iter(lambda: self._stream.read(chunk_size), b"")

    def iter_lines(self, chunk_size=1024):
        return iter(lambda: self._stream.readline(chunk_size), b"")

    def close(self):
        self._stream.close()


class _Drive(_Service):
    CHUNK = 10 * 1024 * 1024

    def __init__(self, key, name, host=None):
        super().__init__(key, name, host or os.environ.get("DETA_DRIVE_HOST"), "drive.deta.sh")

    def put(self, name, data=None, *, path=None, content_type=None):
        if not name or not name.strip():
            raise AssertionError("No name provided")
        if (data is None) == (path is None):
            raise AssertionError("Please provide data or a path, not both")
        if path is not None:
            with open(path, "rb") as file:
                data = file.read()
        elif isinstance(data, str):
            data = data.encode()
        elif hasattr(data, "read"):
            data = data.read()
        quoted = urllib.parse.quote(name)
        kind = content_type or "binary/octet-stream"
        if len(data) <= self.CHUNK:
            status, body = self._request("POST", f"/files?name={quoted}", bytes(data), kind)
            if status >= 400:
                self._fail(status, body)
            return name
        status, body = self._request("POST", f"/uploads?name={quoted}", b"", kind)
        if status >= 400:
            self._fail(status, body)
        upload = body["upload_id"]
        for part, at in enumerate(range(0, len(data), self.CHUNK), start=1):
            status, body = self._request("POST", f"/uploads/{upload}/parts?name={quoted}&part={part}", bytes(data[at : at + self.CHUNK]), kind)
            if status >= 400:
                self._fail(status, body)
        status, body = self._request("PATCH", f"/uploads/{upload}?name={quoted}")
        if status >= 400:
            self._fail(status, body)
        return name

    def get(self, name):
        """The file as Deta's DriveStreamingBody (`read`, `iter_chunks`, `iter_lines`, `close`), or None."""
        # Raw: a JSON file comes back byte for byte, never parsed and written out again.
        status, body = self._request("GET", f"/files/download?name={urllib.parse.quote(name)}", raw=True)
        if status == 404:
            return None
        if status >= 400:
            self._fail(status, body)
        return DriveStreamingBody(body)

    def list(self, limit=1000, prefix=None, last=None):
        query = urllib.parse.urlencode({"limit": limit, "prefix": prefix or "", "last": last or ""})
        status, body = self._request("GET", f"/files?{query}")
        if status >= 400:
            self._fail(status, body)
        return body

    def delete(self, name):
        if not name or not name.strip():
            raise AssertionError("No name provided")
        status, body = self._request("DELETE", "/files", {"names": [name]})
        if status >= 400:
            self._fail(status, body)
        return (body.get("deleted") or [name])[0]

    def delete_many(self, names):
        if not names:
            raise AssertionError("Names can't be empty")
        if len(names) > 1000:
            raise AssertionError("More than 1000 files to delete")
        status, body = self._request("DELETE", "/files", {"names": names})
        if status >= 400:
            self._fail(status, body)
        return body


class Deta:
    def __init__(self, project_key=None, *, project_id=None):
        self.project_key = _key(project_key)

    def Base(self, name, host=None):
        return _Base(self.project_key, name, host)

    def AsyncBase(self, name, host=None):
        raise NotImplementedError("AsyncBase is not provided by the built-in deta library: add deta to requirements.txt")

    def Drive(self, name, host=None):
        return _Drive(self.project_key, name, host)


def Base(name, host=None):
    return Deta().Base(name, host)


def Drive(name, host=None):
    return Deta().Drive(name, host)


def _adapt(handler):
    def run(event):
        body = event.get("body")
        return handler(_Event(event.get("type", ""), event.get("action", ""), body))

    return run


class _Event:
    """What Deta's handlers got: `type`, `action`, `json` (the input) and `body` (it as a JSON string)."""

    def __init__(self, type, action, json_body):
        self.type = type
        self.action = action
        self.json = json_body
        self.body = json.dumps(json_body)


class _Lib:
    def cron(self):
        def register(function):
            _micros().cron()(_adapt(function))
            return function

        return register

    def run(self, action=""):
        def register(function):
            _micros().run(action)(_adapt(function))
            return function

        return register


def _micros():
    import sys

    micros = sys.modules.get("micros")
    if micros is None:  # outside a micro: handlers are kept nowhere
        return type("micros", (), {"cron": staticmethod(lambda: lambda f: f), "run": staticmethod(lambda action="": lambda f: f)})
    return micros


class _Default:
    """The app `from deta import app` gives: a WSGI app that answers 404, with `lib` for actions and cron."""

    def __call__(self, environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]


def App(application=None):
    """Deta's `App(app)`: the app itself, with `@app.lib.cron()` and `@app.lib.run(action="...")`."""
    application = application if application is not None else _Default()
    application.lib = _Lib()
    return application


app = App()
