// Environment for the engine's processes (the extension's engine child and the CLI), applied when
// the process starts, since the C library reads it only then.
//
// glibc returns memory to the system only from the top of a heap or for blocks it mmapped, and
// raises its mmap threshold (up to 32 MB) each time it frees an mmapped block. The engine's big,
// short-lived buffers (onnxruntime's tensors, tens of MB, allocated on worker threads with their
// own malloc arenas) then come from heaps that keep them after they are freed: an analysis of a
// ResNet-18 with 1,000 probe images kept 0.5–0.7 GB between queries and peaked at 2.1 GB. A fixed
// threshold of 128 KiB (glibc's initial one) sends every large block to mmap and back to the
// system when freed: 0.2–0.4 GB between queries. Other C libraries ignore the variable.
export const ENGINE_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };
