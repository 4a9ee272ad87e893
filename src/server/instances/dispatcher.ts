import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { connect } from "node:net";
import type { Duplex, Readable } from "node:stream";
import { MicrosError } from "../../shared/errors.js";
import { formatBytes } from "../../shared/format.js";
import type { Micro } from "../store/micros.js";
import type { InstanceManager, Lease } from "./manager.js";

/** One request for an instance, as the dispatcher sends it. */
export interface Outgoing {
  method: string;
  /** Path and query, as the app will see them. */
  path: string;
  /** Raw header list (name, value, name, value...): repeats and case are kept. */
  headers: string[];
  /** A body read whole (sent with its length), a stream to pipe (its length is in the headers), or none. */
  body: Buffer | Readable | undefined;
}

export interface ExchangeOptions {
  /** Aborts the exchange at any point, the wait for a cold start included: tie it to the client's connection. */
  signal: AbortSignal;
  /** Time from sending to the answer's headers. */
  timeoutMs: number;
  /** Told which instance took the request, just before the request is sent to it. */
  onLease?: (lease: Lease) => void;
  /** The error to fail with when no answer came in time (and a chance to log it); a plain one by default. */
  onTimeout?: () => MicrosError;
}

/** An answer read whole, for the platform's own calls. */
export interface Answer {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

/** The most of an answer the platform holds in memory for its own calls (run, cron, replay): Lambda's 6 MB. */
export const MAX_ANSWER_BYTES = 6 * 1024 * 1024;

/**
 * How long to wait for a dying instance's exit to be seen, so the caller learns why it failed. The exit is
 * reported once every process of the sandbox is gone and its cgroup removed, which on cgroup v1 after an OOM kill
 * takes several hundred milliseconds, and over 1.5 s on a busy machine (seen with three test files at once); only a
 * request whose instance dropped it waits this long.
 */
const END_REASON_WAIT_MS = 5000;

/**
 * The one way anything reaches an instance: the gateway's requests and WebSockets, run actions, cron runs and visor
 * replays all come through here. Each takes a lease on an instance with the caller's abort signal (so a client that
 * gives up during a cold start lets go at once), sends, and gives the lease back in `finally`, whatever the client,
 * the app or the network did meanwhile.
 */
export class Dispatcher {
  constructor(private readonly instances: InstanceManager) {}

  /**
   * Sends one request and hands the answer to `receive`, which resolves once it is done with it (for a proxied
   * response, when the client's response has closed). Rejects with a MicrosError when no answer came: the instance
   * died (ERR_APP_CRASHED, with why), it took too long (ERR_REQUEST_TIMEOUT), or with the signal's reason.
   */
  async exchange<T>(
    micro: Micro,
    outgoing: Outgoing,
    options: ExchangeOptions,
    receive: (answer: IncomingMessage) => Promise<T>,
  ): Promise<T> {
    const lease = await this.instances.acquire(micro, options.signal);
    try {
      options.onLease?.(lease);
      return await receive(await send(lease, outgoing, options));
    } finally {
      lease.release();
    }
  }

  /**
   * A platform call (run, cron, replay): the whole exchange, cold start included, is held to `timeoutMs`, and an
   * answer over `maxBytes` is refused rather than held.
   */
  async call(
    micro: Micro,
    outgoing: Outgoing,
    options: { timeoutMs: number; signal?: AbortSignal; maxBytes?: number },
  ): Promise<Answer> {
    const { timeoutMs, maxBytes = MAX_ANSWER_BYTES } = options;
    const timedOut = new MicrosError(
      "ERR_REQUEST_TIMEOUT",
      `The micro took longer than ${timeoutMs / 1000} s to answer.`,
    );
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(timedOut), timeoutMs);
    const follow = () => deadline.abort(options.signal?.reason);
    if (options.signal?.aborted) follow();
    options.signal?.addEventListener("abort", follow, { once: true });
    try {
      return await this.exchange(micro, outgoing, { signal: deadline.signal, timeoutMs }, (answer) =>
        readAnswer(answer, maxBytes, deadline.signal),
      );
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", follow);
    }
  }

  /**
   * An upgrade (WebSocket): the handshake goes to the instance as `outgoing` says, then bytes flow both ways
   * untouched until either side ends. The open connection holds its lease, so the instance stays awake under it.
   */
  async tunnel(micro: Micro, outgoing: Outgoing, client: Duplex, head: Buffer, signal: AbortSignal): Promise<void> {
    const early = holdEarlyBytes(client, head);
    let lease: Lease;
    try {
      lease = await this.instances.acquire(micro, signal);
    } catch (err) {
      early();
      throw err;
    }
    try {
      await pipeUpgrade(lease, outgoing, client, early, signal);
    } finally {
      lease.release();
    }
  }
}

