/** How the dashboard writes times and sizes. */

const UNITS: [number, string][] = [
  [60, "s"],
  [60, "min"],
  [24, "h"],
  [365, "d"],
];

/** "3 min ago", "2 h ago"; a time in the future (a next cron run) reads "in 5 min". */
export function ago(iso: string, now = Date.now()): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  let value = Math.abs(now - time) / 1000;
  let unit = "s";
  for (const [size, name] of UNITS) {
    unit = name;
    if (value < size) break;
    value /= size;
    if (name === "d") unit = "y";
  }
  const text = `${Math.floor(value)} ${unit}`;
  return time > now ? `in ${text}` : `${text} ago`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function localTime(iso: string): string {
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? iso : time.toLocaleString();
}
