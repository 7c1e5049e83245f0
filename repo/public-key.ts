// The signing key's public half as a stage output, so the product's key package
// (packages/product.ts gpgKey) and the media take the same file. Keyed by the
// key's fingerprint: a different key, a different file; the same key, a cache hit.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage, type Stage } from '../core/stage.ts';
import type { SigningOptions } from './stage.ts';
import { findSigningKey, openGpgSigner } from './signer.ts';

export async function publicKeyStage(signing: SigningOptions, keyName: string): Promise<Stage<any>> {
  const key = await findSigningKey({ key: signing.key, gnupgHome: signing.gnupgHome });
  const file = `RPM-GPG-KEY-${keyName}`;
  return defineStage({
    name: 'signing-key',
    version: 1,
    options: { fingerprint: key.fingerprint, file },
    tools: ['gpg'],
    artifacts: { publicKey: { path: file, kind: 'gpg-public-key' } },
    async run(ctx) {
      const signer = await openGpgSigner({ ...signing, sourceDateEpoch: ctx.sourceDateEpoch, run: ctx.run });
      await writeFile(join(ctx.out, file), await signer.exportPublicKey());
    },
  });
}
