// CRD check and post-install check scenarios on Helm 3, on the real control plane with the node agent (see
// scenarios.ts; the same suite runs on the simulated cluster in scenarios-helm3.test.ts).
import { scenarioSuite } from './scenarios.js';

scenarioSuite(3, 'real');
