/**
 * Runs inside an instance, next to the user's code: it loads the app, serves it
 * on a Unix socket and reports readiness to the platform. It imports only Node
 * built-ins and nothing from the platform, so it is safe to start before the
 * app is known and cheap to load.
 */
import { readFileSync, rmSync } from "node:fs";
import { createServer, type RequestListener, Server } from "node:http";
import { type Server as NetServer, Socket } from "node:net";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { useBuiltins } from "./builtins.mjs";
import { micros, withEvents } from "./events.mjs";
import { handOver } from "./hand-over.mjs";
import { type FailedMessage, PROTOCOL, type RunnerMessage, type StartMessage } from "./protocol.mjs";
import { findListener, SHAPES } from "./shapes.mjs";
import { useVendorBundle } from "./vendor.mjs";

const control = new Socket({ fd: PROTOCOL.controlFd, readable: true, writable: true });

function send(message: RunnerMessage): Promise<void> {
  return new Promise((resolve) => control.write(`${JSON.stringify(message)}\n`, () => resolve()));
}

async function fail(code: FailedMessage["code"], message: string): Promise<never> {
  await send({ type: "failed", code, message: message.slice(0, PROTOCOL.maxReasonChars) });
  process.exit(1);
}

function readStart(): Promise<StartMessage> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const newline = buffered.indexOf("\n");
      if (newline === -1) return;
      control.off("data", onData);
      try {
        resolve(JSON.parse(buffered.slice(0, newline)) as StartMessage);
      } catch (err) {
        reject(err);
      }
    };
    control.on("data", onData);
    control.once("end", () => reject(new Error("the platform closed the control channel before start")));
  });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") {
    const keys = Object.keys(value as object);
    return keys.length === 0 ? "an empty object" : `an object with keys ${keys.slice(0, 5).join(", ")}`;
  }
  return `a ${typeof value}`;
}

/**
 * Which server answers the micro's requests: the app's export when it is a
 * usable app, whatever else listens inside the instance; a server the app
 * starts itself only when nothing usable is exported (the WebSocket pattern:
 * create the server, attach ws, listen()) or when it is the exported app's own
 * (`app.listen(3000)`). Which one it is can only be known once the app has
 * loaded, and an ES module may wait for its own listen() before it finishes
 * loading (top-level `await new Promise((r) => server.listen(port, r))`).
 *
 * So the first listen() while the app loads is answered at once, but on a
 * private socket inside the instance (`app.sock` beside the platform's): its
 * callback and `listening` event come as usual and loading goes on, without
 * the server taking a port another instance may need. Once the export is
 * known, a door is opened for it: the platform's socket hands its connections
 * to that server when it is the served one, or the port it asked for does when
 * it is a helper beside the exported app (see hand-over.mts). A door rather
 * than closing and listening again, because the app would see a `close` and a
 * second `listening` event it never caused; no waiting or timing is needed to
 * tell whether loading waits on the listen(). Every other listen() is a
 * helper's: it gets its own port inside the instance directly.
 */
const realListen = Server.prototype.listen;
let loading = true;
let held: Server | undefined;
let heldAddress: unknown[] = [];
/** Set while the runner waits for an app that exported nothing usable to call listen(). */
let onLateListen: ((server: Server) => void) | undefined;

Server.prototype.listen = function listen(this: Server, ...args: unknown[]): Server {
  if (loading && held === undefined) {
    held = this;
    heldAddress = args;
    return listenPrivately(this, args);
  }
  if (onLateListen) {
    const late = onLateListen;
    onLateListen = undefined;
    listenPrivately(this, args);
    late(this);
    return this;
  }
  return listenAsHelper(this, args);
} as typeof Server.prototype.listen;

/** At most one server listens here: the held one, or (when nothing was held) the late one. */
function listenPrivately(server: Server, args: unknown[]): Server {
  const path = join(dirname(socketPath), "app.sock");
  rmSync(path, { force: true });
  const callback = args.find((arg): arg is () => void => typeof arg === "function");
  return realListen.call(server, path, callback);
}

function listenAsHelper(server: Server, args: unknown[]): Server {
  // A helper that cannot get its port is the app's problem to handle; unhandled, it is logged, not fatal.
  if (server.listenerCount("error") === 0) {
    server.once("error", (err) => console.error("A server started by the app could not listen:", err));
  }
  return realListen.apply(server, args as Parameters<typeof realListen>);
}

/** A held helper gets the port it asked for; failing to, its own `error` listeners hear of it, as from listen(). */
function openHelperDoor(server: Server, args: unknown[]): void {
  handOver(server, args).on("error", (err) => {
    if (server.listenerCount("error") > 0) server.emit("error", err);
    else console.error("A server started by the app could not listen:", err);
  });
}

