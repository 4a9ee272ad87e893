import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";

/**
 * The kinds of export this runtime can serve, in the order they are tried:
 * each turns the app's export into a request listener, or says it is not its
 * kind. The one table of what is supported; the error for anything else lists
 * these names.
 */
export interface AppShape {
  name: string;
  toListener(exported: unknown): RequestListener | undefined | Promise<RequestListener | undefined>;
}

type Members = Record<string, unknown>;

function members(value: unknown): Members | undefined {
  return (typeof value === "object" || typeof value === "function") && value !== null ? (value as Members) : undefined;
}

export const SHAPES: readonly AppShape[] = [
  {
    name: "koa (an app with .callback())",
    toListener(exported) {
      const app = members(exported);
      if (typeof app?.callback !== "function" || typeof app.use !== "function") return undefined;
      return (app.callback as () => RequestListener)();
    },
  },
  {
    name: "fastify (an instance)",
    async toListener(exported) {
      const app = members(exported);
      if (typeof app?.routing !== "function" || typeof app.ready !== "function") return undefined;
      await (app.ready as () => Promise<unknown>)();
      const routing = app.routing as RequestListener;
      return (req: IncomingMessage, res: ServerResponse) => routing(req, res);
    },
  },
  {
    name: "hono, or any object with a web-standard fetch(request) method",
    async toListener(exported) {
      const app = members(exported);
      if (typeof app?.fetch !== "function" || typeof exported === "function") return undefined;
      // Loaded only for this shape, so other apps do not pay for it at start.
      const { getRequestListener } = await import("@hono/node-server");
      return getRequestListener((request) =>
        (app.fetch as (request: Request) => Response | Promise<Response>)(request),
      );
    },
  },
  {
    name: "express, connect or a plain (req, res) handler",
    toListener: (exported) => (typeof exported === "function" ? (exported as RequestListener) : undefined),
  },
];

/** The first shape that fits the export, or its `app` member (`module.exports = { app }`). */
export async function findListener(exported: unknown): Promise<RequestListener | undefined> {
  for (const candidate of [exported, members(exported)?.app]) {
    if (candidate === undefined) continue;
    for (const shape of SHAPES) {
      const listener = await shape.toListener(candidate);
      if (listener) return listener;
    }
  }
  return undefined;
}
