// An example micro: a Discord-style interactions endpoint. Discord signs every request with Ed25519;
// the app checks the signature over the exact bytes it received, so the body must arrive untouched.
// Set the application's public key with the micro's environment: DISCORD_PUBLIC_KEY=<hex>.
const { createPublicKey, verify } = require("node:crypto");
const express = require("express");

if (!process.env.DISCORD_PUBLIC_KEY) {
  throw new Error("DISCORD_PUBLIC_KEY is not set: give the micro your application's public key (hex)");
}

// A raw 32-byte Ed25519 key becomes a usable key object behind this fixed DER prefix (RFC 8410).
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const publicKey = createPublicKey({
  key: Buffer.concat([SPKI_PREFIX, Buffer.from(process.env.DISCORD_PUBLIC_KEY, "hex")]),
  format: "der",
  type: "spki",
});

const app = express();

app.post("/interactions", express.raw({ type: "*/*" }), (req, res) => {
  const signature = Buffer.from(req.get("x-signature-ed25519") ?? "", "hex");
  const timestamp = req.get("x-signature-timestamp") ?? "";
  const signed = Buffer.concat([Buffer.from(timestamp), req.body]);
  if (signature.length !== 64 || !verify(null, signed, publicKey, signature)) {
    return res.status(401).send("invalid request signature");
  }
  const interaction = JSON.parse(req.body.toString("utf8"));
  if (interaction.type === 1) return res.json({ type: 1 }); // PING → PONG
  const name = interaction.member?.user?.username ?? "there";
  return res.json({ type: 4, data: { content: `Hello, ${name}!` } });
});

module.exports = app;
