import type { Readable } from "node:stream";

/**
 * Splits a byte stream into lines and never holds more than `maxBytes` of one:
 * an instance decides what it writes, and a line without an end (600 MB on
 * stdout with no newline) must not become 600 MB in the daemon. A longer line
 * is handed on once, cut at `maxBytes` (on a character boundary) with `cut`
 * set, and the rest of it up to its newline is dropped as it arrives.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private held = 0;
  /** Inside a line that was already handed on cut: drop bytes until its newline. */
  private skipping = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string, cut: boolean) => void,
  ) {}

  push(chunk: Buffer): void {
    let from = 0;
    for (;;) {
      const newline = chunk.indexOf(10, from);
      if (newline !== -1 && !this.skipping && this.held === 0 && newline - from <= this.maxBytes) {
        // The usual case, a whole line inside one chunk: no copy.
        this.emitBytes(chunk.subarray(from, newline), false);
        from = newline + 1;
        continue;
      }
      if (!this.skipping) this.hold(chunk.subarray(from, newline === -1 ? chunk.length : newline));
      if (newline === -1) return;
      // The newline ends the line; one that was cut has been handed on already.
      if (this.skipping) this.skipping = false;
      else this.emit(false);
      from = newline + 1;
    }
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(): void {
    if (this.held > 0 && !this.skipping) this.emit(false);
    this.skipping = false;
  }

  private hold(piece: Buffer): void {
    if (piece.length === 0) return;
    const room = this.maxBytes - this.held;
    if (piece.length <= room) {
      // A copy: a slice would keep the whole chunk it came in alive while the line waits for its end.
      this.parts.push(Buffer.from(piece));
      this.held += piece.length;
      // Many small writes of one line are joined as they come, so the pieces' own overhead stays small too.
      if (this.parts.length > 64) this.parts = [Buffer.concat(this.parts)];
      return;
    }
    // One byte past the limit comes along so the cut can see whether it falls inside a character.
    const line = Buffer.concat([...this.parts, piece.subarray(0, room + 1)]);
    this.parts = [];
    this.held = 0;
    this.emitBytes(line.subarray(0, characterBoundary(line, this.maxBytes)), true);
    this.skipping = true;
  }

  private emit(cut: boolean): void {
    const bytes = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
    this.parts = [];
    this.held = 0;
    this.emitBytes(bytes, cut);
  }

  private emitBytes(bytes: Buffer, cut: boolean): void {
    const line = bytes.toString("utf8");
    this.onLine(!cut && line.endsWith("\r") ? line.slice(0, -1) : line, cut);
  }
}

/** Where to cut `bytes` at or before `at` without splitting a UTF-8 character. */
function characterBoundary(bytes: Buffer, at: number): number {
  let cut = at;
  // Continuation bytes are 10xxxxxx: back up to the byte that starts the character.
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut--;
  return cut;
}

/** Feeds a readable into a splitter; the stream keeps flowing, so the instance is never blocked by the daemon. */
export function splitLines(input: Readable, maxBytes: number, onLine: (line: string, cut: boolean) => void): void {
  const splitter = new LineSplitter(maxBytes, onLine);
  input.on("data", (chunk: Buffer) => splitter.push(chunk));
  input.once("end", () => splitter.end());
  input.on("error", () => {});
}
