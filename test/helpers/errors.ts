import { HelmTiersError } from '../../core/errors.js';

/** The HelmTiersError `fn` throws; any other outcome fails the test (tests match its `code`, not its text). */
export function errorOf(fn: () => unknown): HelmTiersError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HelmTiersError) return err;
    throw err;
  }
  throw new Error('expected a HelmTiersError');
}
