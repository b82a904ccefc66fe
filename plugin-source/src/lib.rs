//! The aisensor source plugin.
