/**
 * The certificate the mirrors answer outside names with on the isolated network (registry.npmjs.org,
 * registry.yarnpkg.com, codeload.github.com: docs/adr/0009). A CA is made once, signs one server
 * certificate for exactly those names, and its private key is then thrown away: no key that could
 * sign anything else ever exists on disk. Base images trust the CA (`NODE_EXTRA_CA_CERTS` and a
 * file in the system's certificate directory); nothing on the host does.
 */
import { webcrypto } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.ts';

export type ServingCertificate = { cert: string; key: string; ca: string; names: string[] };

const DIR = 'tls';
const FILES = { cert: 'server.crt', key: 'server.key', ca: 'ca.crt', names: 'names.json' } as const;
/** Where base images get the CA (Debian's and Alpine's directory for local CAs). */
export const IMAGE_CA_PATH = 'usr/local/share/ca-certificates/offline-mirror.crt';
const YEARS = 10;

function tlsDir(data: string): string {
  return join(data, DIR);
}

/** The certificate on disk, when one was made for exactly `names` (any order). */
export async function readServingCertificate(data: string, names?: string[]): Promise<ServingCertificate | undefined> {
  const dir = tlsDir(data);
  try {
    const [cert, key, ca, listed] = await Promise.all([FILES.cert, FILES.key, FILES.ca, FILES.names].map((f) => readFile(join(dir, f), 'utf8')));
    const stored = JSON.parse(listed!) as string[];
    if (names && [...stored].sort().join(' ') !== [...names].sort().join(' ')) return undefined;
    return { cert: cert!, key: key!, ca: ca!, names: stored };
  } catch {
    return undefined;
  }
}

/** The CA base images trust, if a certificate was made. */
export async function readServingCa(data: string): Promise<string | undefined> {
  return readFile(join(tlsDir(data), FILES.ca), 'utf8').catch(() => undefined);
}

/**
 * The certificate for `names`, made (with a new CA) when there is none for exactly these names.
 * The key file is mode 0600; the CA's key is never written.
 */
export async function ensureServingCertificate(data: string, names: string[]): Promise<ServingCertificate> {
  const existing = await readServingCertificate(data, names);
  if (existing) return existing;
  const made = await makeCertificate(names);
  const dir = tlsDir(data);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await writeFileAtomic(join(dir, FILES.key), made.key, 0o600);
  await writeFileAtomic(join(dir, FILES.cert), made.cert);
  await writeFileAtomic(join(dir, FILES.ca), made.ca);
  // Written last: a crash before it leaves no certificate that looks complete.
  await writeFileAtomic(join(dir, FILES.names), `${JSON.stringify(made.names)}\n`);
  return made;
}

/** A fresh CA and a server certificate for `names` signed by it; the CA key is dropped. */
async function makeCertificate(names: string[]): Promise<ServingCertificate> {
  // reflect-metadata first: @peculiar/x509's dependency injection needs it. Loaded only here.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as never);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const notBefore = new Date(Date.now() - 24 * 3600 * 1000);
  const notAfter = new Date(Date.now() + YEARS * 365 * 24 * 3600 * 1000);
  const serial = () => Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '7');
  const caKeys = await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=offline mirror CA (signs only ${names.join(', ')})`,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names[0]}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { cert: cert.toString('pem') + '\n', key, ca: ca.toString('pem') + '\n', names };
}
