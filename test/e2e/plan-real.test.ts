// The whole example plan on the real control plane with the node agent (see full-plan.ts).
import { fullPlanSuite } from './full-plan.js';

fullPlanSuite('real');
