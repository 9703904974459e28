// Entry point of the pod-check hook (bundled to dist/hooks/pod-check.cjs).
import { runBin } from './_run-bin.js';
import { runPodCheck } from '../programs/pods.js';

runBin('pod-check', runPodCheck);
