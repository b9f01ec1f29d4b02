// node --test: the editor tree's search matcher (tree.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { matchAreas } from "../src/lib/tree.js";

const areas = [
  { code: "330199001002004", name: "和平社区第04网格" },
  { code: "330199001002", name: "和平社区" },
  { code: "330199001001", name: "幸福社区" },
  { code: "330199", name: "Heping District" },
];

test("by name: exact first, then prefix, then contained, each in code order", () => {
  assert.deepEqual(matchAreas(areas, "和平社区").map((a) => a.code), ["330199001002", "330199001002004"]);
  assert.deepEqual(matchAreas(areas, "第04").map((a) => a.code), ["330199001002004"]);
});

test("by code prefix", () => {
  assert.deepEqual(matchAreas(areas, "330199001002").map((a) => a.code), ["330199001002", "330199001002004"]);
  assert.deepEqual(matchAreas(areas, "0010").map((a) => a.code), [], "a code matches from its start only");
});

test("ignores case and surrounding space; nothing for an empty query", () => {
  assert.deepEqual(matchAreas(areas, "  heping ").map((a) => a.code), ["330199"]);
  assert.deepEqual(matchAreas(areas, " "), []);
});
