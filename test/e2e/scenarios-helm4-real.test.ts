// CRD check and post-install check scenarios on Helm 4, on the real control plane with the node agent (see
// scenarios.ts; the same suite runs on the simulated cluster in scenarios-helm4.test.ts).
import { scenarioSuite } from './scenarios.js';

scenarioSuite(4, 'real');
