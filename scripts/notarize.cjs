// electron-builder's afterSign hook (electron-builder.yml): notarizes the signed macOS app with
// Apple, but only when credentials are in the environment. Without them (a local build, a fork's
// CI) it prints why it skipped and the build goes on; a half-set of credentials is a mistake, so
// that fails the build naming what is missing rather than shipping an app Gatekeeper rejects.
//
// Why our own hook rather than electron-builder's built-in `mac.notarize`: the built-in step says
// only "skipped macOS notarization" and cannot be tested without a Mac. This one takes the same
// variables (the three sets electron-builder documents), and its decision is a plain function.
// CommonJS because electron-builder loads hooks with require().
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS file, as said above */

const path = require('node:path');

/** The credential sets @electron/notarize accepts, in the order electron-builder tries them. */
const CREDENTIALS = [
  {
    name: 'Apple ID',
    vars: ['APPLE_ID', 'APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_TEAM_ID'],
    options: (env) => ({
      appleId: env.APPLE_ID,
      appleIdPassword: env.APPLE_APP_SPECIFIC_PASSWORD,
      teamId: env.APPLE_TEAM_ID,
    }),
  },
  {
    name: 'App Store Connect API key',
    vars: ['APPLE_API_KEY', 'APPLE_API_KEY_ID', 'APPLE_API_ISSUER'],
    options: (env) => ({
      appleApiKey: env.APPLE_API_KEY,
      appleApiKeyId: env.APPLE_API_KEY_ID,
      appleApiIssuer: env.APPLE_API_ISSUER,
    }),
  },
  {
    name: 'keychain profile',
    // APPLE_KEYCHAIN is optional: without it notarytool uses the default keychain.
    vars: ['APPLE_KEYCHAIN_PROFILE'],
    options: (env) => ({
      keychainProfile: env.APPLE_KEYCHAIN_PROFILE,
      ...(env.APPLE_KEYCHAIN ? { keychain: env.APPLE_KEYCHAIN } : {}),
    }),
  },
];

/**
 * What to do for this build: `{ skip: reason }` or `{ options }` for @electron/notarize.
 * Throws when a credential set is only partly given.
 */
function decide(context, env) {
  if (context.electronPlatformName !== 'darwin') {
    return { skip: `${context.electronPlatformName} builds are not notarized` };
  }
  for (const set of CREDENTIALS) {
    const present = set.vars.filter((name) => env[name]);
    if (present.length === 0) continue;
    const missing = set.vars.filter((name) => !env[name]);
    if (missing.length > 0) {
      throw new Error(
        `notarization: ${present.join(', ')} set but ${missing.join(', ')} missing ` +
          `(the ${set.name} needs ${set.vars.join(', ')})`,
      );
    }
    const appName = `${context.packager.appInfo.productFilename}.app`;
    return {
      via: set.name,
      options: { appPath: path.join(context.appOutDir, appName), ...set.options(env) },
    };
  }
  return {
    skip:
      'no Apple credentials in the environment (set APPLE_ID, APPLE_APP_SPECIFIC_PASSWORD and ' +
      'APPLE_TEAM_ID; or APPLE_API_KEY, APPLE_API_KEY_ID and APPLE_API_ISSUER; or ' +
      'APPLE_KEYCHAIN_PROFILE)',
  };
}

/**
 * The hook. `deps` is for tests: the environment, the notarize function and where to log;
 * electron-builder calls it with the context alone.
 */
async function afterSign(context, deps = {}) {
  const env = deps.env ?? process.env;
  const log = deps.log ?? ((line) => console.log(line));
  const decision = decide(context, env);
  if (decision.skip) {
    log(`  • skipped notarization: ${decision.skip}`);
    return false;
  }
  log(`  • notarizing ${decision.options.appPath} (${decision.via}); this takes minutes`);
  // Loaded only here: it comes with electron-builder and is needed only on a Mac with credentials.
  const notarize = deps.notarize ?? require('@electron/notarize').notarize;
  await notarize(decision.options);
  log('  • notarized');
  return true;
}

module.exports = { afterSign, decide, default: afterSign };
