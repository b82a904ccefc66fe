//! Host for the plugin .so files.
