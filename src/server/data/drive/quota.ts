import { formatStorage } from "../../../shared/format.js";
import { DetaError } from "../deta-error.js";

/**
 * Bytes being written now, by project: counted against the quota before they are stored, so that writes under way
 * at once cannot all squeeze in. A store adds them to what it holds (`usage`) and takes them in one step with the
 * check (`reserve`), nothing awaited between.
 */
export class QuotaReservations {
  private readonly reserved = new Map<string, number>();

  constructor(readonly quotaBytes: number) {}

  /** Bytes the project's writes under way on this server hold. */
  of(projectId: string): number {
    return this.reserved.get(projectId) ?? 0;
  }

  /**
   * Counts `bytes` against the project's quota until the returned release is called (in a `finally`), or refuses
   * with 507 when they do not fit beside `used` (what is stored, with the reservations).
   */
  reserve(projectId: string, used: number, bytes: number): () => void {
    if (used + bytes > this.quotaBytes) throw storageFull(used, this.quotaBytes);
    this.reserved.set(projectId, this.of(projectId) + bytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.of(projectId) - bytes;
      if (left > 0) this.reserved.set(projectId, left);
      else this.reserved.delete(projectId);
    };
  }
}

export function storageFull(used: number, quotaBytes: number): DetaError {
  return new DetaError(
    507,
    `The project's Drive storage is full: ${formatStorage(used)} of ${formatStorage(quotaBytes)} used. Delete files, or ask the operator to raise --drive-quota.`,
  );
}
