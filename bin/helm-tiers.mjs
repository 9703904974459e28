#!/usr/bin/env node
// The helm-tiers CLI (bundled by `npm run build` into dist/helm-tiers.cjs).
import('../dist/helm-tiers.cjs');
