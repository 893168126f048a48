#!/usr/bin/env node
// `npx recto …`: the staff CLI (infra/cli/recto.ts). It runs from the TypeScript sources through
// tsx (a devDependency), so it works straight after `npm ci`, with nothing to build first.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../infra/cli/recto.ts');
process.exitCode = await run(process.argv.slice(2));
