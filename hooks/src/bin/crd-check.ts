// Entry point of the crd-check hook (bundled to dist/hooks/crd-check.cjs).
import { runBin } from '../bin-support.js';
import { runCrdCheck } from '../programs/crd.js';

runBin(runCrdCheck);
