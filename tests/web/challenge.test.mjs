// The lookup challenge on the page (web/js/challenge.js, api.md §8): ALTCHA's v1 challenge solved with ALTCHA's own
// vendored solver, the proof ALTCHA's payload, the search sent again with it, nothing asked of the payer.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { HttpError } from "../../web/js/api.js";
import { isChallengeError, proofOf, solverChallenge, withChallenge } from "../../web/js/challenge.js";
import { sha, solveChallenge } from "../../web/vendor/altcha/lib/index.js";

const SALT = "5f3c1a2b9d8e7f6a5b4c3d2e?expires=1795774200&";
const challengeFor = (number) => ({
  algorithm: "SHA-256",
  challenge: createHash("sha256").update(SALT + number).digest("hex"),
  maxNumber: 5000,
  salt: SALT,
  signature: "ab".repeat(32),
});

describe("the lookup challenge", () => {
  it("is solved by ALTCHA's solver in the widget's terms for a v1 challenge", async () => {
    const v1 = challengeFor(1234);
    const solution = await solveChallenge({ challenge: solverChallenge(v1), counterMode: "string", deriveKey: sha.deriveKey });
    assert.equal(solution.counter, 1234);
  });

  it("makes ALTCHA's v1 payload, base64 JSON, as the proof", () => {
    const v1 = challengeFor(7);
    const payload = JSON.parse(Buffer.from(proofOf(v1, 7, 12.5), "base64").toString("utf8"));
    const { maxNumber, ...rest } = v1;
    assert.equal(maxNumber, 5000);
    assert.deepEqual(payload, { ...rest, number: 7, took: 12.5 });
  });

  it("is only a 429 CHALLENGE_REQUIRED that carries a challenge", () => {
    const v1 = challengeFor(1);
    assert.ok(isChallengeError(new HttpError(429, { code: "CHALLENGE_REQUIRED", challenge: v1 })));
    assert.ok(!isChallengeError(new HttpError(429, { code: "RATE_LIMITED" })));
    assert.ok(!isChallengeError(new HttpError(429, { code: "CHALLENGE_REQUIRED" })));
    assert.ok(!isChallengeError(new HttpError(400, { code: "CHALLENGE_REQUIRED", challenge: v1 })));
  });

  it("passes any other error through untouched and never asks twice more", async () => {
    const refusal = new HttpError(429, { code: "RATE_LIMITED" });
    await assert.rejects(withChallenge(async () => { throw refusal; }), (error) => error === refusal);
    assert.equal(await withChallenge(async (extra) => ({ extra })).then((r) => Object.keys(r.extra).length), 0);
  });

  it("is vendored from npm's altcha 3.2.2 with its licence, unchanged", () => {
    const note = readFileSync(new URL("../../web/vendor/altcha/VENDOR.txt", import.meta.url), "utf8");
    for (const file of ["lib/index.js", "workers/sha.js"]) {
      const digest = createHash("sha256").update(readFileSync(new URL(`../../web/vendor/altcha/${file}`, import.meta.url))).digest("hex");
      assert.ok(note.includes(digest), `${file} is not the vendored file the note names`);
    }
    assert.match(readFileSync(new URL("../../web/vendor/altcha/LICENSE.txt", import.meta.url), "utf8"), /^MIT License/);
  });
});
