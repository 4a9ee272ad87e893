/** How the dashboard shows bytes a micro sent or received: text as text, anything else as its size and hex. */
import { bytes } from "./format";

/** The first bytes shown of a binary body. */
const HEX_BYTES = 256;

function decodeBase64(base64: string): Uint8Array {
  const binary = atob(base64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The bytes as text when they are UTF-8 without control characters other than whitespace. */
function asText(data: Uint8Array): string | undefined {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    return undefined;
  }
  for (const char of text) {
    const code = char.charCodeAt(0);
    if ((code < 0x20 && char !== "\n" && char !== "\r" && char !== "\t") || code === 0x7f) return undefined;
  }
  return text;
}

function hex(data: Uint8Array): string {
  const rows: string[] = [];
  for (let offset = 0; offset < Math.min(data.length, HEX_BYTES); offset += 16) {
    const row = Array.from(data.subarray(offset, Math.min(offset + 16, HEX_BYTES)), (b) =>
      b.toString(16).padStart(2, "0"),
    );
    rows.push(`${offset.toString(16).padStart(6, "0")}  ${row.join(" ")}`);
  }
  return rows.join("\n");
}

/** A body (base64, as the API sends bodies); null when it was not recorded. */
export function BodyView(props: { base64: string | null | undefined; testId?: string }) {
  if (props.base64 === null || props.base64 === undefined) return <p class="muted">Not recorded.</p>;
  const data = decodeBase64(props.base64);
  if (data.length === 0) return <p class="muted">Empty.</p>;
  const text = asText(data);
  if (text !== undefined) {
    return (
      <pre class="body" data-testid={props.testId}>
        {text}
      </pre>
    );
  }
  return (
    <>
      <p class="muted">
        {bytes(data.length)} of binary{data.length > HEX_BYTES ? `, the first ${HEX_BYTES} bytes:` : ":"}
      </p>
      <pre class="body" data-testid={props.testId}>
        {hex(data)}
      </pre>
    </>
  );
}
