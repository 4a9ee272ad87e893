/**
 * Events the platform sends to an app outside of HTTP traffic (`micros run`,
 * and cron later): a POST to a reserved path that the gateway never lets
 * through from outside. The app registers handlers in one line through the
 * global `micros` object the runner sets up before loading it:
 *
 *   micros.run("greet", (event) => ({ hello: event.body.name }));
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { PROTOCOL } from "./protocol.mjs";

export interface MicrosEvent {
  type: "run" | "cron";
  action: string;
  body: Record<string, unknown>;
}

type Handler = (event: MicrosEvent) => unknown;

const runHandlers = new Map<string, Handler>();
let cronHandler: Handler | undefined;

/** What `globalThis.micros` offers apps; `run(handler)` registers the default action (""). */
export const micros = {
  run(action: string | Handler, handler?: Handler): void {
    if (typeof action === "function") runHandlers.set("", action);
    else if (handler) runHandlers.set(action, handler);
  },
  cron(handler: Handler): void {
    cronHandler = handler;
  },
};

function reply(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

async function handleEvent(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const event = JSON.parse(Buffer.concat(chunks).toString("utf8")) as MicrosEvent;
  const handler = event.type === "cron" ? cronHandler : runHandlers.get(event.action);
  if (!handler) {
    reply(res, 404, {
      error: `no ${event.type} handler${event.type === "run" ? ` for action "${event.action}"` : ""}`,
    });
    return;
  }
  try {
    reply(res, 200, { result: (await handler(event)) ?? null });
  } catch (err) {
    console.error(err);
    reply(res, 500, { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
}

export function isEvent(req: IncomingMessage): boolean {
  return req.method === "POST" && req.url === PROTOCOL.eventPath;
}

/** The app's listener, with platform events answered first. */
export function withEvents(listener: RequestListener): RequestListener {
  return (req, res) => {
    if (isEvent(req)) void handleEvent(req, res);
    else listener(req, res);
  };
}
