/**
 * Runs inside an instance, next to the user's code: it loads the app, serves it
 * on a Unix socket and reports readiness to the platform. It imports only Node
 * built-ins and nothing from the platform, so it is safe to start before the
 * app is known and cheap to load.
 */
import { createServer, type RequestListener, type Server } from "node:http";
import { Socket } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CONTROL_FD, type FailedMessage, type RunnerMessage, type StartMessage } from "./protocol.mjs";
import { SHAPES } from "./shapes.mjs";

const control = new Socket({ fd: CONTROL_FD, readable: true, writable: true });

function send(message: RunnerMessage): Promise<void> {
  return new Promise((resolve) => control.write(`${JSON.stringify(message)}\n`, () => resolve()));
}

async function fail(code: FailedMessage["code"], message: string): Promise<never> {
  await send({ type: "failed", code, message });
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

async function loadApp(start: StartMessage): Promise<RequestListener> {
  let exported: unknown;
  try {
    const module = (await import(pathToFileURL(join(start.appDir, start.entry)).href)) as { default?: unknown };
    exported = module.default ?? module;
  } catch (err) {
    // The stack goes to the logs; the caller of the request gets the first line.
    console.error(err);
    const firstLine = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).split("\n")[0];
    return fail("ERR_APP_CRASHED", `${start.entry} threw while loading: ${firstLine}`);
  }
  for (const shape of SHAPES) {
    const listener = shape.toListener(exported);
    if (listener) return listener;
  }
  const supported = SHAPES.map((shape) => shape.name).join("; ");
  return fail(
    "ERR_UNSUPPORTED_FRAMEWORK",
    `Unsupported framework: ${start.entry} exports ${describe(exported)}. ` +
      `Add \`module.exports = app\` at the end of ${start.entry} (or \`export default app\`). Supported: ${supported}.`,
  );
}

function listen(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

const start = await readStart();
Object.assign(process.env, start.env);
process.chdir(start.appDir);
const listener = await loadApp(start);
const server = createServer(listener);
// Keep-alive sockets from the gateway's pool should outlive its own idle timeout.
server.keepAliveTimeout = 65_000;
await listen(server, start.socketPath);

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
