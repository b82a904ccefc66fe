/* Records written by the aisensor probe to its ring buffer.
 *
 * This header is the kernel half of the contract; its userspace mirror is
 * `event/src/raw.rs` (tests there pin the sizes and offsets below). All fields are
 * little-endian, naturally aligned, with explicit padding.
 */
#ifndef AISENSOR_H
#define AISENSOR_H

#define AISENSOR_COMM_LEN 16
#define AISENSOR_FILENAME_LEN 256
/* Bytes of plaintext carried by one SSL record at most. A call moving more is split over
 * consecutive records (same pid, tid, ssl, call_len; increasing offset). */
#define AISENSOR_CHUNK_LEN 16384

enum aisensor_kind {
	AISENSOR_KIND_SSL = 1,
	AISENSOR_KIND_EXEC = 2,
	AISENSOR_KIND_FORK = 3,
	AISENSOR_KIND_EXIT = 4,
	AISENSOR_KIND_SSL_FREE = 5, /* struct aisensor_free_rec: SSL_free(ssl) was called */
};

enum aisensor_dir {
	AISENSOR_DIR_WRITE = 0, /* the process sent these bytes (SSL_write*) */
	AISENSOR_DIR_READ = 1,  /* the process received these bytes (SSL_read*) */
};

/* The shape of the call: what its return value means. The other stacks' functions use the
 * plain pair (gnutls_record_send/recv, BoringSSL's SSL_write/read, Go's (*Conn).Write/Read). */
enum aisensor_func {
	AISENSOR_FN_SSL_WRITE = 0,
	AISENSOR_FN_SSL_READ = 1,
	AISENSOR_FN_SSL_WRITE_EX = 2,
	AISENSOR_FN_SSL_READ_EX = 3,
};

/* The TLS stack a record was read from. Carried by each uprobe's attach cookie, set by the
 * loader from what it found in the file (0 in recordings made before it existed). */
enum aisensor_tls_lib {
	AISENSOR_LIB_OPENSSL = 0,
	AISENSOR_LIB_BORINGSSL = 1, /* linked into Bun executables (Claude Code) */
	AISENSOR_LIB_GNUTLS = 2,
	AISENSOR_LIB_GO = 3, /* Go's crypto/tls: `ssl` is the *tls.Conn */
};

/* flags */
#define AISENSOR_F_TRUNCATED 1u /* the call moved more than the capture cap: bytes past
				   offset+len of the last captured record are missing */

struct aisensor_hdr {
	__u32 kind;
	__u32 flags;
	__u32 pid; /* tgid */
	__u32 tid;
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	char comm[AISENSOR_COMM_LEN];
}; /* 40 bytes */

struct aisensor_ssl_rec {
	struct aisensor_hdr hdr;
	__u64 ssl;      /* the SSL* (gnutls_session_t, *tls.Conn): with pid, the connection */
	__u32 call_len; /* bytes the call moved (its return value / *written / *readbytes) */
	__u32 offset;   /* offset of data[0] within the call */
	__u32 len;      /* bytes in data[] */
	__u8 dir;       /* enum aisensor_dir */
	__u8 func;      /* enum aisensor_func */
	__u8 lib;       /* enum aisensor_tls_lib */
	__u8 _pad;
	__u8 data[]; /* len bytes; the record is sizeof(struct aisensor_ssl_rec) + len long */
}; /* 64 bytes + data */

/* The connection is over: a response that runs until the connection closes is whole, and the
 * SSL* may be handed to the next connection. Written by the entry probe of SSL_free, so it
 * follows every record of the connection's reads and writes in the ring. */
struct aisensor_free_rec {
	struct aisensor_hdr hdr;
	__u64 ssl;
}; /* 48 bytes */

struct aisensor_proc_rec {
	struct aisensor_hdr hdr;
	__u32 ppid;      /* parent tgid (exec, exit); parent tgid for fork */
	__s32 exit_code; /* exit: task->exit_code (status as wait(2) reports it) */
	__u32 child_pid; /* fork: the child's tgid (== its tid for a new process) */
	__u32 filename_len; /* exec: bytes of filename[] used, without the NUL */
	char filename[AISENSOR_FILENAME_LEN]; /* exec: the path given to execve */
}; /* 312 bytes */

#endif
