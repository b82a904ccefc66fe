/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only */
/* Indexes of the per-CPU drop and activity counters (map `counters` in each object).
 *
 * Userspace mirror: `probe-ebpf/src/counters.rs`; a unit test there reads this file and checks
 * that names and numbers agree. Append new counters before AISENSOR_CNT_MAX; never renumber.
 */
#ifndef AISENSOR_COUNTERS_H
#define AISENSOR_COUNTERS_H

enum aisensor_counter {
	AISENSOR_CNT_SSL_RECORDS = 0,       /* SSL records written to the ring */
	AISENSOR_CNT_SSL_BYTES = 1,         /* plaintext bytes in those records */
	AISENSOR_CNT_RING_DROPS = 2,        /* SSL records lost: ring buffer full */
	AISENSOR_CNT_RING_DROP_BYTES = 3,   /* plaintext bytes in those lost records */
	AISENSOR_CNT_TRUNCATED_CALLS = 4,   /* calls that moved more than max_capture_bytes */
	AISENSOR_CNT_TRUNCATED_BYTES = 5,   /* bytes of those calls past the cap */
	AISENSOR_CNT_STASH_FAILURES = 6,    /* calls not captured: entry map full */
	AISENSOR_CNT_READ_FAILURES = 7,     /* bpf_probe_read_* failures */
	AISENSOR_CNT_READ_FAILURE_BYTES = 8, /* plaintext bytes lost to those failures */
	AISENSOR_CNT_SCRATCH_BUSY = 9,      /* calls skipped: per-CPU scratch in use (preemption) */
	AISENSOR_CNT_SCRATCH_BUSY_BYTES = 10, /* plaintext bytes of those calls */
	AISENSOR_CNT_UNMATCHED_RETURNS = 11, /* returns without a stashed entry (call in flight
					       at attach time, or nested call): not captured */
	AISENSOR_CNT_PROC_RECORDS = 12,     /* exec/fork/exit records written */
	AISENSOR_CNT_PROC_DROPS = 13,       /* exec/fork/exit records lost: ring buffer full */
	AISENSOR_CNT_SSL_FREES = 14,        /* SSL_free records written (connections ended) */
	AISENSOR_CNT_FREE_DROPS = 15,       /* SSL_free records lost: ring buffer full */
	AISENSOR_CNT_MAX = 16,
};

#endif
