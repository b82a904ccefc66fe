//! Loader of the aisensor eBPF probe.
