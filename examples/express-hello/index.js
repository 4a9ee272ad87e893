const express = require("express");

const app = express();

// Whatever the app prints shows up in `micros logs`.
app.use((req, _res, next) => {
  console.log(`${req.method} ${req.url}`);
  next();
});

app.get("/", (_req, res) => {
  res.send(`Hello from ${process.env.MICROS_MICRO_NAME}!\n`);
});

app.get("/json", (req, res) => {
  res.json({ micro: process.env.MICROS_MICRO_NAME, path: req.path, query: req.query });
});

// Micros serves the exported app: export it, and do not call app.listen().
module.exports = app;
