/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only */
/* What both probe objects share: types, the counter map, the record header.
 *
 * No vmlinux.h: the few kernel structs used are declared here with
 * preserve_access_index, so the build does not depend on the build machine's kernel and aya
 * relocates the field offsets against the running kernel's BTF at load (CO-RE).
 */
#ifndef AISENSOR_COMMON_BPF_H
#define AISENSOR_COMMON_BPF_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "aisensor.h"
#include "counters.h"

/* Only the fields read here; offsets come from the kernel's BTF at load time. */
struct task_struct {
	int pid;
	int tgid;
	int exit_code;
	struct task_struct *real_parent;
	char comm[AISENSOR_COMM_LEN];
} __attribute__((preserve_access_index));

struct linux_binprm {
	const char *filename;
} __attribute__((preserve_access_index));

/* x86-64 register file as uprobes see it (kernel field names). */
struct pt_regs {
	unsigned long r14;
	unsigned long bx;
	unsigned long di;
	unsigned long si;
	unsigned long dx;
	unsigned long cx;
	unsigned long ax;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AISENSOR_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += n; /* per-CPU slot, programs do not migrate: no atomics needed */
}

/* Fills the common header for the current task. */
static __always_inline void fill_hdr(struct aisensor_hdr *h, __u32 kind, __u64 pid_tgid)
{
	h->kind = kind;
	h->flags = 0;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->ts_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

#endif
