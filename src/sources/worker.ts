/** Worker-thread entry for the scan's pool (piscina): runs one task. */
import { runTask } from './run.js';

export default runTask;
