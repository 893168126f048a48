/**
 * The local tools' runtime story, in one place. Every entry point a developer runs (`npm start`,
 * `npm run prewarm|purge|invoke|conformance|bench|loadtest`, `npx recto`) imports this module
 * first.
 *
 * Locally, Node.js 20.19 or later is supported (package.json `engines`); Lambda runs
 * `nodejs22.x`. Under Node 20 the AWS SDK v3 prints a nine-line `NodeVersionSupportWarning` the
 * first time a client is built: SDK versions published after the first week of January 2027
 * will need Node 22. It says nothing about the SDK pinned in package-lock.json, which supports
 * Node 20, and it landed in the middle of the pre-warm progress bar and after error messages.
 * So the local tools turn that one notice off (unless the caller set the variable), and
 * nothing else: real warnings still print. The Lambda functions never import this module, and
 * on `nodejs22.x` the SDK has nothing to say. Whoever upgrades the SDK past its Node 20 support
 * raises `engines.node` to 22 with it (docs/local-development.md, Requirements).
 */
export const SDK_NODE_WARNING_VARIABLE = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

process.env[SDK_NODE_WARNING_VARIABLE] ??= 'true';
