/** Placeholder module: filled in by its owner in this change. */
import type { Adapter } from './input.js';

export const adapters: Adapter[] = [];
