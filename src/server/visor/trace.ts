import { VISOR_BODY_CAP } from "./request-log.js";

/** What the gateway learns about one request as it passes, for the visor. Bodies only when asked, capped. */
export class Trace {
  requestBytes = 0;
  responseBytes = 0;
  instanceId: string | null = null;
  cold = false;
  private readonly requestChunks: Buffer[] | undefined;
  private readonly responseChunks: Buffer[] | undefined;

  constructor(captureBodies: boolean) {
    this.requestChunks = captureBodies ? [] : undefined;
    this.responseChunks = captureBodies ? [] : undefined;
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

function keep(chunks: Buffer[] | undefined, chunk: Buffer, total: number): void {
  if (!chunks) return;
  const room = VISOR_BODY_CAP - (total - chunk.length);
  if (room > 0) chunks.push(chunk.subarray(0, room));
}
