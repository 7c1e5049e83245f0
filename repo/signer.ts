// Signing with gpg from the user's keyring: RPM signatures (rpmsign), detached
// armoured signatures (repomd.xml.asc), and the public key for the media.
// Secret keys stay in the keyring: we only ask gpg to sign and to export the
// public part; passphrases come from gpg-agent or a file gpg reads itself.
//
// Reproducible signatures: an RSA (PKCS#1 v1.5) signature is a function of the
// data, the key and the signature's creation time, so we fix that time with
// `--faked-system-time <t>!`. t = max(SOURCE_DATE_EPOCH, creation time of the
// signing key): a signature older than its key is rejected by gpg ("Time
// conflict"), and a fresh key is usually newer than the product's epoch.
// (DSA/ECDSA signatures use a random nonce and stay different each run; EdDSA
// is deterministic.)
import { homedir } from 'node:os';
import { join } from 'node:path';
import { XsforgeError } from '../core/errors.ts';
import { run as execRun, type ExecOptions, type ExecResult } from '../core/exec.ts';
import { findOnPath } from '../core/tools.ts';

export interface Signer {
  /** long (16 hex digit) key id of the key that makes the signatures */
  keyId: string;
  /** fingerprint of the primary key (what identifies the key; part of stage keys) */
  fingerprint: string;
  /** fingerprint of the (sub)key that signs */
  signingFingerprint: string;
  /** the time written into signatures, seconds since the epoch */
  signatureTime: number;
  exportPublicKey(): Promise<string>;
  detachSign(file: string, outAsc: string): Promise<void>;
  signRpms(files: string[]): Promise<void>;
}

export type RunFn = (argv: string[], opts?: ExecOptions) => Promise<ExecResult>;

export interface GpgSignerOptions {
  /** key id, fingerprint or user id, as gpg's --local-user takes it */
  key: string;
  /** keyring directory; default $GNUPGHOME, then ~/.gnupg */
  gnupgHome?: string;
  /** file holding the key's passphrase (read by gpg); default: gpg-agent asks/has it */
  passphraseFile?: string;
  /** SOURCE_DATE_EPOCH of the build: signatures are dated max(this, key creation) */
  sourceDateEpoch: number;
  /** how to run tools (a stage passes ctx.run so commands go to its log) */
  run?: RunFn;
}

export interface SecretKeyInfo {
  fingerprint: string;
  created: number;
  /** usable signing (sub)key: the primary when it can sign, else the newest signing subkey */
  signing: { fingerprint: string; keyId: string; created: number };
  uids: string[];
}

/**
 * Parses `gpg --with-colons --fixed-list-mode --list-secret-keys` output into
 * keys with a usable signing key (pure; exported for tests).
 */
export function parseSecretKeyListing(colons: string): Array<SecretKeyInfo | { fingerprint: string; uids: string[]; problem: string }> {
  type Sub = { kind: string; validity: string; created: number; caps: string; secret: string; fpr?: string };
  const keys: { primary: Sub; subs: Sub[]; uids: string[] }[] = [];
  let last: Sub | undefined;
  for (const line of colons.split('\n')) {
    const f = line.split(':');
    if (f[0] === 'sec' || f[0] === 'ssb') {
      last = { kind: f[0], validity: f[1], created: Number(f[5]), caps: f[11] ?? '', secret: f[14] ?? '' };
      if (f[0] === 'sec') keys.push({ primary: last, subs: [], uids: [] });
      else keys[keys.length - 1]?.subs.push(last);
    } else if (f[0] === 'fpr' && last && !last.fpr) last.fpr = f[9];
    else if (f[0] === 'uid' && keys.length) keys[keys.length - 1].uids.push(f[9]);
  }
  const usable = (k: Sub) => !/[eridn]/.test(k.validity) && /s/.test(k.caps) && k.secret !== '#' && !!k.fpr;
  return keys.map((k) => {
    const fingerprint = k.primary.fpr ?? '';
    if (/[rn]/.test(k.primary.validity)) return { fingerprint, uids: k.uids, problem: 'is revoked or invalid' };
    if (/e/.test(k.primary.validity)) return { fingerprint, uids: k.uids, problem: 'has expired' };
    const candidates = usable(k.primary) ? [k.primary] : k.subs.filter(usable).sort((a, b) => b.created - a.created);
    const s = candidates[0];
    if (!s) return { fingerprint, uids: k.uids, problem: 'has no usable signing key whose secret part is in the keyring' };
    return { fingerprint, created: k.primary.created, uids: k.uids, signing: { fingerprint: s.fpr!, keyId: s.fpr!.slice(-16), created: s.created } };
  });
}

const PASSPHRASE_HINT = 'if the key has a passphrase, give a passphrase file (signing.passphraseFile) or unlock the key in gpg-agent first';

function listKeysHint(home: string): string {
  return `list the signing keys with: GNUPGHOME=${home} gpg --list-secret-keys --keyid-format long   (name a key by fingerprint, long key id or user id; or build unsigned)`;
}