let socketPath = "";

async function importEntry(start: StartMessage): Promise<unknown> {
  try {
    const module = (await import(pathToFileURL(join(start.appDir, start.entry)).href)) as { default?: unknown };
    return module.default ?? module;
  } catch (err) {
    // The stack goes to the logs; the caller of the request gets the first line.
    console.error(err);
    const firstLine = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).split("\n")[0];
    return fail("ERR_APP_CRASHED", `${start.entry} threw while loading: ${firstLine}`);
  }
}

function whenListening(server: NetServer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (server.listening) return resolve();
    server.once("listening", () => resolve());
    server.once("error", reject);
  });
}

/** How long an app whose export is not servable gets to call listen() after loading (it may connect to something first). */
const LATE_LISTEN_MS = 2000;

function lateListen(): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      onLateListen = undefined;
      resolve(undefined);
    }, LATE_LISTEN_MS);
    onLateListen = (server) => {
      clearTimeout(timer);
      resolve(server);
    };
  });
}

/** What serves the micro: the HTTP server that answers, and the door on the platform's socket (may be the same). */
interface Served {
  server: Server;
  door: NetServer;
}

/** The app's own server, listening privately, behind the platform's socket: platform events go before its listeners. */
async function serveOwn(server: Server): Promise<Served> {
  await whenListening(server);
  const listeners = server.listeners("request") as RequestListener[];
  server.removeAllListeners("request");
  server.on(
    "request",
    withEvents((req, res) => {
      for (const listener of listeners) listener(req, res);
    }),
  );
  const door = handOver(server, [socketPath]);
  await whenListening(door);
  return { server, door };
}

/** Whether a server is the exported app's own (`app.listen()`, or `http.createServer(app)` with ws attached). */
function wraps(server: Server, exported: unknown): boolean {
  const candidates = [exported, (exported as { app?: unknown } | null)?.app];
  return server.listeners("request").some((listener) => candidates.includes(listener));
}

async function serve(start: StartMessage): Promise<Served> {
  socketPath = start.socketPath;
  const exported = await importEntry(start);
  loading = false;
  const listener = await findListener(exported);
  if (held && (!listener || wraps(held, exported))) return serveOwn(held);
  if (!listener) {
    const late = await lateListen();
    if (late) return serveOwn(late);
    const supported = SHAPES.map((shape) => shape.name).join("; ");
    return fail(
      "ERR_UNSUPPORTED_FRAMEWORK",
      `Unsupported framework: ${start.entry} exports ${describe(exported)}. ` +
        `Add \`module.exports = app\` at the end of ${start.entry} (or \`export default app\`). Supported: ${supported}.`,
    );
  }
  if (held) {
    console.error(
      `Serving the app ${start.entry} exports; the server it started itself keeps its own port inside the instance.`,
    );
    openHelperDoor(held, heldAddress);
  }
  const server = createServer(withEvents(listener));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    realListen.call(server, start.socketPath, () => resolve());
  });
  return { server, door: server };
}

// As on the Node versions Deta apps were written for: a promise nobody handled is logged, the instance keeps
// serving. An uncaught exception still ends it.
process.on("unhandledRejection", (reason) => {
  console.error("Unhandled promise rejection (the instance keeps running):", reason);
});

/** Whether the entry loads as an ES module (`.mjs`, or `.js` under `"type": "module"`). */
function isEsm(start: StartMessage): boolean {
  if (start.entry.endsWith(".mjs")) return true;
  if (!start.entry.endsWith(".js")) return false;
  try {
    return (
      (JSON.parse(readFileSync(join(start.appDir, "package.json"), "utf8")) as { type?: unknown }).type === "module"
    );
  } catch {
    return false;
  }
}

const start = await readStart();
Object.assign(process.env, start.env);
Object.assign(globalThis, { micros });
process.chdir(start.appDir);
try {
  useVendorBundle(start.appDir);
} catch (err) {
  // Only slower without it: the dependencies load from node_modules as they always could.
  console.error(`The dependency bundle could not be used; loading from node_modules instead: ${String(err)}`);
}
useBuiltins(isEsm(start));
const { server, door } = await serve(start);
// Keep-alive sockets from the gateway's pool should outlive its own idle timeout.
server.keepAliveTimeout = 65_000;

function shutDown(): void {
  // Finish in-flight requests, then leave; the platform kills us if this takes too long. The door counts the
  // connections it accepted, handed over or not, so its close waits for them.
  door.close(() => process.exit(0));
  if (server !== door) server.close();
  server.closeIdleConnections();
}

process.once("SIGTERM", shutDown);
// The platform holds the other end of the control channel: if it goes away (even by crashing), so do we.
control.once("close", shutDown);
control.resume();

await send({ type: "ready" });
