import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A certificate hierarchy shaped like Apple's (root → intermediate with OID 1.2.840.113635.100.6.2.1
// → leaf with OID 1.2.840.113635.100.6.11.1, EC P-256) that stands in for Apple's root in tests,
// plus deliberately broken variants. Generated with the openssl CLI once per test process; keys
// come from node:crypto so signing needs no files.

const APPLE_INTERMEDIATE_OID = '1.2.840.113635.100.6.2.1';
const APPLE_LEAF_OID = '1.2.840.113635.100.6.11.1';

/** Signs notifications: the leaf key and the x5c header (leaf, intermediate, root; base64 DER). */
export interface AppleTestSigner {
  key: KeyObject;
  x5c: [string, string, string];
}

export interface AppleTestPki {
  /** The root to configure as `rootCertificates` (DER). */
  rootDer: Buffer;
  /** A valid chain under `rootDer`. */
  signer: AppleTestSigner;
  /** A complete Apple-shaped chain under a different root: a forgery. */
  foreignSigner: AppleTestSigner;
  /** Under `rootDer`, but the leaf expired in 2021. */
  expiredSigner: AppleTestSigner;
  /** Under `rootDer`, but the leaf lacks Apple's leaf OID. */
  leafWithoutOidSigner: AppleTestSigner;
  /** Under `rootDer`, but the intermediate lacks Apple's intermediate OID. */
  intermediateWithoutOidSigner: AppleTestSigner;
}

interface Issued {
  key: KeyObject;
  pem: string;
  der: Buffer;
}

let cached: AppleTestPki | undefined;

/** The shared offline PKI (no OCSP responder), generated once per test process. */
export function appleTestPki(): AppleTestPki {
  cached ??= generateAppleTestPki();
  return cached;
}

/**
 * Generates a fresh PKI. With `ocspUrl` the intermediate and leaf name that OCSP responder, as
 * Apple's certificates do, so online checks try to reach it.
 */
