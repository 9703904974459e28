// Entry point of the crd-install hook (bundled to dist/hooks/crd-install.cjs).
import { runBin } from './_run-bin.js';
import { runCrdInstall } from '../programs/crd.js';

runBin('crd-install', runCrdInstall);