function send(lease: Lease, outgoing: Outgoing, options: ExchangeOptions): Promise<IncomingMessage> {
  const { signal, timeoutMs } = options;
  return new Promise((resolve, reject) => {
    const { body } = outgoing;
    const headers = Buffer.isBuffer(body)
      ? [...outgoing.headers, "content-length", String(body.length)]
      : outgoing.headers;
    let settled = false;
    const upstream: ClientRequest = request(
      {
        socketPath: lease.socketPath,
        agent: lease.agent,
        method: outgoing.method,
        path: outgoing.path,
        // A raw header list: Node adds nothing to it, and names keep their case and order.
        headers: headers as unknown as Record<string, string>,
      },
      (answer) => {
        settled = true;
        clearTimeout(timer);
        resolve(answer);
      },
    );
    // The limit is on time to the answer's headers: a response that streams (server-sent events) may go on.
    const timer = setTimeout(() => {
      upstream.destroy(
        options.onTimeout?.() ??
          new MicrosError(
            "ERR_REQUEST_TIMEOUT",
            `The micro took longer than its ${timeoutMs / 1000} s limit to answer ${outgoing.method} ${outgoing.path}.`,
          ),
      );
    }, timeoutMs);
    const abort = () => upstream.destroy(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    upstream.once("close", () => signal.removeEventListener("abort", abort));
    upstream.once("error", async (err) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      if (err instanceof MicrosError || signal.aborted) {
        reject(signal.aborted ? signal.reason : err);
        return;
      }
      // A reset usually means the instance died; give its exit a moment to be seen so the caller learns why.
      const reason = await lease.endReason(END_REASON_WAIT_MS);
      reject(
        new MicrosError(
          "ERR_APP_CRASHED",
          reason
            ? `The micro's instance ${reason} while handling this request.`
            : `The micro closed the connection without answering (${err.message}).`,
        ),
      );
    });
    if (Buffer.isBuffer(body)) upstream.end(body);
    else if (body) body.pipe(upstream);
    // Most requests have no body: end at once rather than pipe an empty stream.
    else upstream.end();
  });
}

function readAnswer(answer: IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const declared = Number(answer.headers["content-length"] ?? 0);
    const tooLarge = () =>
      new MicrosError(
        "ERR_ANSWER_TOO_LARGE",
        `The micro answered more than ${formatBytes(maxBytes)}, which the platform does not hold. Return less, and keep large results elsewhere.`,
        { details: { limitBytes: maxBytes } },
      );
    if (declared > maxBytes) {
      answer.destroy();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    answer.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        answer.destroy();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    answer.once("end", () => {
      const headers: [string, string][] = [];
      for (let i = 0; i < answer.rawHeaders.length; i += 2) {
        headers.push([answer.rawHeaders[i] as string, answer.rawHeaders[i + 1] as string]);
      }
      resolve({ status: answer.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
    });
    answer.once("close", () => {
      if (!answer.complete) {
        reject(
          signal.aborted
            ? signal.reason
            : new MicrosError("ERR_APP_CRASHED", "The micro's instance ended its answer before it was complete."),
        );
      }
    });
  });
}

/** Bytes a client may send before its upgrade is answered; more is not a WebSocket handshake. */
const MAX_EARLY_BYTES = 64 * 1024;

/**
 * Reads the client while it waits for an instance (a paused socket would never notice the client leaving, and the
 * wait would hold its instance awake), keeping what it sends meanwhile. Returns the function that stops and hands
 * back the bytes to send first, `head` included.
 */
function holdEarlyBytes(client: Duplex, head: Buffer): () => Buffer {
  const held: Buffer[] = [head];
  let size = head.length;
  const hold = (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_EARLY_BYTES) client.destroy();
    else held.push(chunk);
  };
  // A client that ends its side before it is answered has given up (the server's sockets allow half-open ones).
  const leave = () => client.destroy();
  client.on("data", hold);
  client.once("end", leave);
  return () => {
    client.off("data", hold);
    client.off("end", leave);
    client.pause();
    return Buffer.concat(held);
  };
}

function pipeUpgrade(
  lease: Lease,
  outgoing: Outgoing,
  client: Duplex,
  early: () => Buffer,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      early();
      resolve();
      return;
    }
    const upstream = connect(lease.socketPath);
    let refused = false;
    let open = 2;
    const closed = () => {
      open--;
      if (open === 0) resolve();
    };
    const abort = () => upstream.destroy();
    signal.addEventListener("abort", abort, { once: true });
    upstream.once("connect", () => {
      const { headers } = outgoing;
      let handshake = `${outgoing.method} ${outgoing.path} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) handshake += `${headers[i]}: ${headers[i + 1]}\r\n`;
      upstream.write(`${handshake}\r\n`);
      const head = early();
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.once("error", (err) => {
      // Nothing came back yet: the client can still be told why, in our JSON shape.
      if (upstream.bytesRead > 0 || signal.aborted) return;
      refused = true;
      reject(new MicrosError("ERR_APP_CRASHED", `The micro closed the connection without answering (${err.message}).`));
    });
    upstream.once("close", () => {
      signal.removeEventListener("abort", abort);
      if (refused) return;
      client.end();
      closed();
    });
    // When either side ends, the other is ended gracefully.
    client.once("close", () => {
      upstream.end();
      closed();
    });
  });
}
