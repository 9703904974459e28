// helm-tiers deploy/status on the real control plane (node agent as kubelet) with Helm 4 (test/cli/deploy-suite.ts);
// fails, not skips, under CI when the control-plane binaries are missing.
import { deploySuite } from '../cli/deploy-suite.js';

deploySuite({ backend: 'real', major: 4 });
