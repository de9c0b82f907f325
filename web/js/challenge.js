// api.md §8: past the lookup's miss budget the API answers 429 CHALLENGE_REQUIRED with an ALTCHA challenge (its v1
// proof of work: algorithm, challenge, maxNumber, salt, signature). The page solves it without the payer doing
// anything, with ALTCHA's own solver (vendored: web/vendor/altcha, npm package altcha 3.2.2) in Web Workers, and
// sends the search again with `proof`, the base64 ALTCHA payload. The payer reads « Vérification de sécurité en
// cours… » meanwhile (the observer app.js sets).

import { solveChallengeWorkers } from "../vendor/altcha/lib/index.js";

const WORKER = new URL("../vendor/altcha/workers/sha.js", import.meta.url);
const MAX_WORKERS = 4;
const TIMEOUT_MS = 60_000;

let observer = () => {};

/** `fn(solving)`: called with true when a challenge is being solved, false when it is over (solved or not). */
export function observeChallenges(fn) {
  observer = typeof fn === "function" ? fn : () => {};
}

/** An ALTCHA v1 challenge as the API sends it. */
export function isChallenge(challenge) {
  return Boolean(challenge) && typeof challenge === "object"
    && ["algorithm", "challenge", "salt", "signature"].every((key) => typeof challenge[key] === "string")
    && /^[0-9a-f]+$/.test(challenge.challenge);
}

/** The HTTP error is a lookup challenge (429 CHALLENGE_REQUIRED with its `challenge`). */
export const isChallengeError = (error) =>
  error?.status === 429 && error.problem?.code === "CHALLENGE_REQUIRED" && isChallenge(error.problem.challenge);

const hex = (bytes) => [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");

/**
 * The v1 challenge in the solver's terms, as ALTCHA's widget converts it: one SHA pass (cost 1) over the salt's bytes
 * followed by the counter in decimal, which must give exactly `challenge`.
 */
export function solverChallenge(v1) {
  const keyLength = v1.algorithm === "SHA-512" ? 64 : v1.algorithm === "SHA-384" ? 48 : 32;
  return {
    parameters: {
      algorithm: v1.algorithm, cost: 1, keyLength, keyPrefix: v1.challenge, nonce: hex(new TextEncoder().encode(v1.salt)), salt: "",
    },
    signature: v1.signature,
  };
}

/** The `proof` for a v1 challenge solved by `number`: ALTCHA's v1 payload, JSON in base64. */
export function proofOf(v1, number, took = 0) {
  const payload = { algorithm: v1.algorithm, challenge: v1.challenge, number, salt: v1.salt, signature: v1.signature, took };
  return btoa(JSON.stringify(payload));
}

/** Solves the challenge in Web Workers; its proof, or null when it could not be solved in time. */
export async function solve(v1, { timeout = TIMEOUT_MS } = {}) {
  const concurrency = Math.max(1, Math.min(MAX_WORKERS, globalThis.navigator?.hardwareConcurrency || 1));
  const solution = await solveChallengeWorkers({
    challenge: solverChallenge(v1),
    concurrency,
    counterMode: "string",
    createWorker: () => new Worker(WORKER),
    timeout,
  });
  return solution && Number.isInteger(solution.counter) ? proofOf(v1, solution.counter, solution.time || 0) : null;
}

/**
 * Runs `send(extra)`; when it is challenged, solves the challenge and sends again with `{ proof }` (twice at most:
 * a proof another tab spent first is met with a new challenge). Any other error, or an unsolved challenge, is thrown.
 * The observer hears `true` when the first challenge is met and `false` once the search is answered or given up.
 */
export async function withChallenge(send) {
  let extra = {};
  let observed = false;
  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await send(extra);
      } catch (error) {
        if (!isChallengeError(error) || attempt >= 2) throw error;
        if (!observed) observer(true);
        observed = true;
        let proof = null;
        try {
          proof = await solve(error.problem.challenge);
        } catch {
          proof = null;
        }
        if (!proof) throw error;
        extra = { proof };
      }
    }
  } finally {
    if (observed) observer(false);
  }
}
