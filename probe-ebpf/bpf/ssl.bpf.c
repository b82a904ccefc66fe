// SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only
/* Plaintext capture at the OpenSSL boundary.
 *
 * SSL_write/SSL_read(_ex) get a uprobe (entry) and a uretprobe (return). The entry stashes
 * the arguments keyed by pid_tgid (a thread is in at most one of these calls at a time); the
 * return knows how many bytes moved and copies them from the caller's buffer into the ring
 * buffer as aisensor_ssl_rec records of at most AISENSOR_CHUNK_LEN bytes each. A call moving
 * more is split over consecutive records (same call_len, increasing offset); past
 * max_capture_bytes the rest is dropped, flagged and counted. Nothing is dropped silently.
 *
 * The records of one call are always a prefix of it: the copy stops at the first failure
 * (ring full, unreadable buffer), counting what it did not emit. So a call whose last
 * record ends before call_len without AISENSOR_F_TRUNCATED lost its tail to such a failure.
 *
 * SSL_free gets an entry probe only: it marks the end of the connection.
 *
 * The same programs serve every stack whose functions have OpenSSL's shape (BoringSSL's
 * SSL_read/SSL_write/SSL_free, GnuTLS's gnutls_record_send/recv/gnutls_deinit): the attach
 * cookie names the stack, and the record carries it. Go's crypto/tls has programs of its own
 * (below): another calling convention, and no uretprobes.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Upper bound of max_capture_bytes: the copy loop runs at most this / CHUNK times. */
#define MAX_CAPTURE_LIMIT (4u << 20)
#define MAX_CHUNKS (MAX_CAPTURE_LIMIT / AISENSOR_CHUNK_LEN)

/* Bytes captured per call at most; set by the loader (EbpfLoader::override_global), clamped to
 * MAX_CAPTURE_LIMIT. */
const volatile __u32 max_capture_bytes = 1048576;

/* One call in flight: what the return probe needs. */
struct ssl_call {
	__u64 ssl;
	__u64 buf;
	__u64 out_len; /* size_t * of the _ex functions (written / readbytes), else 0 */
	__u32 func;    /* enum aisensor_func */
	__u32 lib;     /* enum aisensor_tls_lib */
};

/* pid_tgid -> call in flight. A thread killed inside SSL_read (an agent stopped while it
 * waits for a response) never returns and leaves its entry behind: LRU, so such leftovers are
 * evicted instead of filling the map. 16384 threads inside these calls at once is far more
 * than a host runs. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct ssl_call);
} ssl_calls SEC(".maps");

/* A record being built: too big for the 512-byte stack, so one per CPU. */
struct scratch {
	__u8 rec[sizeof(struct aisensor_ssl_rec) + AISENSOR_CHUNK_LEN]; /* header + data[] */
	/* Non-zero while a program on this CPU uses the buffer. Programs cannot migrate, but on a
	 * preemptible kernel another task's probe could interleave on the same CPU. */
	__u32 busy;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* Size in bytes (power of two pages); the loader overrides it (EbpfLoader::map_max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} events SEC(".maps");

static __always_inline int on_entry(struct pt_regs *ctx, __u32 func, int ex)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call call = {
		.ssl = ctx->di,
		.buf = ctx->si,
		.out_len = ex ? ctx->cx : 0, /* 4th argument: size_t *written / *readbytes */
		.func = func,
		.lib = (__u32)bpf_get_attach_cookie(ctx),
	};

	if (bpf_map_update_elem(&ssl_calls, &id, &call, BPF_ANY))
		count(AISENSOR_CNT_STASH_FAILURES, 1);
	return 0;
}

/* Copies `want` bytes of the call (already capped) into records; the last one carries
 * `last_flags`. */
