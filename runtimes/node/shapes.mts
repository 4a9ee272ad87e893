import type { RequestListener } from "node:http";

/**
 * The kinds of export this runtime can serve, in the order they are tried.
 * Each turns the app's export into a request listener, or says it is not its kind.
 */
export interface AppShape {
  name: string;
  toListener(exported: unknown): RequestListener | undefined;
}

export const SHAPES: readonly AppShape[] = [
  {
    // express, connect and plain `(req, res) => {}` handlers are all request listeners.
    name: "an express/connect app or a (req, res) handler",
    toListener: (exported) => (typeof exported === "function" ? (exported as RequestListener) : undefined),
  },
];