export interface FindKeyOptions {
  key: string;
  gnupgHome?: string;
  run?: RunFn;
}

/** The keyring directory gpg will use: the given one, $GNUPGHOME, or ~/.gnupg. */
export function keyringHome(gnupgHome?: string): string {
  return gnupgHome ?? process.env.GNUPGHOME ?? join(homedir(), '.gnupg');
}

/** Looks the key up in the keyring (public facts only); XsforgeError when it cannot sign. */
export async function findSigningKey(opts: FindKeyOptions): Promise<SecretKeyInfo> {
  const run = opts.run ?? execRun;
  const home = keyringHome(opts.gnupgHome);
  let listing: string;
  try {
    listing = (await run(['gpg', '--batch', '--with-colons', '--fixed-list-mode', '--list-secret-keys', '--', opts.key], { env: { GNUPGHOME: home } })).stdout;
  } catch {
    // gpg exits 2 with "No secret key" for an unknown name
    throw new XsforgeError(`signing key '${opts.key}' is not in the keyring ${home} (no secret key matches)`, listKeysHint(home));
  }
  const found = parseSecretKeyListing(listing);
  if (found.length === 0) throw new XsforgeError(`signing key '${opts.key}' is not in the keyring ${home}`, listKeysHint(home));
  if (found.length > 1) {
    throw new XsforgeError(`signing key '${opts.key}' matches ${found.length} keys in ${home}: ${found.map((k) => k.fingerprint).join(', ')}`,
      'name the key by its fingerprint');
  }
  const key = found[0];
  if ('problem' in key) throw new XsforgeError(`signing key '${opts.key}' (${key.fingerprint}) ${key.problem}`, listKeysHint(home));
  return key;
}

/** Finds the key in the keyring and returns a Signer for it; XsforgeError when it cannot sign. */
export async function openGpgSigner(opts: GpgSignerOptions): Promise<Signer> {
  const run = opts.run ?? execRun;
  const home = keyringHome(opts.gnupgHome);
  const env = { GNUPGHOME: home };
  const key = await findSigningKey(opts);
  const signatureTime = Math.max(opts.sourceDateEpoch, key.signing.created);
  // "<fpr>!" makes gpg use exactly this (sub)key rather than pick one
  const localUser = `${key.signing.fingerprint}!`;
  const timeArgs = ['--faked-system-time', `${signatureTime}!`];
  const passArgs = opts.passphraseFile ? ['--passphrase-file', opts.passphraseFile] : [];
  const gpgPath = findOnPath('gpg') ?? '/usr/bin/gpg';

  return {
    keyId: key.signing.keyId,
    fingerprint: key.fingerprint,
    signingFingerprint: key.signing.fingerprint,
    signatureTime,
    async exportPublicKey() {
      // export-minimal: only self-signatures, so the text depends on the key alone
      const r = await run(['gpg', '--batch', '--armor', '--export', '--export-options', 'export-minimal', '--', key.fingerprint], { env });
      if (!r.stdout.includes('BEGIN PGP PUBLIC KEY BLOCK')) throw new XsforgeError(`gpg exported no public key for ${key.fingerprint}`);
      return r.stdout;
    },
    async detachSign(file, outAsc) {
      await run(['gpg', '--batch', '--pinentry-mode', 'loopback', ...passArgs, '--yes', ...timeArgs,
        '--local-user', localUser, '--armor', '--detach-sign', '--output', outAsc, '--', file], { env, captureStdout: false, hint: PASSPHRASE_HINT });
    },
    async signRpms(files) {
      // rpm runs gpg itself: tell it which gpg, keyring, key and extra arguments
      const extra = ['--batch', '--pinentry-mode', 'loopback', ...timeArgs, ...(opts.passphraseFile ? ['--passphrase-file', opts.passphraseFile] : [])];
      const defines = [
        '--define', `__gpg ${gpgPath}`,
        '--define', `_gpg_path ${home}`,
        '--define', `_gpg_name ${localUser}`,
        '--define', `_gpg_sign_cmd_extra_args ${extra.map(rpmMacroArg).join(' ')}`,
      ];
      // one gpg per package, serially: running rpmsign in parallel measured no
      // faster (1,000 packages: ~10 s either way; gpg-agent does the signing)
      for (let i = 0; i < files.length; i += 200) {
        await run(['rpmsign', '--addsign', ...defines, ...files.slice(i, i + 200)], { env, captureStdout: false, hint: PASSPHRASE_HINT });
      }
    },
  };
}

// rpm splits the expanded sign command like a shell would (popt), so quote
// anything with spaces; '%' would start a macro
function rpmMacroArg(a: string): string {
  if (a.includes('%')) throw new XsforgeError(`cannot pass '${a}' to rpmsign: '%' is not allowed in signing paths`);
  return /^[\w@+=:,./!-]+$/.test(a) ? a : `"${a.replace(/(["\\$`])/g, '\\$1')}"`;
}