static __always_inline void emit(struct ssl_call *call, __u64 id, __u32 call_len, __u32 want,
				 __u32 last_flags)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	struct aisensor_ssl_rec *rec;
	__u64 records = 0, bytes = 0;

	if (!s)
		return;
	rec = (struct aisensor_ssl_rec *)s->rec;
	if (s->busy) {
		count(AISENSOR_CNT_SCRATCH_BUSY, 1);
		count(AISENSOR_CNT_SCRATCH_BUSY_BYTES, want);
		return;
	}
	s->busy = 1;

	fill_hdr(&rec->hdr, AISENSOR_KIND_SSL, id);
	rec->ssl = call->ssl;
	rec->call_len = call_len;
	rec->dir = (call->func == AISENSOR_FN_SSL_WRITE || call->func == AISENSOR_FN_SSL_WRITE_EX)
			     ? AISENSOR_DIR_WRITE
			     : AISENSOR_DIR_READ;
	rec->func = call->func;
	rec->lib = call->lib;
	rec->_pad = 0;

	for (__u32 i = 0; i < MAX_CHUNKS; i++) {
		__u32 off = i * AISENSOR_CHUNK_LEN;
		__u32 len;

		if (off >= want)
			break;
		len = want - off;
		/* Keep the bound visible to the verifier right before the copy: clang would
		 * otherwise fold it into earlier checks on a different register. */
		barrier_var(len);
		if (len > AISENSOR_CHUNK_LEN)
			len = AISENSOR_CHUNK_LEN;

		if (bpf_probe_read_user(rec->data, len, (const void *)(call->buf + off))) {
			count(AISENSOR_CNT_READ_FAILURES, 1);
			count(AISENSOR_CNT_READ_FAILURE_BYTES, want - off);
			break;
		}
		rec->offset = off;
		rec->len = len;
		rec->hdr.flags = off + len >= want ? last_flags : 0;
		if (bpf_ringbuf_output(&events, rec, sizeof(*rec) + len, 0)) {
			/* The ring is full: the rest of this call would not fit either. */
			__u32 left = want - off;

			count(AISENSOR_CNT_RING_DROPS,
			      (left + AISENSOR_CHUNK_LEN - 1) / AISENSOR_CHUNK_LEN);
			count(AISENSOR_CNT_RING_DROP_BYTES, left);
			break;
		}
		records++;
		bytes += len;
	}
	s->busy = 0;
	if (records) {
		count(AISENSOR_CNT_SSL_RECORDS, records);
		count(AISENSOR_CNT_SSL_BYTES, bytes);
	}
}

/* Emits the `moved` bytes of a finished call, up to max_capture_bytes (the rest counted and
 * flagged). Call it once per program: it inlines emit(), and inlining it twice doubles the
 * program. */
static __always_inline void capture(struct ssl_call *call, __u64 id, __u64 moved)
{
	if (moved == 0)
		return;

	__u32 call_len = moved > 0xffffffffULL ? 0xffffffffu : (__u32)moved;
	__u32 cap = max_capture_bytes;

	if (cap > MAX_CAPTURE_LIMIT)
		cap = MAX_CAPTURE_LIMIT;
	if (call_len > cap) {
		count(AISENSOR_CNT_TRUNCATED_CALLS, 1);
		count(AISENSOR_CNT_TRUNCATED_BYTES, call_len - cap);
	}
	emit(call, id, call_len, call_len > cap ? cap : call_len,
	     call_len > cap ? AISENSOR_F_TRUNCATED : 0);
}

static __always_inline int on_return(struct pt_regs *ctx, __u32 func)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call *stashed = bpf_map_lookup_elem(&ssl_calls, &id);
	struct ssl_call call;
	__u64 moved;
	int ret;

	if (!stashed || stashed->func != func) {
		/* Entered before we attached, or a nested call of another of the four read/write
		 * functions (not seen with OpenSSL 3, whose four do not call each other). */
		count(AISENSOR_CNT_UNMATCHED_RETURNS, 1);
		return 0;
	}
	call = *stashed;
	bpf_map_delete_elem(&ssl_calls, &id);

	ret = (int)ctx->ax; /* int, or GnuTLS's ssize_t: calls move far less than 2 GiB */
	if (ret <= 0)
		return 0; /* error or nothing moved */
	if (call.out_len) {
		__u64 n = 0; /* size_t */

		if (ret != 1)
			return 0;
		if (bpf_probe_read_user(&n, sizeof(n), (const void *)call.out_len)) {
			count(AISENSOR_CNT_READ_FAILURES, 1);
			return 0;
		}
		moved = n;
	} else {
		moved = (__u32)ret;
	}
	capture(&call, id, moved);
	return 0;
}

/* SSL_free(ssl): the end of the connection (see struct aisensor_free_rec). Every SSL object
 * freed on the host gets one small record; userspace ignores those it has no connection for. */
