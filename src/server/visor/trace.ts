import type { StartTimes } from "../instances/instance.js";
import type { RequestTimings } from "../store/requests.js";
import { VISOR_BODY_CAP } from "./request-log.js";

/** What the gateway learns about one request as it passes, for the visor. Bodies only when asked, capped. */
export class Trace {
  requestBytes = 0;
  responseBytes = 0;
  instanceId: string | null = null;
  cold = false;
  private startTimes: StartTimes | undefined;
  private sentAt: number | undefined;
  private firstByteMs: number | undefined;
  private readonly requestChunks: Buffer[] | undefined;
  private readonly responseChunks: Buffer[] | undefined;

  constructor(captureBodies: boolean) {
    this.requestChunks = captureBodies ? [] : undefined;
    this.responseChunks = captureBodies ? [] : undefined;
  }

  /** An instance took the request: from now on until its answer begins is the instance's own time. */
  leased(instanceId: string, cold: boolean, startTimes: StartTimes | undefined): void {
    this.instanceId = instanceId;
    this.cold = cold;
    this.startTimes = startTimes;
    this.sentAt = performance.now();
  }

  /** The instance's answer began. */
  answered(): void {
    if (this.sentAt !== undefined) this.firstByteMs = performance.now() - this.sentAt;
  }

  timings(): RequestTimings | null {
    const times: RequestTimings = {};
    if (this.firstByteMs !== undefined) times.firstByteMs = hundredths(this.firstByteMs);
    if (this.startTimes) {
      times.sandboxMs = hundredths(this.startTimes.sandboxMs);
      times.codeMs = hundredths(this.startTimes.codeMs);
      times.loadMs = hundredths(this.startTimes.loadMs);
    }
    return Object.keys(times).length > 0 ? times : null;
  }

  request(chunk: Buffer): void {
    this.requestBytes += chunk.length;
    keep(this.requestChunks, chunk, this.requestBytes);
  }

  response(chunk: Buffer): void {
    this.responseBytes += chunk.length;
    keep(this.responseChunks, chunk, this.responseBytes);
  }

  requestBody(): Buffer | null {
    return this.requestChunks ? Buffer.concat(this.requestChunks) : null;
  }

  responseBody(): Buffer | null {
    return this.responseChunks ? Buffer.concat(this.responseChunks) : null;
  }
}

const hundredths = (ms: number) => Math.round(ms * 100) / 100;

function keep(chunks: Buffer[] | undefined, chunk: Buffer, total: number): void {
  if (!chunks) return;
  const room = VISOR_BODY_CAP - (total - chunk.length);
  if (room > 0) chunks.push(chunk.subarray(0, room));
}
