const express = require("express");

const app = express();

app.get("/", (_req, res) => {
  res.send(`Hello from ${process.env.MICROS_MICRO_NAME}!`);
});

app.get("/json", (req, res) => {
  res.json({ micro: process.env.MICROS_MICRO_NAME, path: req.path, query: req.query });
});

// Micros serves the exported app; do not call app.listen().
module.exports = app;
