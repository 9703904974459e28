// helm-tiers deploy/status on the simulated cluster with Helm 4 (see deploy-suite.ts).
import { deploySuite } from './deploy-suite.js';

deploySuite({ backend: 'sim', major: 4 });
