#!/usr/bin/env node
// The `warden` executable: registers the TypeScript loader and runs the CLI.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
