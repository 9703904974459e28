// Entry point of the dependency-check hook (bundled to dist/hooks/dependency-check.cjs).
import { runBin } from './_run-bin.js';
import { runDependencyCheck } from '../programs/dependency.js';

runBin('dependency-check', runDependencyCheck);
