import { MicrosError } from "../../shared/errors.js";

/**
 * Host user ids for sandboxes, one per sandbox: no two instances, of the same
 * micro or not, ever share a user. An id is reused only once the sandbox that
 * held it is gone with every one of its processes.
 */
export class UidRange {
  private readonly used = new Set<number>();
  private next: number;

  constructor(
    private readonly first: number,
    private readonly count: number,
  ) {
    this.next = first;
  }

  take(): number {
    for (let tried = 0; tried < this.count; tried++) {
      const uid = this.next;
      this.next = uid + 1 < this.first + this.count ? uid + 1 : this.first;
      if (!this.used.has(uid)) {
        this.used.add(uid);
        return uid;
      }
    }
    throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `All ${this.count} sandbox user ids are in use.`);
  }

  give(uid: number): void {
    this.used.delete(uid);
  }
}
