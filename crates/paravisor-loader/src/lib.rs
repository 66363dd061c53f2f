//! OpenHCL paravisor loader facade: load_openhcl_x64 / load_openhcl_arm64 and the importer trait.
//!
//! (Skeleton: filled in by its issue.)

#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::arithmetic_side_effects))]
