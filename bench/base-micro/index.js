// Base as a micro sees it: Deta's SDK, unmodified and with no settings, calling https://database.deta.sh. The micro
// times its own loop of sequential operations (a put, then a get of the item just put), so the request that asks for
// them is not counted; `/?n=500` answers the milliseconds of each: {"put":[...],"get":[...]}.
const { Deta } = require("deta");

const base = Deta().Base("bench");
const CITIES = ["Berlin", "Lagos", "Lima", "Oslo", "Pune", "Quito", "Riga", "Seoul", "Tunis", "Xi'an"];

module.exports = async (req, res) => {
  const n = Number(new URL(req.url, "http://micro").searchParams.get("n")) || 100;
  const samples = { put: [], get: [] };
  try {
    for (let i = 0; i < n; i++) {
      const key = `user-${String(i % 200).padStart(5, "0")}`;
      const item = { name: `User number ${i}`, age: i % 100, city: CITIES[i % 10], tags: ["member", "silver"] };
      let start = performance.now();
      await base.put(item, key);
      samples.put.push(performance.now() - start);
      start = performance.now();
      const got = await base.get(key);
      samples.get.push(performance.now() - start);
      if (got?.key !== key) throw new Error(`get ${key}: ${JSON.stringify(got)}`);
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(samples));
  } catch (err) {
    res.statusCode = 500;
    res.end(String(err?.stack ?? err));
  }
};
