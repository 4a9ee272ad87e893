/**
 * What one release's code may be, checked on the archive's listing before it is unpacked and again when the
 * unpacked code is read back: the count keeps an upload of countless tiny files from tying up a build, and
 * the depth and lengths keep every path usable on any filesystem.
 */
export const CODE_ENTRIES = 30_000;
export const CODE_DEPTH = 64;
export const NAME_BYTES = 255;
export const PATH_BYTES = 1024;
/** What installers write is bounded by bytes and the build's disk; these only stop a pathological tree. */
export const INSTALLED_ENTRIES = 1_000_000;
export const INSTALLED_DEPTH = 256;
