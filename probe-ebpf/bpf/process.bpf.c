// SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only
/* Process life cycle: exec, fork (new processes only), exit (whole processes only).
 *
 * Raw tracepoints: they attach by name, without tracefs. Their own ring buffer, so that a
 * flood of plaintext never costs an exec or exit record (and the other way round).
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} proc_events SEC(".maps");

/* Reserves a zeroed record of `kind` for the current task; NULL (counted) if the ring is full. */
static __always_inline struct aisensor_proc_rec *reserve(__u32 kind)
{
	struct aisensor_proc_rec *r = bpf_ringbuf_reserve(&proc_events, sizeof(*r), 0);

	if (!r) {
		count(AISENSOR_CNT_PROC_DROPS, 1);
		return NULL;
	}
	__builtin_memset(r, 0, sizeof(*r));
	fill_hdr(&r->hdr, kind, bpf_get_current_pid_tgid());
	return r;
}

static __always_inline void submit(struct aisensor_proc_rec *r)
{
	bpf_ringbuf_submit(r, 0);
	count(AISENSOR_CNT_PROC_RECORDS, 1);
}

/* TP_PROTO(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm); runs in the
 * new image, so comm is already the new one. */
SEC("raw_tracepoint/sched_process_exec")
int sched_process_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	struct aisensor_proc_rec *r = reserve(AISENSOR_KIND_EXEC);
	const char *filename;
	long n;

	if (!r)
		return 0;
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	filename = BPF_CORE_READ(bprm, filename);
	n = bpf_probe_read_kernel_str(r->filename, sizeof(r->filename), filename);
	if (n > 0) {
		r->filename_len = n - 1; /* without the NUL */
	} else {
		count(AISENSOR_CNT_READ_FAILURES, 1);
		r->filename_len = 0;
	}
	submit(r);
	return 0;
}

/* TP_PROTO(struct task_struct *parent, struct task_struct *child); runs in the parent. Only
 * new processes are reported: a new thread (child pid != child tgid) is not a fork here. */
SEC("raw_tracepoint/sched_process_fork")
int sched_process_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	struct aisensor_proc_rec *r;
	int pid = BPF_CORE_READ(child, pid);
	int tgid = BPF_CORE_READ(child, tgid);

	if (pid != tgid)
		return 0;
	r = reserve(AISENSOR_KIND_FORK);
	if (!r)
		return 0;
	/* The child's parent: the caller, or the caller's parent under CLONE_PARENT. */
	r->ppid = BPF_CORE_READ(child, real_parent, tgid);
	r->child_pid = tgid;
	submit(r);
	return 0;
}

/* Runs in the exiting task, once per thread. Only the thread-group leader's exit is reported:
 * for exit_group() every thread carries the group's exit code, so the leader's is the
 * process's. (A leader that calls pthread_exit() early is reported then, a known limit.) */
SEC("raw_tracepoint/sched_process_exit")
int sched_process_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task;
	struct aisensor_proc_rec *r;

	if ((__u32)id != (__u32)(id >> 32))
		return 0;
	r = reserve(AISENSOR_KIND_EXIT);
	if (!r)
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	r->exit_code = BPF_CORE_READ(task, exit_code);
	submit(r);
	return 0;
}
