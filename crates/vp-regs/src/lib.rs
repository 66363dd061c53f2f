//! x86-64 and AArch64 virtual-processor registers and their bitfields, as the paravisor loader imports them.
//!
//! (Skeleton: filled in by its issue.)

#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::arithmetic_side_effects))]
