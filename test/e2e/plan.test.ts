// The whole example plan on the simulated cluster (see full-plan.ts).
import { fullPlanSuite } from './full-plan.js';

fullPlanSuite('sim');
