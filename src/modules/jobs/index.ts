// The worker process's periodic jobs (order expiry, retention). The scheduling primitives any module uses
// (startJob, runExclusive) are in src/shared/scheduler.ts, so orders and payments do not depend on this module.
export { startWorkerJobs, type Worker, type WorkerDeps } from './worker.ts';
export { defaultRetention, pruneOnce, type RetentionPolicy } from './retention.ts';
