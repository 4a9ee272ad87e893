/** Deta Drive's limits (docs/drive/HTTP.md), and ours where Deta named none. */
export const PUT_LIMIT_BYTES = 10 * 1024 * 1024;
export const PART_LIMIT_BYTES = 10 * 1024 * 1024;
export const PART_MIN_BYTES = 5 * 1024 * 1024;
export const DELETE_LIMIT = 1000;
export const LIST_LIMIT = 1000;
/** S3's limit on a key, which Drive's names were. */
const NAME_LIMIT_BYTES = 1024;
/** An upload not finished within a day is abandoned: its parts are deleted. */
export const UPLOAD_LIFETIME_MS = 24 * 60 * 60 * 1000;

/** What a file is, without its bytes. */
export interface FileInfo {
  size: number;
  contentType: string;
}

/** A file with a path on this server's disk that holds its bytes, for reading only. */
export interface StoredFile extends FileInfo {
  path: string;
}

export interface DriveSummary {
  name: string;
  files: number;
  bytes: number;
  createdAt: number;
}

export interface ListOptions {
  prefix: string;
  limit: number;
  last?: string;
  recursive: boolean;
}

export interface ListPage {
  names: string[];
  /** Set when there are more. */
  last?: string;
}

/** Why a file name is refused, or undefined. */
export function nameProblem(name: string | null | undefined): string | undefined {
  if (name === undefined || name === null || name.trim() === "") return "Name is empty";
  if (name.endsWith("/")) return "Name can't end with /";
  if (name.includes("\u0000")) return "Name can't contain a NUL character";
  if (Buffer.byteLength(name) > NAME_LIMIT_BYTES) return `Name is longer than ${NAME_LIMIT_BYTES} bytes`;
  return undefined;
}

/**
 * Deta Drive for every project: what the routes (data services, control API) call, whichever store holds the
 * files (SQLite and the data directory in `drive-store.ts`, PostgreSQL and shared blobs in `pg-drive-store.ts`).
 * A reader sees a file's old bytes or its new ones, never part of either; names order by their UTF-8 bytes; each
 * project's files and unfinished uploads count against its quota. test/unit/drive-store.test.ts holds both to the
 * same answers.
 */
export interface Drives {
  /** Stores a whole file (POST /files), replacing any of that name. */
  put(projectId: string, drive: string, name: string, data: Buffer, declaredType?: string): Promise<void>;
  /** The file's size and type; undefined when there is none. */
  stat(projectId: string, drive: string, name: string): Promise<FileInfo | undefined>;
  /** The file with a local path to read it from; undefined when there is none. */
  get(projectId: string, drive: string, name: string): Promise<StoredFile | undefined>;
  /**
   * Names in order, from after `last`, under `prefix`. Not `recursive`: the names directly under the prefix, with
   * each folder below it once, as `<prefix><folder>/`.
   */
  list(projectId: string, drive: string, options: ListOptions): Promise<ListPage>;
  /** Deletes the named files (missing ones count as deleted, as in Deta). */
  delete(projectId: string, drive: string, names: string[]): Promise<void>;
  /** POST /uploads: an upload's id. The type is the one declared now or with a part, else the name's. */
  startUpload(projectId: string, drive: string, name: string, declaredType?: string): Promise<string>;
  /** Stores part `part` of an upload (sending a part again replaces it). */
  putPart(
    projectId: string,
    drive: string,
    uploadId: string,
    name: string,
    part: number,
    data: Buffer,
    declaredType?: string,
  ): Promise<void>;
  /** PATCH /uploads/{id}: joins the parts in order into the file (none: an empty file). */
  completeUpload(projectId: string, drive: string, uploadId: string, name: string): Promise<void>;
  /** DELETE /uploads/{id}: the parts are dropped. */
  abortUpload(projectId: string, drive: string, uploadId: string, name: string): Promise<void>;
  /** Bytes the project's drives hold, with unfinished uploads and writes under way. */
  usage(projectId: string): Promise<number>;
  /** Drops uploads started more than a day before `now` and never finished. */
  sweep(now?: number): Promise<void>;
  /** The project's drives, with their files and bytes, by name. */
  listDrives(projectId: string): Promise<DriveSummary[]>;
  /** Deletes every drive and unfinished upload of a deleted project, with their bytes. */
  removeProject(projectId: string): Promise<void>;
}

/**
 * One page of a listing, collected from the drive's names in order (from after `last`, from `prefix` on): `add`
 * each name until it answers the finished page, or take `end()` when the names run out.
 */
export class ListCollector {
  private readonly names: string[] = [];

  constructor(private readonly options: ListOptions) {}

  /** The page, once it is full and another entry follows; undefined while it takes more. */
  add(name: string): ListPage | undefined {
    const { prefix, limit, last, recursive } = this.options;
    if (!name.startsWith(prefix)) return undefined;
    let entry = name;
    if (!recursive) {
      const slash = name.indexOf("/", prefix.length);
      if (slash !== -1) entry = name.slice(0, slash + 1);
      // A folder already listed (on this page, or as the last of the previous one).
      if (entry === this.names[this.names.length - 1] || entry === last) return undefined;
    }
    if (this.names.length === limit) return { names: this.names, last: this.names[this.names.length - 1] as string };
    this.names.push(entry);
    return undefined;
  }

  end(): ListPage {
    return { names: this.names };
  }
}
