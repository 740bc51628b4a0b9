#!/usr/bin/env node
// The `pqfed` command. The CLI is TypeScript; tsx compiles it on the fly so `npx pqfed` needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
