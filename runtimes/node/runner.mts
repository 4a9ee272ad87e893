/**
 * Runs inside an instance, next to the user's code: it loads the app, serves it
 * on a Unix socket and reports readiness to the platform. It imports only Node
 * built-ins and nothing from the platform, so it is safe to start before the
 * app is known and cheap to load.
 */
import { createServer, type RequestListener, Server } from "node:http";
import { Socket } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { micros, withEvents } from "./events.mjs";
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
 * Apps that call listen() themselves (a common porting mistake) are served
 * anyway: the first server that listens is sent to the platform's socket
 * instead of the port it asked for. Once the runner serves the app itself,
 * later listen() calls only pretend, so they cannot take the socket.
 */
const realListen = Server.prototype.listen;
let captured: Server | undefined;
let serving = false;
let socketPath = "";

Server.prototype.listen = function listen(this: Server, ...args: unknown[]): Server {
  const callback = args.find((arg): arg is () => void => typeof arg === "function");
  if (serving) {
    if (callback) process.nextTick(callback);
    return this;
  }
  if (captured === undefined) {
    captured = this;
    return realListen.call(this, socketPath, callback);
  }
  return realListen.apply(this, args as Parameters<typeof realListen>);
} as typeof Server.prototype.listen;

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

function whenListening(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (server.listening) return resolve();
    server.once("listening", () => resolve());
    server.once("error", reject);
  });
}

/** How long an app whose export is not servable gets to call listen() after loading (it may connect to something first). */
const LATE_LISTEN_MS = 2000;

async function serve(start: StartMessage): Promise<Server> {
  socketPath = start.socketPath;
  const exported = await importEntry(start);
  const listener = captured ? undefined : await findListener(exported);
  if (!captured && !listener) await new Promise((resolve) => setTimeout(resolve, LATE_LISTEN_MS));
  if (captured) {
    await whenListening(captured);
    serving = true;
    // The app's own server answers platform events too: its request listeners go behind ours.
    const listeners = captured.listeners("request") as RequestListener[];
    captured.removeAllListeners("request");
    captured.on(
      "request",
      withEvents((req, res) => {
        for (const listener of listeners) listener(req, res);
      }),
    );
    return captured;
  }
  if (!listener) {
    const supported = SHAPES.map((shape) => shape.name).join("; ");
    return fail(
      "ERR_UNSUPPORTED_FRAMEWORK",
      `Unsupported framework: ${start.entry} exports ${describe(exported)}. ` +
        `Add \`module.exports = app\` at the end of ${start.entry} (or \`export default app\`). Supported: ${supported}.`,
    );
  }
  serving = true;
  const server = createServer(withEvents(listener));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    realListen.call(server, start.socketPath, () => resolve());
  });
  return server;
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
const server = await serve(start);
// Keep-alive sockets from the gateway's pool should outlive its own idle timeout.
server.keepAliveTimeout = 65_000;

function shutDown(): void {
  // Finish in-flight requests, then leave; the platform kills us if this takes too long.
  server.close(() => process.exit(0));
  server.closeIdleConnections();
}

process.once("SIGTERM", shutDown);
// The platform holds the other end of the control channel: if it goes away (even by crashing), so do we.
control.once("close", shutDown);
control.resume();

await send({ type: "ready" });
