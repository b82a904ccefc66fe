//! Runs the built aisensor plugins outside Falco, through the SDK's plugin host: the same
//! `.so` files, the same init_config, the same fields. For trying aisensor out and for tests.

pub mod host;
