//! Allocation-free x86-64 identity-map page-table builder, exact sizing and a walker.
//!
//! (Skeleton: filled in by its issue.)

#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::arithmetic_side_effects))]
