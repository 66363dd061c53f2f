//! The SEV-SNP CPUID page: the paravisor's default page and a validating reader.
//!
//! (Skeleton: filled in by its issue.)

#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::arithmetic_side_effects))]
