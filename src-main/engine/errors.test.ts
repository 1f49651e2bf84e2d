import { describe, expect, it } from 'vitest';
import { certificateProblem, upstreamError } from './errors';

/** A system error as Node reports it. */
const failure = (code: string, extra: Record<string, string> = {}): Error =>
  Object.assign(new Error(`failure ${code}`), { code, ...extra });

describe('upstream error words', () => {
  // The same words reach the desktop app, the headless UI and its stderr: no front end's flags.
  it.each([
    ['ENOTFOUND', { hostname: 'no-such-host.invalid' }],
    ['EAI_AGAIN', {}],
    ['ECONNREFUSED', {}],
    ['ETIMEDOUT', {}],
    ['ECONNRESET', {}],
    ['EHOSTUNREACH', {}],
    ['ERR_HTTP2_STREAM_RESET', {}],
    ['CERT_HAS_EXPIRED', {}],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', {}],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', {}],
    ['ERR_TLS_CERT_ALTNAME_INVALID', {}],
    ['ERR_SSL_WRONG_VERSION_NUMBER', {}],
    ['HPE_INVALID_CONSTANT', {}],
  ])('names no command-line flag for %s', (code, extra) => {
    const error = upstreamError(failure(code, extra), 'example.test:443', 'connect');
    expect(error.message).not.toMatch(/--[a-z]/);
  });

  it('suggests the hosts file for a name that does not resolve', () => {
    const error = upstreamError(
      failure('ENOTFOUND', { hostname: 'no-such-host.invalid' }),
      'no-such-host.invalid:80',
      'connect',
    );
    expect(error).toMatchObject({ code: 'dns_failed', detail: 'ENOTFOUND' });
    expect(error.message).toBe(
      "The name no-such-host.invalid could not be resolved. Check the spelling and your DNS or VPN, or give the name an address in this computer's hosts file.",
    );
  });

  it("suggests the computer's trusted certificates for an unknown issuer", () => {
    expect(certificateProblem('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', undefined)).toMatch(
      /add the issuer to this computer's trusted certificates/,
    );
  });
});
