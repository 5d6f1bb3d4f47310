// Scheduling primitives for any module's periodic work. The worker's job list is in worker.ts.
export { runExclusive, startJob, type Exclusive, type JobOptions, type RunningJob } from './scheduler.ts';