export function generateAppleTestPki(options: { ocspUrl?: string } = {}): AppleTestPki {
  const dir = mkdtempSync(join(tmpdir(), 'apple-test-pki-'));
  try {
    const ca = new OpenSslCa(dir, options.ocspUrl);
    const root = ca.root('Test Apple Root CA - G3');
    const intermediate = ca.issue('Test Apple WWDR CA G6', root, 'intermediate');
    const leaf = ca.issue(
      'Test Prod ECC Mac App Store and iTunes Store Receipt Signing',
      intermediate,
      'leaf',
    );

    const foreignRoot = ca.root('Impostor Root CA');
    const foreignIntermediate = ca.issue('Impostor WWDR CA', foreignRoot, 'intermediate');
    const foreignLeaf = ca.issue('Impostor Receipt Signing', foreignIntermediate, 'leaf');

    const expiredLeaf = ca.issue('Expired Receipt Signing', intermediate, 'leaf', {
      start: '20200101000000Z',
      end: '20210101000000Z',
    });
    const plainLeaf = ca.issue('Receipt Signing Without OID', intermediate, 'plain-leaf');
    const plainIntermediate = ca.issue('WWDR Without OID', root, 'plain-intermediate');
    const leafUnderPlain = ca.issue('Receipt Signing Under Plain CA', plainIntermediate, 'leaf');

    const signer = (l: Issued, i: Issued, r: Issued): AppleTestSigner => ({
      key: l.key,
      x5c: [l.der.toString('base64'), i.der.toString('base64'), r.der.toString('base64')],
    });
    return {
      rootDer: root.der,
      signer: signer(leaf, intermediate, root),
      foreignSigner: signer(foreignLeaf, foreignIntermediate, foreignRoot),
      expiredSigner: signer(expiredLeaf, intermediate, root),
      leafWithoutOidSigner: signer(plainLeaf, intermediate, root),
      intermediateWithoutOidSigner: signer(leafUnderPlain, plainIntermediate, root),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A compact ES256 JWS with an x5c header, as the App Store signs notifications and transactions. */
export function signAppleJws(payload: unknown, signer: AppleTestSigner = appleTestPki().signer): string {
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', x5c: signer.x5c })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${header}.${body}`), {
    key: signer.key,
    dsaEncoding: 'ieee-p1363',
  });
  return `${header}.${body}.${signature.toString('base64url')}`;
}

type Profile = 'intermediate' | 'leaf' | 'plain-leaf' | 'plain-intermediate';

class OpenSslCa {
  private serial = 1;
  private readonly config: string;

  constructor(
    private readonly dir: string,
    ocspUrl: string | undefined,
  ) {
    const aia = ocspUrl ? `authorityInfoAccess=OCSP;URI:${ocspUrl}` : '';
    this.config = join(dir, 'openssl.cnf');
    writeFileSync(
      this.config,
      [
        '[req]',
        'distinguished_name=dn',
        'prompt=no',
        '[dn]',
        'CN=unused',
        '[ca]',
        'default_ca=ca_default',
        '[ca_default]',
        `database=${join(dir, 'index.txt')}`,
        `new_certs_dir=${dir}`,
        `serial=${join(dir, 'serial')}`,
        'default_md=sha256',
        'policy=policy_any',
        'unique_subject=no',
        '[policy_any]',
        'commonName=supplied',
        '[root]',
        'basicConstraints=critical,CA:true',
        'keyUsage=critical,keyCertSign,cRLSign',
        'subjectKeyIdentifier=hash',
        '[intermediate]',
        'basicConstraints=critical,CA:true,pathlen:0',
        'keyUsage=critical,keyCertSign,cRLSign',
        `${APPLE_INTERMEDIATE_OID}=ASN1:NULL`,
        aia,
        '[plain-intermediate]',
        'basicConstraints=critical,CA:true,pathlen:0',
        'keyUsage=critical,keyCertSign,cRLSign',
        aia,
        '[leaf]',
        'basicConstraints=critical,CA:false',
        'keyUsage=critical,digitalSignature',
        `${APPLE_LEAF_OID}=ASN1:NULL`,
        aia,
        '[plain-leaf]',
        'basicConstraints=critical,CA:false',
        'keyUsage=critical,digitalSignature',
        aia,
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '1000\n');
  }

  root(commonName: string): Issued {
    const { keyFile, key } = this.newKey();
    const out = this.file('pem');
    this.openssl(
      ['req', '-x509', '-new', '-key', keyFile, '-subj', `/CN=${commonName}/O=Test`, '-days', '3650'].concat([
        '-config',
        this.config,
        '-extensions',
        'root',
        '-out',
        out,
      ]),
    );
    return this.issued(key, out);
  }

  issue(
    commonName: string,
    issuer: Issued,
    profile: Profile,
    dates?: { start: string; end: string },
  ): Issued {
    const { keyFile, key } = this.newKey();
    const out = this.file('pem');
    const issuerCert = this.file('pem');
    writeFileSync(issuerCert, issuer.pem);
    const issuerKey = this.file('key');
    writeFileSync(issuerKey, issuer.key.export({ type: 'pkcs8', format: 'pem' }));
    const subject = `/CN=${commonName}/O=Test`;
    if (dates) {
      // Only `openssl ca` takes explicit dates on OpenSSL 3.0 (req/x509 -days must be positive).
      const csr = this.file('csr');
      this.openssl(['req', '-new', '-key', keyFile, '-subj', subject, '-config', this.config, '-out', csr]);
      this.openssl(
        ['ca', '-batch', '-config', this.config, '-cert', issuerCert, '-keyfile', issuerKey, '-in', csr]
          .concat([
            '-startdate',
            dates.start,
            '-enddate',
            dates.end,
            '-extfile',
            this.config,
            '-extensions',
            profile,
          ])
          .concat(['-notext', '-out', out]),
      );
    } else {
      this.openssl(
        ['req', '-x509', '-new', '-key', keyFile, '-subj', subject, '-CA', issuerCert, '-CAkey', issuerKey]
          .concat(['-set_serial', String(this.serial++), '-days', '3650', '-config', this.config])
          .concat(['-extensions', profile, '-out', out]),
      );
    }
    return this.issued(key, out);
  }

  private issued(key: KeyObject, certFile: string): Issued {
    const pem = readFileSync(certFile, 'utf8');
    return { key, pem, der: Buffer.from(new X509Certificate(pem).raw) };
  }

  private newKey(): { keyFile: string; key: KeyObject } {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyFile = this.file('key');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    return { keyFile, key: privateKey };
  }

  private counter = 0;
  private file(ext: string): string {
    this.counter += 1;
    return join(this.dir, `f${this.counter}.${ext}`);
  }

  private openssl(args: string[]): void {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }
}
