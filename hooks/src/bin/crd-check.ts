// Entry point of the crd-check hook (bundled to dist/hooks/crd-check.cjs).
import { runBin } from './_run-bin.js';
import { runCrdCheck } from '../programs/crd.js';

runBin('crd-check', runCrdCheck);
