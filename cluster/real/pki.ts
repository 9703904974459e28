/**
 * The control plane's PKI, made fresh for every start: a CA, certificates it signs (with the Debian `openssl`
 * CLI, so no crypto code of ours decides what a certificate looks like) and the service-account RSA key pair
 * (node:crypto: a bare key pair needs no certificate tooling).
 *
 * Keys for certificates are EC P-256: generated in milliseconds, accepted by every Go TLS stack involved.
 */
import { execFile } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, HelmTiersError } from '../../core/errors.js';

const execFileAsync = promisify(execFile);
const generateKeyPairAsync = promisify(generateKeyPair);

/** Short-lived clusters: a validity long enough for any test run, short enough to be obviously throwaway. */
const DAYS = 30;

export interface CertificateRequest {
  commonName: string;
  /** Subject O= entries: Kubernetes reads them as the client's groups. */
  organizations?: string[];
  ips?: string[];
  dnsNames?: string[];
  /** serverAuth, clientAuth or both (a serving certificate that also authenticates as a client). */
  usage: 'server' | 'client' | 'server+client';
}

export interface KeyPairFiles {
  certFile: string;
  keyFile: string;
}

export interface CertificateAuthority {
  caFile: string;
  caKeyFile: string;
  /** The CA certificate, PEM. */
  caPem: string;
  /** Issues `<name>.crt` / `<name>.key` in the PKI folder, signed by this CA. */
  issue(name: string, req: CertificateRequest): Promise<KeyPairFiles>;
}

export interface Pki extends CertificateAuthority {
  dir: string;
  /** Service-account token signing key (RSA, PKCS#1 PEM) and its public half (SPKI PEM). */
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
  /**
   * A second CA for the API server's front proxy (aggregation layer): the API server presents its client
   * certificate to aggregated API servers, and components trust request headers only from it. A CA of its own,
   * so that no cluster client certificate can pass for the proxy.
   */
  frontProxy: CertificateAuthority;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args, { encoding: 'utf8' });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const detail = e.code === 'ENOENT' ? 'openssl is not installed (apt-get install openssl)' : (e.stderr ?? e.message);
    throw new HelmTiersError(ErrorCodes.TOOL, `openssl ${args[0] ?? ''} failed: ${detail.trim()}`, {}, { cause: err });
  }
}

/** openssl config values are taken literally up to the end of the line; refuse anything that could break out. */
function configValue(v: string): string {
  if (!/^[\w.:*@ -]+$/.test(v)) throw new HelmTiersError(ErrorCodes.USAGE, `unsupported certificate field: ${v}`);
  return v;
}

function subjectConfig(commonName: string, organizations: string[]): string {
  return [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    // Several O= entries need distinct keys: openssl's "N.O" prefix syntax.
    ...organizations.map((o, i) => `${i}.O = ${configValue(o)}`),
    `CN = ${configValue(commonName)}`,
    '',
  ].join('\n');
}

/** File names the PKI itself uses: a certificate issued under one of them would overwrite a CA or key. */
const RESERVED = new Set(['ca', 'front-proxy-ca', 'sa']);

const EXTENDED_USAGE: Record<CertificateRequest['usage'], string> = {
  server: 'serverAuth',
  client: 'clientAuth',
  'server+client': 'serverAuth, clientAuth',
};

/** A self-signed CA `<prefix>.crt` / `<prefix>.key` in `dir` and a function that issues certificates with it. */
export async function createCa(dir: string, prefix: string, commonName: string): Promise<CertificateAuthority> {
  const caFile = join(dir, `${prefix}.crt`);
  const caKeyFile = join(dir, `${prefix}.key`);
  const caConfig = join(dir, `${prefix}.cnf`);
  await writeFile(
    caConfig,
    subjectConfig(commonName, []) +
      [
        '[v3_ca]',
        'basicConstraints = critical, CA:TRUE',
        'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
        'subjectKeyIdentifier = hash',
        '',
      ].join('\n'),
  );
  await openssl([
    'req',
    '-x509',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    caKeyFile,
    '-out',
    caFile,
    '-days',
    String(DAYS),
    '-config',
    caConfig,
    '-extensions',
    'v3_ca',
  ]);

  async function issue(name: string, req: CertificateRequest): Promise<KeyPairFiles> {
    if (!/^[\w.-]+$/.test(name) || RESERVED.has(name))
      throw new HelmTiersError(ErrorCodes.USAGE, `bad certificate file name: ${name}`);
    const certFile = join(dir, `${name}.crt`);
    const keyFile = join(dir, `${name}.key`);
    const csrFile = join(dir, `${name}.csr`);
    const reqConfig = join(dir, `${name}.cnf`);
    const sans = [
      ...(req.ips ?? []).map((ip) => `IP:${configValue(ip)}`),
      ...(req.dnsNames ?? []).map((d) => `DNS:${configValue(d)}`),
    ];
    await writeFile(
      reqConfig,
      subjectConfig(req.commonName, req.organizations ?? []) +
        [
          '[ext]',
          'basicConstraints = critical, CA:FALSE',
          'keyUsage = critical, digitalSignature, keyEncipherment',
          `extendedKeyUsage = ${EXTENDED_USAGE[req.usage]}`,
          'subjectKeyIdentifier = hash',
          'authorityKeyIdentifier = keyid, issuer',
          ...(sans.length > 0 ? [`subjectAltName = ${sans.join(', ')}`] : []),
          '',
        ].join('\n'),
    );
    await openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      csrFile,
      '-config',
      reqConfig,
    ]);
    await openssl([
      'x509',
      '-req',
      '-in',
      csrFile,
      '-CA',
      caFile,
      '-CAkey',
      caKeyFile,
      '-set_serial',
      `0x${randomBytes(12).toString('hex')}`,
      '-days',
      String(DAYS),
      '-extfile',
      reqConfig,
      '-extensions',
      'ext',
      '-out',
      certFile,
    ]);
    return { certFile, keyFile };
  }

  return { caFile, caKeyFile, caPem: await readFile(caFile, 'utf8'), issue };
}

export async function createPki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const [ca, frontProxy] = await Promise.all([
    createCa(dir, 'ca', 'helm-tiers-kube-ca'),
    createCa(dir, 'front-proxy-ca', 'helm-tiers-front-proxy-ca'),
  ]);
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const serviceAccountKeyFile = join(dir, 'sa.key');
  const serviceAccountPublicKeyFile = join(dir, 'sa.pub');
  await writeFile(serviceAccountKeyFile, privateKey, { mode: 0o600 });
  await writeFile(serviceAccountPublicKeyFile, publicKey);
  return { ...ca, dir, serviceAccountKeyFile, serviceAccountPublicKeyFile, frontProxy };
}
