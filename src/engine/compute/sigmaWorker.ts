// Worker-thread entry of the inter-sample entropy (see interSampleEntropy.ts): takes its share of
// the σ solves and mutual-pair corrections of the job in shared memory, then exits.
import { workerData } from 'node:worker_threads';
import { interSampleWorker, type InterSampleJob } from '../estimators/interSampleEntropy';

const { job, id } = workerData as { job: InterSampleJob; id: number };
interSampleWorker(job, id);
