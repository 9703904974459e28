// `npm run cluster`: wires the process into runCluster (cluster/cli.ts); SIGINT/SIGTERM stop the cluster.
import { runMain } from '../../core/shell.js';
import { runCluster } from '../cli.js';

void runMain(runCluster, { program: 'helm-tiers cluster', handleSignals: true });