static __always_inline int on_free(__u64 ssl)
{
	struct aisensor_free_rec rec;

	fill_hdr(&rec.hdr, AISENSOR_KIND_SSL_FREE, bpf_get_current_pid_tgid());
	rec.ssl = ssl;
	if (bpf_ringbuf_output(&events, &rec, sizeof(rec), 0))
		count(AISENSOR_CNT_FREE_DROPS, 1);
	else
		count(AISENSOR_CNT_SSL_FREES, 1);
	return 0;
}

SEC("uprobe")
int ssl_free_entry(struct pt_regs *ctx) { return on_free(ctx->di); }

/* Thin entry points, one per function and direction. */
SEC("uprobe")
int ssl_write_entry(struct pt_regs *ctx) { return on_entry(ctx, AISENSOR_FN_SSL_WRITE, 0); }
SEC("uretprobe")
int ssl_write_return(struct pt_regs *ctx) { return on_return(ctx, AISENSOR_FN_SSL_WRITE); }
SEC("uprobe")
int ssl_read_entry(struct pt_regs *ctx) { return on_entry(ctx, AISENSOR_FN_SSL_READ, 0); }
SEC("uretprobe")
int ssl_read_return(struct pt_regs *ctx) { return on_return(ctx, AISENSOR_FN_SSL_READ); }
SEC("uprobe")
int ssl_write_ex_entry(struct pt_regs *ctx) { return on_entry(ctx, AISENSOR_FN_SSL_WRITE_EX, 1); }
SEC("uretprobe")
int ssl_write_ex_return(struct pt_regs *ctx) { return on_return(ctx, AISENSOR_FN_SSL_WRITE_EX); }
SEC("uprobe")
int ssl_read_ex_entry(struct pt_regs *ctx) { return on_entry(ctx, AISENSOR_FN_SSL_READ_EX, 1); }
SEC("uretprobe")
int ssl_read_ex_return(struct pt_regs *ctx) { return on_return(ctx, AISENSOR_FN_SSL_READ_EX); }

/* Go's crypto/tls, (*Conn).Write / Read / Close, register ABI (Go 1.17+): the receiver in RAX,
 * the []byte in RBX (pointer) and RCX (length), the result n in RAX at return, and R14 holding
 * the running goroutine (g) throughout. uretprobes would corrupt Go's stacks (the runtime moves
 * them), so the loader puts a uprobe on each RET instruction of Read instead. */

/* A Read in flight, by goroutine: a goroutine that blocks in Read may resume on another thread,
 * so the thread id would not find it at return. */
struct go_key {
	__u32 tgid;
	__u32 _pad;
	__u64 g;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* goroutines that never return are evicted */
	__uint(max_entries, 16384);
	__type(key, struct go_key);
	__type(value, struct ssl_call);
} go_calls SEC(".maps");

/* Write sends all of b or fails, so the bytes are copied at entry: no return probe, and no
 * stale pointer if the goroutine's stack (where b may live) moves during the call. */
SEC("uprobe")
int go_write_entry(struct pt_regs *ctx)
{
	struct ssl_call call = {
		.ssl = ctx->ax,
		.buf = ctx->bx,
		.func = AISENSOR_FN_SSL_WRITE,
		.lib = AISENSOR_LIB_GO,
	};

	capture(&call, bpf_get_current_pid_tgid(), ctx->cx);
	return 0;
}

SEC("uprobe")
int go_read_entry(struct pt_regs *ctx)
{
	struct go_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .g = ctx->r14 };
	struct ssl_call call = {
		.ssl = ctx->ax,
		.buf = ctx->bx,
		.func = AISENSOR_FN_SSL_READ,
		.lib = AISENSOR_LIB_GO,
	};

	if (bpf_map_update_elem(&go_calls, &key, &call, BPF_ANY))
		count(AISENSOR_CNT_STASH_FAILURES, 1);
	return 0;
}

/* At each RET of Read. */
SEC("uprobe")
int go_read_return(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct go_key key = { .tgid = id >> 32, .g = ctx->r14 };
	struct ssl_call *stashed = bpf_map_lookup_elem(&go_calls, &key);
	struct ssl_call call;
	long n;

	if (!stashed) {
		count(AISENSOR_CNT_UNMATCHED_RETURNS, 1);
		return 0;
	}
	call = *stashed;
	bpf_map_delete_elem(&go_calls, &key);
	n = (long)ctx->ax;
	if (n > 0)
		capture(&call, id, n);
	return 0;
}

SEC("uprobe")
int go_close_entry(struct pt_regs *ctx) { return on_free(ctx->ax); }
