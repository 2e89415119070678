/**
 * What a JWT bearer token costs a call with `--auth required`: the verifier asked again and
 * again for the tokens of 32 callers, once verifying each time (its clock moved past the reuse
 * window before every call) and once as it runs (each token verified once, then remembered).
 * CPU of all threads (WebCrypto's work included) and wall time per call. In-process.
 *
 *   npm run build && npx tsx bench/jwtAuth.ts
 */
import { SignJWT, generateKeyPair, jwtVerify, type CryptoKey } from 'jose';
import { compiled } from './lib/proc';

type Verify = (token: string) => Promise<unknown>;
const { createJwtVerifier, REUSE_MS } = compiled<{
  createJwtVerifier: (
    options: { secret?: string; publicKeyFile?: string; identityClaim: string },
    deps: { verify: typeof jwtVerify; now: () => number },
  ) => Verify;
  REUSE_MS: number;
}>('auth', 'jwtVerifier.js');

const CALLS = 20_000;
const CALLERS = 32;
const SECRET = 'a shared secret that is long enough for HS256';

async function perCall(verify: Verify, tokens: string[]): Promise<{ cpu: number; wall: number }> {
  for (let i = 0; i < 1000; i += 1) await verify(tokens[i % tokens.length] as string); // warm-up
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i += 1) await verify(tokens[i % tokens.length] as string);
  const cpu = process.cpuUsage(cpu0);
  return {
    cpu: (cpu.user + cpu.system) / CALLS,
    wall: Number(process.hrtime.bigint() - start) / CALLS / 1000,
  };
}

async function main(): Promise<void> {
  const rsa = await generateKeyPair('RS256');
  const sign = (sub: string, alg: 'HS256' | 'RS256', key: Uint8Array | CryptoKey) =>
    new SignJWT({ sub, scope: 'arc.task.controller arc.agent.caller' })
      .setProtectedHeader({ alg })
      .setExpirationTime('1h')
      .sign(key);
  const secret = new TextEncoder().encode(SECRET);
  const cases = [
    { alg: 'HS256' as const, key: secret, verifyKey: secret },
    { alg: 'RS256' as const, key: rsa.privateKey, verifyKey: rsa.publicKey },
  ];
  console.log(`${CALLERS} callers, ${CALLS.toLocaleString('en')} calls`);
  console.log('alg     verified each call: CPU µs  wall µs    remembered: CPU µs  wall µs');
  for (const { alg, key, verifyKey } of cases) {
    const tokens = await Promise.all(
      Array.from({ length: CALLERS }, (_, i) => sign(`agent-${i}`, alg, key)),
    );
    // The compiled verifier takes its key from its options; the hook hands jose this case's
    // key instead (so RS256 runs the same path), and the real time (the clock moved below
    // only empties the verifier's memory).
    const withKey: typeof jwtVerify = ((token: string) => jwtVerify(token, verifyKey)) as never;
    let clock = Date.now();
    const fresh = createJwtVerifier(
      { secret: SECRET, identityClaim: 'sub' },
      { verify: withKey, now: () => (clock += REUSE_MS) },
    );
    const remembered = createJwtVerifier(
      { secret: SECRET, identityClaim: 'sub' },
      { verify: withKey, now: Date.now },
    );
    const a = await perCall(fresh, tokens);
    const b = await perCall(remembered, tokens);
    console.log(
      `${alg}   ${a.cpu.toFixed(1).padStart(26)}  ${a.wall.toFixed(1).padStart(7)}   ${b.cpu.toFixed(2).padStart(17)}  ${b.wall.toFixed(2).padStart(7)}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
