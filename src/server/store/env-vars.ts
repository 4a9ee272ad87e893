export interface SealedVar {
  key: string;
  value: Buffer;
}

/** A micro's environment variables, stored sealed; this table never sees a plain value. */
export interface EnvVars {
  names(microId: string): Promise<string[]>;
  sealed(microId: string): Promise<SealedVar[]>;
  /** Sets some names and removes others in one transaction, leaving the rest as they are. */
  update(microId: string, set: SealedVar[], remove: string[]): Promise<void>;
  /** Replaces the whole set in one transaction: keys not given are removed. */
  replace(microId: string, sealed: SealedVar[]): Promise<void>;
}
