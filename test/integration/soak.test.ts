// The soak's short version (test/soak.ts; `npm run soak` runs 100 pushes under load): ten distinct
// 50 MB packages pushed by one `pkgkit push` to a registry of its own; every index reads back.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { soak } from "../soak.ts";

test("10 pushes of distinct 50 MB packages: all pushed, every index reads back with its arch", async () => {
  const r = await soak({ rounds: 1, packages: 10 });
  assert.equal(r.failures, []);
  assert.is(r.pushes, 10);
});

test.run();
