//! The aifields extract plugin.
