// CRD check and post-install check scenarios on Helm 3 (see scenarios.ts).
import { scenarioSuite } from './scenarios.js';

scenarioSuite(3);
